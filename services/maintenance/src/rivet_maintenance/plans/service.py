"""Plans through the API: created, changed, paused and resumed by admins, read by everyone.

The asset (and a default assignee) are asked of the assets (and auth) services before the unit
of work, as the caller. In the unit of work the plan is written with its schedule state and its
event. The admin who writes a plan becomes its author: its orders are requested in their name.

The schedule starts at the first due time not in the past (``schedule.planning``); a new
trigger or asset starts it again from now, and so does resuming. A meter plan's base is the
trigger's ``base``, else the meter's newest reading, else 0. Orders already opening keep the
request they were recorded with.
"""

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts import Events
from rivet_contracts import maintenance as contract
from rivet_runtime import RequestContext

from ..common import peers
from ..common.errors import conflict, invalid, not_found, refused
from ..meters import repository as meters
from ..occurrences import repository as occurrences
from ..organizations.service import zone_of
from ..schedule.calendar import CalendarTrigger
from ..schedule.errors import ScheduleError
from ..schedule.meters import MeterTrigger
from ..schedule.planning import first_due, opening, resumed
from ..state import MaintenanceState
from ..vocabulary import ACTIVE_OCCURRENCES, MeterKind, PlanStatus
from . import repository as repo
from .repository import NewPlan, PlanRecord, ScheduleState
from .triggers import Trigger, dump, kind_of, load
from .views import decimal, plan_view, schedule_trigger, snapshot, trigger_view

Ctx = RequestContext[MaintenanceState]
REQUIRED = frozenset(
    {"equipment_id", "title", "checklist", "priority", "work_type", "trigger", "allow_overlap"}
)
HISTORY = 20


def _trigger(spec: contract.Trigger) -> tuple[Trigger, UUID | None]:
    try:
        return schedule_trigger(spec)
    except ScheduleError as exc:
        raise refused(exc, "trigger") from None


async def _watched(
    conn: AsyncConnection, org_id: UUID, trigger: Trigger, meter_id: UUID | None, asset: UUID
) -> meters.MeterRecord | None:
    """The meter a meter or condition plan watches: the asset's counter, or its gauge with a
    limit."""
    if meter_id is None:
        return None
    meter = await meters.get_meter(conn, org_id, meter_id)
    where = ["trigger", "meter_id"]
    if meter is None or meter.equipment_id != asset:
        raise invalid(where, "not a meter of the plan's asset", "not_found")
    if isinstance(trigger, MeterTrigger) and meter.kind is not MeterKind.COUNTER:
        raise invalid(where, "a meter plan watches a counter")
    gauge = meter.kind is MeterKind.GAUGE and meter.limits is not None
    if not isinstance(trigger, MeterTrigger) and not gauge:
        raise invalid(where, "a condition plan watches a gauge with a low or high limit")
    return meter


async def _fresh_schedule(
    conn: AsyncConnection,
    plan: PlanRecord,
    trigger: Trigger,
    spec: contract.Trigger,
    meter: meters.MeterRecord | None,
    now: datetime,
) -> ScheduleState:
    """The schedule of a plan whose trigger (or asset) is new: from now on."""
    if isinstance(trigger, CalendarTrigger):
        tz = await zone_of(conn, plan.org_id)
        due = first_due(trigger, now, tz)
        return ScheduleState(due, opening(trigger, due, tz), None, plan.schedule.last_completed_at)
    base: Decimal | None = None
    if isinstance(spec, contract.MeterTrigger):
        if spec.base is not None:
            base = decimal(spec.base)
        elif meter is not None and meter.last_value is not None:
            base = meter.last_value
        else:
            base = Decimal(0)
    return ScheduleState(None, None, base, plan.schedule.last_completed_at)


