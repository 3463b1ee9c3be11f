"""Recording the occurrences of calendar plans that have reached their opening time.

A pass takes the active plans whose next order opens by now, a batch at a time, each row
locked and skipped by any other replica's pass (FOR UPDATE SKIP LOCKED); for each it records
the occurrence (catching up, if the scheduler was stopped, on the latest one due) and moves the
plan on to its next. Recording and moving on commit together, so a pass that dies half-way
leaves every plan either recorded and moved or untouched, and the next pass does the rest.
Meter and condition plans are recorded by the readings that make them due.
"""

import logging
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from rivet_runtime.jobs import JobContext

from ..occurrences import service as occurrences
from ..occurrences.repository import NewOccurrence
from ..organizations.service import zones_of
from ..plans import repository as plans
from ..plans.repository import PlanRecord, ScheduleState
from ..plans.triggers import load
from ..schedule.calendar import CalendarTrigger
from ..schedule.errors import ScheduleError
from ..schedule.keys import calendar_key
from ..schedule.planning import after_recorded, catch_up, deadline, opening
from ..state import MaintenanceState

log = logging.getLogger(__name__)

BATCH = 200
"""Plans recorded per transaction: their rows stay locked (and skipped by other replicas)
until it commits."""

Ctx = JobContext[MaintenanceState]


async def record_due(ctx: Ctx) -> int:
    """Record every calendar occurrence whose order opens by now; how many were recorded."""
    now = ctx.state.clock.now()
    recorded = 0
    while not ctx.stopping:
        async with ctx.transaction() as conn:
            batch = await plans.claim_opening(conn, now, BATCH)
            recorded += await _record_batch(ctx, batch, now)
        if len(batch) < BATCH:
            break
    return recorded


async def _record_batch(ctx: Ctx, batch: list[PlanRecord], now: datetime) -> int:
    """Record the batch's occurrences and move each plan on, in a few statements for all."""
    conn = ctx.conn
    zones = await zones_of(conn, list({plan.org_id for plan in batch}))
    todo: list[tuple[PlanRecord, NewOccurrence, str | None]] = []
    states: dict[UUID, ScheduleState] = {}
    for plan in batch:
        due = plan.schedule.next_due_at
        try:
            trigger = load(plan.trigger_kind, plan.trigger)
            if not isinstance(trigger, CalendarTrigger) or due is None:
                raise ScheduleError("trigger", "not a calendar plan with a next occurrence")
        except ScheduleError as exc:  # never expected: plans are checked when written
            log.error("plan %s cannot be scheduled (%s); it opens no more orders", plan.id, exc)
            states[plan.id] = replace(plan.schedule, next_opens_at=None)
            continue
        tz = zones[plan.org_id]
        due, passed = catch_up(trigger, due, now, tz)
        if passed:
            log.warning(
                "plan %s: %d occurrences passed over while the scheduler was away", plan.id, passed
            )
        new = NewOccurrence(
            plan.org_id,
            plan.id,
            calendar_key(plan.id, due),
            due_at=due,
            opens_at=opening(trigger, due, tz),
            deadline_at=deadline(trigger, due, tz),
        )
        todo.append((plan, new, None))
        following = after_recorded(trigger, due, tz)
        states[plan.id] = ScheduleState(
            following,
            opening(trigger, following, tz),
            plan.schedule.meter_base,
            plan.schedule.last_completed_at,
        )
    rows = await occurrences.record_many(ctx, todo, now) if todo else []
    await plans.store_schedules(conn, states)
    return sum(row is not None for row in rows)
