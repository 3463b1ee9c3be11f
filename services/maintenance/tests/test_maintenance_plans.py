"""Plans through the service's requests: created, read, changed, paused and resumed, with their
events; who may do what; what is refused; a new organization time zone moves them."""

from datetime import UTC, date, datetime, time
from typing import Any
from uuid import uuid4

import pytest
from maintenance_support import Org, until

from rivet_contracts import ErrorCode, Events, Role, ServiceError
from rivet_contracts import maintenance as m
from rivet_contracts.assets import EquipmentStatus
from rivet_contracts.auth import OrganizationUpdated
from rivet_contracts.workorders import ChecklistItem, ChecklistKind

T0 = datetime(2026, 3, 10, 12, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def monthly(**more: Any) -> m.CalendarTrigger:
    values: dict[str, Any] = {
        "kind": "calendar",
        "every": 1,
        "unit": "months",
        "first_due": date(2026, 1, 31),
    }
    return m.CalendarTrigger.model_validate(values | more)


async def create(stack: Any, org: Any, **fields: Any) -> m.PlanView:
    body: dict[str, Any] = {
        "equipment_id": str(fields.pop("asset", None) or stack.peers.asset(org)),
        "title": "Grease bearings",
        "trigger": monthly(),
    }
    plan: m.PlanView = await stack.call(
        m.CREATE_PLAN, m.CreatePlan.model_validate(body | fields), org.identity()
    )
    return plan


async def refused(stack: Any, org: Any, spec: Any, request: Any, role: Role = Role.ADMIN) -> Any:
    with pytest.raises(ServiceError) as caught:
        await stack.call(spec, request, org.identity(role))
    return caught.value


async def test_a_calendar_plan_is_created_with_its_schedule_and_event(stack: Any, org: Any) -> None:
    stack.state.clock.freeze(T0)
    checklist = [
        ChecklistItem(text="Grease the drive end", required=True),
        ChecklistItem(text="Bearing temperature", kind=ChecklistKind.NUMBER, high=80, unit="degC"),
    ]
    plan = await create(
        stack,
        org,
        checklist=checklist,
        trigger=monthly(lead_hours=72),
        assignee_id=org.technician_id,
        estimated_hours=1.5,
    )
    # UTC until auth says otherwise; 31 January and 28 February are gone on 10 March
    assert (plan.next_due_at, plan.next_opens_at) == (utc(2026, 3, 31, 6), utc(2026, 3, 28, 6))
    assert (plan.status, plan.author_id, plan.version) == (m.PlanStatus.ACTIVE, org.admin_id, 1)
    assert plan.checklist == checklist
    assert plan.trigger == monthly(lead_hours=72)
    assert plan.occurrences == []
    again = await stack.call(m.GET_PLAN, m.GetPlan(plan_id=plan.id), org.identity(Role.VIEWER))
    assert again.model_dump(exclude={"occurrences"}) == plan.model_dump(exclude={"occurrences"})
    page = await stack.call(m.LIST_PLANS, m.ListPlans(), org.identity(Role.VIEWER))
    assert [p.id for p in page.items] == [plan.id]
    by_assignee = m.ListPlans(assignee_id=org.admin_id)
    assert (await stack.call(m.LIST_PLANS, by_assignee, org.identity())).items == []

    async def announced() -> bool:
        return bool(stack.bus.of(Events.PLAN_CREATED, plan_id=str(plan.id)))

    await until(announced, what="plan.created")
    (event,) = stack.bus.of(Events.PLAN_CREATED, plan_id=str(plan.id))
    assert event["org_id"] == str(org.id)
    assert event["data"]["author_id"] == str(org.admin_id)
    assert event["data"]["trigger"]["kind"] == "calendar"


async def test_only_admins_write_plans_and_other_organizations_see_none(
    stack: Any, org: Any
) -> None:
    plan = await create(stack, org)
    body = m.CreatePlan(equipment_id=str(plan.equipment_id), title="x", trigger=monthly())
    for role in (Role.TECHNICIAN, Role.VIEWER):
        error = await refused(stack, org, m.CREATE_PLAN, body, role)
        assert error.code is ErrorCode.FORBIDDEN
    pause = m.PausePlan(plan_id=plan.id)
    assert (await refused(stack, org, m.PAUSE_PLAN, pause, Role.TECHNICIAN)).code is (
        ErrorCode.FORBIDDEN
    )
    other = Org()
    error = await refused(stack, other, m.GET_PLAN, m.GetPlan(plan_id=plan.id))
    assert error.code is ErrorCode.NOT_FOUND
    # nor can another organization put a plan on this one's asset
    foreign = m.CreatePlan(equipment_id=str(plan.equipment_id), title="x", trigger=monthly())
    error = await refused(stack, other, m.CREATE_PLAN, foreign)
    assert error.code is ErrorCode.VALIDATION
    assert error.info.details[0]["loc"] == ["equipment_id"]


async def test_what_a_plan_refuses(stack: Any, org: Any) -> None:
    asset = stack.peers.asset(org)
    cases: list[tuple[dict[str, Any], list[str], str]] = [
        ({"equipment_id": "EQ-2026-999999"}, ["equipment_id"], "not_found"),
        (
            {"equipment_id": str(stack.peers.asset(org, EquipmentStatus.RETIRED))},
            ["equipment_id"],
            "value_error",
        ),
        ({"assignee_id": str(org.viewer_id)}, ["assignee_id"], "value_error"),
        ({"trigger": monthly(every=101, unit="years")}, ["trigger"], "interval"),
        ({"trigger": monthly(at=time(6, 0, tzinfo=UTC))}, ["trigger"], "aware_time_of_day"),
    ]
    for fields, loc, kind in cases:
        body = {"equipment_id": str(asset), "title": "x", "trigger": monthly()} | fields
        error = await refused(stack, org, m.CREATE_PLAN, m.CreatePlan.model_validate(body))
        assert error.code is ErrorCode.VALIDATION, fields
        assert (error.info.details[0]["loc"], error.info.details[0]["type"]) == (loc, kind)
    with pytest.raises(ValueError, match="work type"):
        m.CreatePlan.model_validate(
            {
                "equipment_id": str(asset),
                "title": "x",
                "trigger": monthly(),
                "work_type": "corrective",
            }
        )


async def test_meter_and_condition_plans_watch_the_right_meters(stack: Any, org: Any) -> None:
    asset = stack.peers.asset(org)
    hours = await stack.call(
        m.CREATE_METER,
        m.CreateMeter(equipment_id=str(asset), name="Hours", kind=m.MeterKind.COUNTER, unit="h"),
        org.identity(),
    )
    temperature = await stack.call(
        m.CREATE_METER,
        m.CreateMeter(
            equipment_id=str(asset), name="Temp", kind=m.MeterKind.GAUGE, unit="degC", high_limit=80
        ),
        org.identity(),
    )
    on_counter = m.ConditionTrigger(kind="condition", meter_id=hours.id)
    on_gauge = m.MeterTrigger(kind="meter", meter_id=temperature.id, every=500)
    for trigger in (on_counter, on_gauge):
        body = m.CreatePlan(equipment_id=str(asset), title="x", trigger=trigger)
        error = await refused(stack, org, m.CREATE_PLAN, body)
        assert error.info.details[0]["loc"] == ["trigger", "meter_id"]
    other_asset = stack.peers.asset(org)
    body = m.CreatePlan(
        equipment_id=str(other_asset),
        title="x",
        trigger=m.MeterTrigger(kind="meter", meter_id=hours.id, every=500),
    )
    assert (await refused(stack, org, m.CREATE_PLAN, body)).code is ErrorCode.VALIDATION
    meter_plan = await create(
        stack, org, asset=asset, trigger=m.MeterTrigger(kind="meter", meter_id=hours.id, every=500)
    )
    assert (meter_plan.meter_base, meter_plan.next_threshold, meter_plan.next_due_at) == (
        0,
        500,
        None,
    )
    condition = await create(
        stack,
        org,
        asset=asset,
        trigger=m.ConditionTrigger(kind="condition", meter_id=temperature.id),
    )
    assert condition.trigger == m.ConditionTrigger(kind="condition", meter_id=temperature.id)


async def test_a_change_to_a_meter_the_asset_lacks_is_refused_before_it_is_written(
    stack: Any, org: Any
) -> None:
    """A new trigger naming an unknown meter (or another asset's) is a 422 on the trigger's
    meter and changes nothing (it once reached the database's foreign key: a 500)."""
    plan = await create(stack, org)
    other = await stack.call(
        m.CREATE_METER,
        m.CreateMeter(
            equipment_id=str(stack.peers.asset(org)),
            name="Hours",
            kind=m.MeterKind.COUNTER,
            unit="h",
        ),
        org.identity(),
    )
    for meter_id in (uuid4(), other.id):
        for trigger in (
            m.MeterTrigger(kind="meter", meter_id=meter_id, every=500),
            m.ConditionTrigger(kind="condition", meter_id=meter_id),
        ):
            change = m.UpdatePlan(plan_id=plan.id, changes=m.PlanChanges(trigger=trigger))
            error = await refused(stack, org, m.UPDATE_PLAN, change)
            assert error.code is ErrorCode.VALIDATION, error.info
            assert error.info.details[0]["loc"] == ["trigger", "meter_id"]
    unchanged = await stack.call(m.GET_PLAN, m.GetPlan(plan_id=plan.id), org.identity())
    assert (unchanged.version, unchanged.trigger) == (plan.version, plan.trigger)


async def test_changes_pauses_and_resumes(stack: Any, org: Any) -> None:
    stack.state.clock.freeze(T0)
    plan = await create(stack, org)
    changes = m.PlanChanges(title="Grease and inspect", instructions=None, expected_version=1)
    changed = await stack.call(
        m.UPDATE_PLAN, m.UpdatePlan(plan_id=plan.id, changes=changes), org.identity()
    )
    assert (changed.title, changed.version, changed.next_due_at) == (
        "Grease and inspect",
        2,
        plan.next_due_at,
    )
    stale = m.UpdatePlan(plan_id=plan.id, changes=m.PlanChanges(title="x", expected_version=1))
    assert (await refused(stack, org, m.UPDATE_PLAN, stale)).code is ErrorCode.CONFLICT
    cleared = m.UpdatePlan(plan_id=plan.id, changes=m.PlanChanges.model_validate({"title": None}))
    assert (await refused(stack, org, m.UPDATE_PLAN, cleared)).code is ErrorCode.VALIDATION
    # a new trigger starts again from now
    weekly = monthly(every=2, unit="weeks", first_due=date(2026, 3, 2))
    moved = await stack.call(
        m.UPDATE_PLAN,
        m.UpdatePlan(plan_id=plan.id, changes=m.PlanChanges(trigger=weekly)),
        org.identity(),
    )
    assert moved.next_due_at == utc(2026, 3, 16, 6)
    paused = await stack.call(
        m.PAUSE_PLAN, m.PausePlan(plan_id=plan.id, reason="Overhaul"), org.identity()
    )
    assert paused.status is m.PlanStatus.PAUSED
    again = await stack.call(m.PAUSE_PLAN, m.PausePlan(plan_id=plan.id), org.identity())
    assert again.version == paused.version  # already paused: nothing changes
    stack.state.clock.freeze(utc(2026, 5, 4, 9))
    resumed = await stack.call(m.RESUME_PLAN, m.ResumePlan(plan_id=plan.id), org.identity())
    assert resumed.status is m.PlanStatus.ACTIVE
    assert resumed.next_due_at == utc(2026, 5, 11, 6)  # the series, counted on from now

    def events(kind: str) -> list[dict[str, Any]]:
        return stack.bus.of(kind, plan_id=str(plan.id))

    await until(lambda: bool(events(Events.PLAN_RESUMED)), what="plan.resumed")
    assert len(events(Events.PLAN_UPDATED)) == 2
    assert events(Events.PLAN_UPDATED)[0]["data"]["changed"] == ["instructions", "title"]
    assert events(Events.PLAN_UPDATED)[1]["data"]["changed"] == ["trigger"]
    assert events(Events.PLAN_PAUSED)[0]["data"]["reason"] == "Overhaul"
    assert len(events(Events.PLAN_PAUSED)) == 1


async def test_a_new_time_zone_moves_the_next_occurrence(stack: Any, org: Any) -> None:
    stack.state.clock.freeze(T0)
    plan = await create(stack, org)
    assert plan.next_due_at == utc(2026, 3, 31, 6)
    update = OrganizationUpdated(
        org_id=org.id,
        name="Plant",
        time_zone="Europe/Berlin",
        working_hours_per_week=40,
        changed_by=org.admin_id,
    )
    envelope = await stack.publish(Events.ORGANIZATION_UPDATED, update, org.id)
    await stack.applied(envelope, "maintenance-organization-updated")
    moved = await stack.call(m.GET_PLAN, m.GetPlan(plan_id=plan.id), org.identity())
    assert moved.next_due_at == utc(2026, 3, 31, 4)  # 06:00 in Berlin (summer time)
    # an older event arriving late changes nothing
    older = update.model_copy(update={"time_zone": "America/Chicago"})
    late = await stack.publish(
        Events.ORGANIZATION_UPDATED, older, org.id, at=datetime(2020, 1, 1, tzinfo=UTC)
    )
    await stack.applied(late, "maintenance-organization-updated")
    same = await stack.call(m.GET_PLAN, m.GetPlan(plan_id=plan.id), org.identity())
    assert same.next_due_at == utc(2026, 3, 31, 4)