async def create(ctx: Ctx, req: contract.CreatePlan) -> contract.PlanView:
    trigger, meter_id = _trigger(req.trigger)
    asset = await peers.asset(ctx, req.equipment_id)
    if req.assignee_id is not None:
        await peers.check_assignee(ctx, req.assignee_id)
    caller, now = ctx.caller, ctx.state.clock.now()
    new = NewPlan(
        id=uuid4(),
        org_id=caller.org_id,
        equipment_id=asset.id,
        title=req.title,
        trigger_kind=kind_of(trigger),
        trigger=dump(trigger),
        meter_id=meter_id,
        instructions=req.instructions or None,
        checklist=[item.model_dump(mode="json", exclude_none=True) for item in req.checklist],
        priority=req.priority,
        work_type=req.work_type,
        estimated_hours=decimal(req.estimated_hours) if req.estimated_hours is not None else None,
        assignee_id=req.assignee_id,
        status=req.status,
        author_id=caller.user_id,
        allow_overlap=req.allow_overlap,
    )
    async with ctx.transaction() as conn:
        meter = await _watched(conn, caller.org_id, trigger, meter_id, asset.id)
        plan = await repo.insert_plan(conn, new, now)
        state = await _fresh_schedule(conn, plan, trigger, req.trigger, meter, now)
        await repo.store_schedule(conn, plan.id, state)
        plan = replace(plan, schedule=state)
        await ctx.emit(
            Events.PLAN_CREATED,
            contract.PlanCreated(**snapshot(plan), author_id=caller.user_id),
            org_id=caller.org_id,
        )
        return plan_view(plan, [])


def _columns(changes: contract.PlanChanges) -> dict[str, Any]:
    """The plan columns ``changes`` writes (the asset and trigger are resolved apart)."""
    columns: dict[str, Any] = {}
    for name in changes.model_fields_set - {"expected_version", "equipment_id", "trigger"}:
        value = getattr(changes, name)
        if name == "checklist":
            value = [item.model_dump(mode="json", exclude_none=True) for item in value]
        elif name == "estimated_hours" and value is not None:
            value = decimal(value)
        elif name == "instructions":
            value = value or None
        columns[name] = value
    return columns


async def update(ctx: Ctx, req: contract.UpdatePlan) -> contract.PlanView:
    changes, given = req.changes, req.changes.model_fields_set
    for name in sorted(given & REQUIRED):
        if getattr(changes, name) is None:
            raise invalid(["changes", name], f"`{name}` cannot be cleared")
    trigger = meter_id = None
    if changes.trigger is not None:
        trigger, meter_id = _trigger(changes.trigger)
    asset = await peers.asset(ctx, changes.equipment_id) if changes.equipment_id else None
    if changes.assignee_id is not None:
        await peers.check_assignee(ctx, changes.assignee_id)
    caller, now = ctx.caller, ctx.state.clock.now()
    async with ctx.transaction() as conn:
        plan = await _locked(ctx, req.plan_id)
        if changes.expected_version is not None and changes.expected_version != plan.version:
            raise conflict(f"the plan changed (version {plan.version}); load it and try again")
        columns = _columns(changes)
        if asset is not None and asset.id != plan.equipment_id:
            columns["equipment_id"] = asset.id
        rescheduled = trigger is not None or "equipment_id" in columns
        spec = changes.trigger
        meter = None
        if rescheduled:
            if trigger is None or spec is None:  # the asset alone: the same trigger again
                spec = trigger_view(plan)
                trigger, meter_id = _trigger(spec)
            columns |= {"trigger_kind": kind_of(trigger), "trigger": dump(trigger)}
            columns["meter_id"] = meter_id
            # checked before the plan is written: it must name a meter of the plan's asset
            equipment = columns.get("equipment_id", plan.equipment_id)
            meter = await _watched(conn, plan.org_id, trigger, meter_id, equipment)
        changed = sorted(name for name in columns if name not in ("trigger_kind", "meter_id"))
        updated = await repo.update_plan(
            conn, plan.org_id, plan.id, columns | {"author_id": caller.user_id}, now
        )
        assert updated is not None  # locked above
        if rescheduled:
            assert trigger is not None
            assert spec is not None
            state = await _fresh_schedule(conn, updated, trigger, spec, meter, now)
            await repo.store_schedule(conn, plan.id, state)
            updated = replace(updated, schedule=state)
        await ctx.emit(
            Events.PLAN_UPDATED,
            contract.PlanUpdated(**snapshot(updated), changed=changed, actor_id=caller.user_id),
            org_id=plan.org_id,
        )
        return plan_view(updated)


