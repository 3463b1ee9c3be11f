"""What a plan's work order being completed, cancelled or reopened does to the plan.

- **completed**: the occurrence is completed, on time or not (``schedule.compliance``: by its
  deadline, due + 10 % of the interval; a meter plan's by the counter at completion, within
  10 % of the interval past the threshold); a floating plan's next occurrence is counted from
  the completion's local date, a meter plan's from the counter at completion (the newest
  reading taken by then; the threshold without one); ``pm.completed``.
- **cancelled**: the occurrence is cancelled; a floating plan counts its next occurrence from
  the cancellation (it must not stop for good), a meter plan keeps its base.
- **reopened** (back to open from completed or cancelled): the occurrence is open again; what
  the completion scheduled stays.

A fixed calendar plan's schedule never moves with completions.
"""

import logging
from datetime import datetime
from decimal import Decimal

from rivet_contracts import Events
from rivet_contracts.maintenance import PmCompleted
from rivet_contracts.workorders import WorkOrderStatus, WorkOrderStatusChanged
from rivet_runtime import EventContext

from ..meters import repository as meters
from ..occurrences import repository as occurrences
from ..occurrences.repository import OccurrenceRecord
from ..organizations.service import zone_of
from ..plans import repository as plans
from ..plans.repository import PlanRecord, ScheduleState
from ..plans.triggers import load
from ..schedule.calendar import CalendarTrigger, Mode, next_due
from ..schedule.compliance import meter_on_time
from ..schedule.meters import MeterTrigger
from ..schedule.planning import opening
from ..state import MaintenanceState
from ..vocabulary import ACTIVE_OCCURRENCES, OccurrenceStatus

log = logging.getLogger(__name__)

Ctx = EventContext[MaintenanceState]
DONE = (OccurrenceStatus.COMPLETED, OccurrenceStatus.CANCELLED)
ENDED = (WorkOrderStatus.COMPLETED, WorkOrderStatus.CANCELLED)


class NotLinkedYet(Exception):
    """The order of a plan is not linked to its occurrence yet (its create is being answered):
    the event is delivered again shortly."""


async def apply(ctx: Ctx, data: WorkOrderStatusChanged) -> None:
    """In the event's transaction: apply an order's new status to its occurrence."""
    conn = ctx.conn
    occurrence = await occurrences.lock_by_work_order(conn, data.work_order_id)
    if occurrence is None:
        if data.plan_id is not None and await _opening(ctx, data):
            raise NotLinkedYet(f"work order {data.number} is not linked to its occurrence yet")
        return
    plan = await plans.lock_plan(conn, occurrence.plan_id)
    if plan is None:
        return
    if data.to_status is WorkOrderStatus.COMPLETED and occurrence.status not in DONE:
        await _complete(ctx, plan, occurrence, data)
    elif data.to_status is WorkOrderStatus.CANCELLED and occurrence.status not in DONE:
        await _cancel(ctx, plan, occurrence, data.changed_at)
    elif data.to_status not in ENDED and occurrence.status in DONE:
        await occurrences.store_status(conn, occurrence.id, OccurrenceStatus.OPEN)


async def _opening(ctx: Ctx, data: WorkOrderStatusChanged) -> bool:
    """Whether the order's plan has an occurrence whose order is being opened."""
    assert data.plan_id is not None
    active = await occurrences.active_of_plans(ctx.conn, [data.plan_id])
    return any(o.status is OccurrenceStatus.OPENING for o in active)


async def _complete(
    ctx: Ctx, plan: PlanRecord, occurrence: OccurrenceRecord, data: WorkOrderStatusChanged
) -> None:
    conn = ctx.conn
    completed_at = data.completed_at or data.changed_at
    trigger = load(plan.trigger_kind, plan.trigger)
    state = plan.schedule
    on_time: bool | None = None
    reading: Decimal | None = None
    if isinstance(trigger, CalendarTrigger):
        on_time = occurrence.deadline_at is None or completed_at <= occurrence.deadline_at
        state = await _floating_next(ctx, plan, trigger, occurrence, completed_at)
    elif isinstance(trigger, MeterTrigger):
        reading = await _counter_at(ctx, plan, occurrence, completed_at)
        if occurrence.threshold is not None and reading is not None:
            on_time = meter_on_time(occurrence.threshold, trigger.every, reading)
        if reading is not None:
            state = ScheduleState(
                state.next_due_at, state.next_opens_at, reading, state.last_completed_at
            )
    state = ScheduleState(state.next_due_at, state.next_opens_at, state.meter_base, completed_at)
    await plans.store_schedule(conn, plan.id, state)
    await occurrences.store_status(
        conn,
        occurrence.id,
        OccurrenceStatus.COMPLETED,
        completed_at=completed_at,
        completed_reading=reading,
        on_time=on_time,
    )
    await ctx.emit(
        Events.PM_COMPLETED,
        PmCompleted(
            occurrence_id=occurrence.id,
            plan_id=plan.id,
            equipment_id=plan.equipment_id,
            trigger_kind=plan.trigger_kind,
            work_order_id=data.work_order_id,
            due_at=occurrence.due_at,
            completed_at=completed_at,
            on_time=on_time,
            threshold=float(occurrence.threshold) if occurrence.threshold is not None else None,
            completed_reading=float(reading) if reading is not None else None,
            next_due_at=state.next_due_at,
        ),
        org_id=plan.org_id,
    )


async def _cancel(ctx: Ctx, plan: PlanRecord, occurrence: OccurrenceRecord, at: datetime) -> None:
    trigger = load(plan.trigger_kind, plan.trigger)
    if isinstance(trigger, CalendarTrigger):
        state = await _floating_next(ctx, plan, trigger, occurrence, at)
        await plans.store_schedule(ctx.conn, plan.id, state)
    await occurrences.store_status(ctx.conn, occurrence.id, OccurrenceStatus.CANCELLED)


async def _floating_next(
    ctx: Ctx,
    plan: PlanRecord,
    trigger: CalendarTrigger,
    occurrence: OccurrenceRecord,
    done_at: datetime,
) -> ScheduleState:
    """A floating plan's next occurrence once its latest one is done at ``done_at`` (counted
    from that local date); any other plan's schedule as it is."""
    state = plan.schedule
    if trigger.mode is not Mode.FLOATING or occurrence.due_at is None:
        return state
    latest = await occurrences.latest_of_plan(ctx.conn, plan.id)
    if latest is None or latest.id != occurrence.id:
        return state  # an older one: the latest decides the next
    others = await occurrences.active_of_plans(ctx.conn, [plan.id])
    if any(o.id != occurrence.id and o.status in ACTIVE_OCCURRENCES for o in others):
        return state
    tz = await zone_of(ctx.conn, plan.org_id)
    due = next_due(trigger, occurrence.due_at, done_at, tz)
    return ScheduleState(due, opening(trigger, due, tz), state.meter_base, state.last_completed_at)


async def _counter_at(
    ctx: Ctx, plan: PlanRecord, occurrence: OccurrenceRecord, at: datetime
) -> Decimal | None:
    """The plan's counter at ``at``: the newest reading taken by then, else the threshold."""
    if plan.meter_id is not None:
        reading = await meters.reading_at(ctx.conn, plan.meter_id, at)
        if reading is not None:
            return reading.value
    return occurrence.threshold
