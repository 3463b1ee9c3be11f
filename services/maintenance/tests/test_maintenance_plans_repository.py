"""The plans repository against PostgreSQL: what goes in comes out, organizations are kept
apart, the schema refuses what makes no sense, and scheduler replicas claim different plans."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts.workorders import Priority, WorkType
from rivet_maintenance.meters.repository import NewMeter, insert_meter
from rivet_maintenance.plans import repository as repo
from rivet_maintenance.plans.triggers import dump, load
from rivet_maintenance.schedule.calendar import CalendarTrigger, Unit
from rivet_maintenance.schedule.meters import MeterTrigger
from rivet_maintenance.tables import plans
from rivet_maintenance.vocabulary import MeterKind, PlanStatus, TriggerKind
from rivet_runtime.db import Database

T0 = datetime(2026, 5, 4, 8, tzinfo=UTC)
MONTHLY = CalendarTrigger(1, Unit.MONTHS, date(2026, 1, 31))


def new_plan(org: UUID, equipment: UUID | None = None, **fields: Any) -> repo.NewPlan:
    values: dict[str, Any] = {
        "id": uuid4(),
        "org_id": org,
        "equipment_id": equipment or uuid4(),
        "title": "Grease the bearings",
        "trigger_kind": TriggerKind.CALENDAR,
        "trigger": dump(MONTHLY),
    }
    return repo.NewPlan(**(values | fields))


async def test_a_plan_comes_back_as_it_was_stored(conn: AsyncConnection) -> None:
    org, technician = uuid4(), uuid4()
    checklist = [{"step": "Clean the nipples", "done": False}, {"step": "3 g of grease"}]
    stored = await repo.insert_plan(
        conn,
        new_plan(
            org,
            instructions="Lithium grease, NLGI 2.",
            checklist=checklist,
            priority=Priority.HIGH,
            work_type=WorkType.INSPECTION,
            estimated_hours=Decimal("1.25"),
            assignee_id=technician,
        ),
        T0,
    )
    got = await repo.get_plan(conn, org, stored.id)
    assert got == stored
    assert (got.title, got.instructions, got.checklist) == (
        "Grease the bearings",
        "Lithium grease, NLGI 2.",
        checklist,
    )
    assert (got.priority, got.work_type, got.estimated_hours, got.assignee_id) == (
        Priority.HIGH,
        WorkType.INSPECTION,
        Decimal("1.25"),
        technician,
    )
    assert (got.status, got.version, got.created_at, got.updated_at) == (
        PlanStatus.ACTIVE,
        1,
        T0,
        T0,
    )
    assert load(got.trigger_kind, got.trigger) == MONTHLY
    assert got.schedule == repo.ScheduleState(None, None, None, None)
    assert await repo.get_plan(conn, uuid4(), stored.id) is None  # another organization


async def test_listing_filters_and_pages(conn: AsyncConnection) -> None:
    org, pump = uuid4(), uuid4()
    made = []
    for minutes in range(5):
        fields: dict[str, Any] = {"status": PlanStatus.PAUSED} if minutes == 3 else {}
        plan = new_plan(org, pump if minutes % 2 == 0 else None, **fields)
        made.append(await repo.insert_plan(conn, plan, T0 + timedelta(minutes=minutes)))
    await repo.insert_plan(conn, new_plan(uuid4(), pump), T0)  # another organization's
    everything = await repo.list_plans(conn, org)
    assert [p.id for p in everything] == [p.id for p in made]
    first = await repo.list_plans(conn, org, limit=2)
    second = await repo.list_plans(conn, org, limit=2, after=(first[-1].created_at, first[-1].id))
    assert [p.id for p in first + second] == [p.id for p in made[:4]]
    on_pump = await repo.list_plans(conn, org, equipment_id=pump)
    assert [p.id for p in on_pump] == [made[0].id, made[2].id, made[4].id]
    paused = await repo.list_plans(conn, org, status=PlanStatus.PAUSED)
    assert [p.id for p in paused] == [made[3].id]


async def test_a_change_counts_a_new_version(conn: AsyncConnection) -> None:
    org = uuid4()
    plan = await repo.insert_plan(conn, new_plan(org), T0)
    later = T0 + timedelta(hours=1)
    changed = await repo.update_plan(
        conn,
        org,
        plan.id,
        {"title": "Grease and inspect", "status": PlanStatus.PAUSED, "priority": Priority.LOW},
        later,
    )
    assert changed is not None
    assert (changed.title, changed.status, changed.priority) == (
        "Grease and inspect",
        PlanStatus.PAUSED,
        Priority.LOW,
    )
    assert (changed.version, changed.updated_at, changed.created_at) == (2, later, T0)
    assert await repo.update_plan(conn, uuid4(), plan.id, {"title": "x"}, later) is None
    with pytest.raises(ValueError, match="next_due_at"):
        await repo.update_plan(conn, org, plan.id, {"next_due_at": later}, later)


async def test_the_schedule_state_is_stored_without_a_new_version(conn: AsyncConnection) -> None:
    org = uuid4()
    plan = await repo.insert_plan(conn, new_plan(org), T0)
    state = repo.ScheduleState(
        T0 + timedelta(days=30), T0 + timedelta(days=27), Decimal("1520.5"), T0
    )
    await repo.store_schedule(conn, plan.id, state)
    got = await repo.get_plan(conn, org, plan.id)
    assert got is not None
    assert (got.schedule, got.version) == (state, 1)


async def test_a_meter_plan_names_its_meter_and_a_calendar_plan_none(
    conn: AsyncConnection,
) -> None:
    org, equipment = uuid4(), uuid4()
    meter = await insert_meter(
        conn, NewMeter(uuid4(), org, equipment, "Hours run", MeterKind.COUNTER, "h")
    )
    by_hours = new_plan(
        org,
        equipment,
        trigger_kind=TriggerKind.METER,
        trigger=dump(MeterTrigger(Decimal(500), Decimal(50))),
        meter_id=meter.id,
    )
    stored = await repo.insert_plan(conn, by_hours, T0)
    assert [p.id for p in await repo.plans_of_meter(conn, meter.id)] == [stored.id]
    assert await repo.plans_of_meter(conn, meter.id, status=PlanStatus.PAUSED) == []
    for wrong in (
        new_plan(org, trigger_kind=TriggerKind.METER),  # no meter
        new_plan(org, meter_id=meter.id),  # a calendar plan with a meter
        new_plan(org, meter_id=uuid4(), trigger_kind=TriggerKind.CONDITION),  # no such meter
        new_plan(org, work_type=WorkType.CORRECTIVE),  # a plan is planned work
        new_plan(org, estimated_hours=Decimal(-1)),
        new_plan(org, trigger=[]),  # not an object
        new_plan(org, checklist={"step": 1}),  # not a list
    ):
        with pytest.raises(IntegrityError):
            async with conn.begin_nested():
                await repo.insert_plan(conn, wrong, T0)


async def test_scheduler_replicas_claim_different_plans(maintenance_db: Database) -> None:
    """Two passes at once: the plans one claims (rows locked) the other skips; paused plans
    and plans not yet opening are claimed by neither."""
    org = uuid4()
    ids = []
    async with maintenance_db.transaction() as conn:
        for hours, status in ((-3, PlanStatus.ACTIVE), (-1, PlanStatus.ACTIVE), (-2, None)):
            plan = await repo.insert_plan(
                conn, new_plan(org, status=status or PlanStatus.PAUSED), T0
            )
            opens = T0 + timedelta(hours=hours)
            await repo.store_schedule(conn, plan.id, repo.ScheduleState(opens, opens))
            ids.append(plan.id)
        future = await repo.insert_plan(conn, new_plan(org), T0)
        later = T0 + timedelta(hours=1)
        await repo.store_schedule(conn, future.id, repo.ScheduleState(later, later))
    try:
        async with maintenance_db.transaction() as one:
            claimed = await repo.claim_opening(one, T0, limit=10)
            assert [p.id for p in claimed if p.org_id == org] == [ids[0], ids[1]]
            async with maintenance_db.transaction() as two:
                skipped = await repo.claim_opening(two, T0, limit=10)
                assert [p.id for p in skipped if p.org_id == org] == []
        async with maintenance_db.transaction() as three:
            first = await repo.claim_opening(three, T0, limit=1)
            assert [p.id for p in first] == [ids[0]]
    finally:
        async with maintenance_db.transaction() as conn:
            await conn.execute(delete(plans).where(plans.c.org_id == org))