async def pause(ctx: Ctx, req: contract.PausePlan) -> contract.PlanView:
    plan = await _locked(ctx, req.plan_id)
    if plan.status is PlanStatus.PAUSED:
        return plan_view(plan)
    caller, now = ctx.caller, ctx.state.clock.now()
    paused = await repo.update_plan(
        ctx.conn, plan.org_id, plan.id, {"status": PlanStatus.PAUSED}, now
    )
    assert paused is not None
    await ctx.emit(
        Events.PLAN_PAUSED,
        contract.PlanPaused(**snapshot(paused), actor_id=caller.user_id, reason=req.reason),
        org_id=plan.org_id,
    )
    return plan_view(paused)


async def resume(ctx: Ctx, req: contract.ResumePlan) -> contract.PlanView:
    plan = await _locked(ctx, req.plan_id)
    if plan.status is PlanStatus.ACTIVE:
        return plan_view(plan)
    caller, now = ctx.caller, ctx.state.clock.now()
    changes = {"status": PlanStatus.ACTIVE, "author_id": caller.user_id}
    active = await repo.update_plan(ctx.conn, plan.org_id, plan.id, changes, now)
    assert active is not None
    trigger = load(plan.trigger_kind, plan.trigger)
    if isinstance(trigger, CalendarTrigger):
        tz = await zone_of(ctx.conn, plan.org_id)
        latest = await occurrences.latest_of_plan(ctx.conn, plan.id)
        due = resumed(
            trigger,
            latest.due_at if latest is not None else None,
            latest.completed_at if latest is not None else None,
            latest is not None and latest.status in ACTIVE_OCCURRENCES,
            now,
            tz,
        )
        state = replace(active.schedule, next_due_at=due, next_opens_at=opening(trigger, due, tz))
        await repo.store_schedule(ctx.conn, plan.id, state)
        active = replace(active, schedule=state)
    await ctx.emit(
        Events.PLAN_RESUMED,
        contract.PlanResumed(**snapshot(active), actor_id=caller.user_id),
        org_id=plan.org_id,
    )
    return plan_view(active)


async def get(ctx: Ctx, req: contract.GetPlan) -> contract.PlanView:
    plan = await repo.get_plan(ctx.conn, ctx.caller.org_id, req.plan_id)
    if plan is None:
        raise not_found(f"plan {req.plan_id}")
    history = await occurrences.of_plan(ctx.conn, plan.org_id, plan.id, limit=HISTORY)
    return plan_view(plan, history)


async def list_page(ctx: Ctx, req: contract.ListPlans) -> contract.PlanPage:
    org_id = ctx.caller.org_id
    after: tuple[datetime, UUID] | None = None
    if req.after is not None:
        last = await repo.get_plan(ctx.conn, org_id, req.after)
        if last is None:
            raise invalid("after", "not a plan of your organization")
        after = (last.created_at, last.id)
    found = await repo.list_plans(
        ctx.conn,
        org_id,
        equipment_id=req.equipment_id,
        assignee_id=req.assignee_id,
        status=req.status,
        after=after,
        limit=req.limit + 1,
    )
    items = found[: req.limit]
    more = len(found) > req.limit
    return contract.PlanPage(
        items=[plan_view(p) for p in items], next_after=items[-1].id if more else None
    )


async def _locked(ctx: Ctx, plan_id: UUID) -> PlanRecord:
    plan = await repo.get_plan(ctx.conn, ctx.caller.org_id, plan_id, lock=True)
    if plan is None:
        raise not_found(f"plan {plan_id}")
    return plan
