"""Plans as the contract shows them (views and event snapshots), and the contract's triggers
as the schedule rules take them."""

from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from rivet_contracts import maintenance as contract
from rivet_contracts.workorders import ChecklistItem

from ..occurrences.repository import OccurrenceRecord
from ..occurrences.views import occurrence_view
from ..schedule.calendar import CalendarTrigger, Mode, Unit
from ..schedule.meters import MeterTrigger
from .repository import PlanRecord
from .triggers import ConditionTrigger, Trigger, load

HOUR = 3600


def decimal(value: float) -> Decimal:
    """A contract number as the exact decimal it was written as (0.1 stays 0.1, 500.0 is
    500)."""
    number = float(value)
    if number.is_integer():
        return Decimal(int(number))
    return Decimal(repr(number))


def schedule_trigger(spec: contract.Trigger) -> tuple[Trigger, UUID | None]:
    """The trigger the schedule rules use and the meter it watches; ``ScheduleError`` for one
    they refuse."""
    if isinstance(spec, contract.CalendarTrigger):
        trigger: Trigger = CalendarTrigger(
            every=spec.every,
            unit=Unit(spec.unit.value),
            anchor=spec.first_due,
            mode=Mode(spec.mode.value),
            at=spec.at,
            lead=timedelta(hours=spec.lead_hours),
        )
        return trigger, None
    if isinstance(spec, contract.MeterTrigger):
        return MeterTrigger(decimal(spec.every), decimal(spec.lead)), spec.meter_id
    return ConditionTrigger(), spec.meter_id


def trigger_view(record: PlanRecord) -> contract.Trigger:
    trigger = load(record.trigger_kind, record.trigger)
    if isinstance(trigger, CalendarTrigger):
        return contract.CalendarTrigger(
            kind="calendar",
            every=trigger.every,
            unit=contract.CalendarUnit(trigger.unit.value),
            mode=contract.CalendarMode(trigger.mode.value),
            first_due=trigger.anchor,
            at=trigger.at,
            lead_hours=int(trigger.lead.total_seconds()) // HOUR,
        )
    assert record.meter_id is not None
    if isinstance(trigger, MeterTrigger):
        base = record.schedule.meter_base
        return contract.MeterTrigger(
            kind="meter",
            meter_id=record.meter_id,
            every=float(trigger.every),
            lead=float(trigger.lead),
            base=float(base) if base is not None else None,
        )
    return contract.ConditionTrigger(kind="condition", meter_id=record.meter_id)


def _next_threshold(record: PlanRecord) -> float | None:
    trigger = load(record.trigger_kind, record.trigger)
    if not isinstance(trigger, MeterTrigger) or record.schedule.meter_base is None:
        return None
    return float(record.schedule.meter_base + trigger.every)


def plan_view(
    record: PlanRecord, occurrences: list[OccurrenceRecord] | None = None
) -> contract.PlanView:
    state = record.schedule
    return contract.PlanView(
        id=record.id,
        org_id=record.org_id,
        equipment_id=record.equipment_id,
        title=record.title,
        instructions=record.instructions,
        checklist=[ChecklistItem.model_validate(item) for item in record.checklist],
        priority=record.priority,
        work_type=record.work_type,
        estimated_hours=float(record.estimated_hours)
        if record.estimated_hours is not None
        else None,
        assignee_id=record.assignee_id,
        status=record.status,
        trigger=trigger_view(record),
        allow_overlap=record.allow_overlap,
        author_id=record.author_id,
        next_due_at=state.next_due_at,
        next_opens_at=state.next_opens_at,
        meter_base=float(state.meter_base) if state.meter_base is not None else None,
        next_threshold=_next_threshold(record),
        last_completed_at=state.last_completed_at,
        created_at=record.created_at,
        updated_at=record.updated_at,
        version=record.version,
        occurrences=[occurrence_view(o) for o in occurrences] if occurrences is not None else None,
    )


def snapshot(record: PlanRecord) -> dict[str, Any]:
    """The fields of ``contract.PlanSnapshot`` (the event data of plan events)."""
    return {
        "plan_id": record.id,
        "equipment_id": record.equipment_id,
        "title": record.title,
        "status": record.status,
        "priority": record.priority,
        "work_type": record.work_type,
        "assignee_id": record.assignee_id,
        "estimated_hours": float(record.estimated_hours)
        if record.estimated_hours is not None
        else None,
        "trigger": trigger_view(record).model_dump(mode="json"),
        "allow_overlap": record.allow_overlap,
        "next_due_at": record.schedule.next_due_at,
        "version": record.version,
    }
