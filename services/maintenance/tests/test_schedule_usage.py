"""When a counter reaches its next threshold, from its recent use; and the work-order request
an occurrence stores."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from uuid import uuid4

from rivet_contracts import ErrorCode, ServiceError
from rivet_contracts.workorders import Priority, WorkType
from rivet_maintenance.occurrences.requests import (
    due_refused,
    parse,
    without_due,
    work_order_request,
)
from rivet_maintenance.plans.repository import PlanRecord, ScheduleState
from rivet_maintenance.plans.triggers import dump
from rivet_maintenance.schedule.calendar import CalendarTrigger, Unit
from rivet_maintenance.schedule.meters import MeterTrigger
from rivet_maintenance.schedule.usage import Sample, expected_at, next_threshold, rate
from rivet_maintenance.vocabulary import PlanStatus, TriggerKind

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def test_the_next_threshold_is_above_the_newest_reading() -> None:
    every_500 = MeterTrigger(D(500))
    assert next_threshold(every_500, D(1000), None) == D(1500)
    assert next_threshold(every_500, D(1000), D(1200)) == D(1500)
    assert next_threshold(every_500, D(1000), D(1500)) == D(2000)
    assert next_threshold(every_500, D(1000), D(900)) == D(1500)


def test_the_expected_date_follows_the_recent_use() -> None:
    oldest, newest = Sample(D(100), T0), Sample(D(340), T0 + timedelta(days=10))
    per_second = rate(oldest, newest)  # 24 units a day
    assert per_second is not None
    assert expected_at(D(400), newest, per_second) == newest.at + timedelta(days=2.5)
    assert rate(newest, newest) is None
    assert rate(Sample(D(340), T0), newest) is None  # not moving
    assert expected_at(D(400), newest, None) is None


def _plan(kind: TriggerKind, **more: object) -> PlanRecord:
    trigger = (
        dump(CalendarTrigger(1, Unit.MONTHS, date(2026, 1, 1)))
        if kind is TriggerKind.CALENDAR
        else {}
    )
    values: dict[str, object] = {
        "id": uuid4(),
        "org_id": uuid4(),
        "equipment_id": uuid4(),
        "title": "Grease bearings",
        "instructions": "Two shots each.",
        "checklist": [{"text": "Grease DE", "required": True}, {"text": "Temp", "kind": "number"}],
        "priority": Priority.HIGH,
        "work_type": WorkType.INSPECTION,
        "estimated_hours": D("1.5"),
        "assignee_id": uuid4(),
        "status": PlanStatus.ACTIVE,
        "trigger_kind": kind,
        "trigger": trigger,
        "meter_id": None,
        "schedule": ScheduleState(None, None),
        "created_at": T0,
        "updated_at": T0,
        "version": 1,
    }
    return PlanRecord(**(values | more))  # type: ignore[arg-type]


def test_the_request_carries_the_plan_and_the_occurrence() -> None:
    plan = _plan(TriggerKind.CALENDAR)
    due = T0 + timedelta(days=3)
    stored = work_order_request(plan, "k/due/1", due_at=due, now=T0, note=None)
    request = parse(stored)
    assert request.idempotency_key == "k/due/1"
    assert request.plan_id == plan.id
    assert request.equipment_id == str(plan.equipment_id)
    assert (request.title, request.description) == ("Grease bearings", "Two shots each.")
    assert (request.priority, request.work_type) == (Priority.HIGH, WorkType.INSPECTION)
    assert (request.due_at, request.assignee_id, request.estimated_hours) == (
        due,
        plan.assignee_id,
        1.5,
    )
    assert [(i.text, i.required, i.kind.value) for i in request.checklist] == [
        ("Grease DE", True, "check"),
        ("Temp", False, "number"),
    ]
    # sent as stored: the same JSON every time
    assert parse(stored).model_dump_json(exclude_unset=True) == request.model_dump_json(
        exclude_unset=True
    )


def test_a_condition_plan_opens_corrective_orders_due_by_priority() -> None:
    plan = _plan(TriggerKind.CONDITION)
    stored = work_order_request(plan, "k/excursion/1", due_at=None, now=T0, note="Hot: 92 degC")
    request = parse(stored)
    assert request.work_type is WorkType.CORRECTIVE
    assert request.due_at is None
    assert request.description == "Two shots each.\n\nHot: 92 degC"


def test_a_due_date_already_past_is_left_to_the_priority() -> None:
    plan = _plan(TriggerKind.CALENDAR)
    late = work_order_request(plan, "k", due_at=T0 - timedelta(hours=1), now=T0)
    assert "due_at" not in late
    recent = work_order_request(plan, "k", due_at=T0 - timedelta(minutes=1), now=T0)
    assert "due_at" in recent
    refused = ServiceError(
        ErrorCode.VALIDATION,
        "the due date is in the past",
        details=[{"loc": ["due_at"], "msg": "past", "type": "value_error"}],
    )
    assert due_refused(refused, recent)
    assert not due_refused(refused, without_due(recent))
    assert not due_refused(ServiceError(ErrorCode.VALIDATION, "other"), recent)
