"""The occurrences repository against PostgreSQL: one row per key even when two replicas insert
it at the same moment, the order it opened, and the lists compliance and overdue are made of."""

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_maintenance.occurrences import repository as repo
from rivet_maintenance.plans.repository import NewPlan, insert_plan
from rivet_maintenance.plans.triggers import dump
from rivet_maintenance.schedule.calendar import CalendarTrigger, Unit
from rivet_maintenance.schedule.keys import calendar_key, key_uuid, meter_key
from rivet_maintenance.tables import occurrences, plans
from rivet_maintenance.vocabulary import OccurrenceStatus, TriggerKind
from rivet_runtime.db import Database

T0 = datetime(2026, 3, 1, 5, tzinfo=UTC)
S = OccurrenceStatus


async def a_plan(conn: AsyncConnection, org: UUID) -> UUID:
    trigger = dump(CalendarTrigger(1, Unit.WEEKS, date(2026, 3, 1)))
    plan = NewPlan(uuid4(), org, uuid4(), "Inspect", TriggerKind.CALENDAR, trigger)
    return (await insert_plan(conn, plan, T0)).id


def due(org: UUID, plan: UUID, days: int, **more: Any) -> repo.NewOccurrence:
    at = T0 + timedelta(days=days)
    return repo.NewOccurrence(
        org, plan, calendar_key(plan, at), due_at=at, deadline_at=at + timedelta(hours=16), **more
    )


async def test_an_occurrence_is_stored_once_per_key(conn: AsyncConnection) -> None:
    org = uuid4()
    plan = await a_plan(conn, org)
    first = await repo.insert_occurrence(conn, due(org, plan, 0, opens_at=T0), T0)
    assert first is not None
    assert first.id == key_uuid(first.key)
    assert (first.status, first.due_at, first.opens_at, first.work_order_id) == (
        S.OPENING,
        T0,
        T0,
        None,
    )
    again = await repo.insert_occurrence(conn, due(org, plan, 0), T0 + timedelta(seconds=1))
    assert again is None
    assert await repo.get_by_key(conn, first.key) == first
    count = select(func.count()).select_from(occurrences).where(occurrences.c.plan_id == plan)
    assert await conn.scalar(count) == 1


async def test_two_replicas_inserting_one_key_at_once_store_one(maintenance_db: Database) -> None:
    """The second insert waits for the first transaction and then inserts nothing: only the
    replica that stored the occurrence goes on to open its work order."""
    org = uuid4()
    async with maintenance_db.transaction() as conn:
        plan = await a_plan(conn, org)
    try:
        async with maintenance_db.transaction() as one:
            mine = await repo.insert_occurrence(one, due(org, plan, 7), T0)
            assert mine is not None

            async def other_replica() -> repo.OccurrenceRecord | None:
                async with maintenance_db.transaction() as two:
                    return await repo.insert_occurrence(two, due(org, plan, 7), T0)

            racing = asyncio.create_task(other_replica())
            await asyncio.sleep(0.3)
            assert not racing.done()  # waiting on the first one's row
        assert await racing is None
        async with maintenance_db.transaction() as conn:
            assert await repo.get_by_key(conn, mine.key) == mine
    finally:
        async with maintenance_db.transaction() as conn:
            await conn.execute(delete(occurrences).where(occurrences.c.org_id == org))
            await conn.execute(delete(plans).where(plans.c.org_id == org))


async def test_the_order_opened_and_the_completion(conn: AsyncConnection) -> None:
    org = uuid4()
    plan = await a_plan(conn, org)
    occurrence = await repo.insert_occurrence(conn, due(org, plan, 0), T0)
    assert occurrence is not None
    order = uuid4()
    await repo.store_opened(conn, occurrence.id, order, T0 + timedelta(minutes=1))
    opened = await repo.get_by_work_order(conn, order)
    assert opened is not None
    assert (opened.id, opened.status, opened.opened_at) == (
        occurrence.id,
        S.OPEN,
        T0 + timedelta(minutes=1),
    )
    done_at = T0 + timedelta(hours=3)
    await repo.store_status(
        conn, occurrence.id, S.COMPLETED, completed_at=done_at, completed_reading=D("1520.5")
    )
    completed = await repo.get_by_key(conn, occurrence.key)
    assert completed is not None
    assert (completed.status, completed.completed_at, completed.completed_reading) == (
        S.COMPLETED,
        done_at,
        D("1520.5"),
    )
    assert await repo.get_by_work_order(conn, uuid4()) is None
    # one order belongs to one occurrence; an open occurrence has its order
    second = await repo.insert_occurrence(conn, due(org, plan, 7), T0)
    assert second is not None
    with pytest.raises(IntegrityError):
        async with conn.begin_nested():
            await repo.store_opened(conn, second.id, order, T0)
    with pytest.raises(IntegrityError):
        async with conn.begin_nested():
            await repo.store_status(conn, second.id, S.OPEN)


async def test_meter_and_condition_occurrences(conn: AsyncConnection) -> None:
    org = uuid4()
    plan = await a_plan(conn, org)
    by_hours = repo.NewOccurrence(org, plan, meter_key(plan, D(1500)), threshold=D(1500))
    stored = await repo.insert_occurrence(conn, by_hours, T0)
    assert stored is not None
    assert (stored.threshold, stored.due_at, stored.excursion) == (D(1500), None, None)
    hot = repo.NewOccurrence(org, plan, f"{plan}/excursion/1", excursion=1)
    assert (await repo.insert_occurrence(conn, hot, T0 + timedelta(seconds=1))) is not None
    latest = await repo.latest_of_plan(conn, plan)
    assert latest is not None
    assert latest.excursion == 1
    assert [o.key for o in await repo.of_plan(conn, org, plan)] == [hot.key, by_hours.key]
    assert await repo.of_plan(conn, uuid4(), plan) == []


async def test_the_lists_for_overdue_and_compliance(conn: AsyncConnection) -> None:
    org = uuid4()
    plan = await a_plan(conn, org)
    week = {}
    for days, status in ((0, S.OPEN), (7, S.COMPLETED), (14, S.OPENING), (21, S.CANCELLED)):
        new = due(org, plan, days, status=S.OPENING if status is S.OPEN else status)
        stored = await repo.insert_occurrence(conn, new, T0 + timedelta(days=days))
        assert stored is not None
        if status is S.OPEN:
            await repo.store_opened(conn, stored.id, uuid4(), T0)
        week[days] = stored.key
    other_org = uuid4()
    elsewhere = await a_plan(conn, other_org)
    await repo.insert_occurrence(conn, due(other_org, elsewhere, 1), T0)
    now = T0 + timedelta(days=30)
    assert [o.key for o in await repo.active_due_before(conn, org, now)] == [week[0], week[14]]
    assert [o.key for o in await repo.active_due_before(conn, org, T0 + timedelta(days=14))] == [
        week[0]
    ]
    assert [o.key for o in await repo.active_due_before(conn, org, T0)] == []
    march = await repo.due_between(conn, org, T0, T0 + timedelta(days=21))
    assert [o.key for o in march] == [week[0], week[7], week[14]]
    assert [o.deadline_at for o in march] == [T0 + timedelta(days=d, hours=16) for d in (0, 7, 14)]
