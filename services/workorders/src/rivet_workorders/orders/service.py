"""Rules for work orders. Never commits: the runtime does, once per request.

Every change writes the order, its timeline entries and its events in one transaction, so the
timeline, the events (and through them the stats) never disagree with the order.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.engine import RowMapping

from rivet_contracts import ErrorCode, Events, ServiceError, refs
from rivet_contracts import workorders as contract
from rivet_contracts.workorders import TimelineKind, WorkOrderStatus
from rivet_runtime import RequestContext

from ..replicas import service as replicas
from ..state import WorkordersState
from . import lifecycle, views
from . import repository as repo
from .views import minutes

Ctx = RequestContext[WorkordersState]

CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a reported time (downtime) may be: clients' clocks drift."""
NULLABLE = frozenset(
    {"description", "estimated_hours", "labour_hours", "downtime_start", "downtime_end"}
)
EDITABLE = ("priority", "due_at", "title", "description", "work_type")
HOURS = {"estimated_hours": "estimated_minutes", "labour_hours": "labour_minutes"}
ENUMS = frozenset({"priority", "work_type"})


def _unique(values: list[str], *, upper: bool = False) -> list[str]:
    seen = dict.fromkeys(v.upper() if upper else v for v in values)
    return list(seen)


def _invalid(field: str, message: str) -> ServiceError:
    return ServiceError(
        ErrorCode.VALIDATION,
        message,
        details=[{"loc": [field], "msg": message, "type": "value_error"}],
    )


def _plain(value: Any) -> Any:
    """A JSON-friendly value for timeline changes."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return getattr(value, "value", value)


async def create(ctx: Ctx, req: contract.CreateWorkOrder) -> contract.WorkOrderView:
    """Open a work order. The asset (and a new assignee) are made known to the replicas first,
    outside the unit of work: that may ask the assets or auth service, and the wait must hold
    neither a connection nor the number counter's row lock."""
    caller, now = ctx.caller, ctx.state.clock.now()
    if req.assignee_id is not None:
        lifecycle.check_assignment(caller.role, caller.user_id, None, req.assignee_id)
    if req.downtime_start is not None and req.downtime_start > now + CLOCK_SKEW:
        raise _invalid("downtime_start", "downtime cannot start in the future")
    if req.due_at is not None and req.due_at < now - CLOCK_SKEW:
        raise _invalid("due_at", "the due date is in the past")
    equipment_id = await replicas.prepare_equipment(ctx, req)
    if req.assignee_id is not None:
        await replicas.prepare_assignee(ctx, req.assignee_id)
    async with ctx.transaction():
        if req.assignee_id is not None:
            await replicas.require_assignable(ctx, req.assignee_id)
        equipment = await replicas.equipment_for_order(ctx, equipment_id)
        return await _insert(ctx, req, equipment, now)


async def _insert(
    ctx: Ctx, req: contract.CreateWorkOrder, equipment: RowMapping, now: datetime
) -> contract.WorkOrderView:
    caller = ctx.caller
    # The counter row stays locked until commit (that is what keeps numbers unique).
    year = now.astimezone(UTC).year
    number = await repo.next_number(ctx.conn, caller.org_id, year)
    order_id = uuid4()
    values: dict[str, Any] = {
        "id": order_id,
        "org_id": caller.org_id,
        "number": refs.format_number(refs.WORK_ORDER_PREFIX, year, number),
        "equipment_id": equipment["id"],
        "title": req.title,
        "description": req.description or None,
        "fault_codes": _unique(req.fault_codes, upper=True),
        "symptoms": _unique(req.symptoms),
        "priority": req.priority.value,
        "status": WorkOrderStatus.OPEN.value,
        "work_type": req.work_type.value,
        "source": ctx.channel,
        "due_at": req.due_at or lifecycle.default_due(req.priority, now),
        "assignee_id": req.assignee_id,
        "requester_id": caller.user_id,
        "estimated_minutes": minutes(req.estimated_hours),
        "downtime_start": req.downtime_start,
        "created_at": now,
        "updated_at": now,
        "status_changed_at": now,
        "version": 1,
    }
    row = await repo.insert_order(ctx.conn, values)
    shown = {
        "priority": req.priority,
        "work_type": req.work_type,
        "due_at": values["due_at"],
        "assignee_id": req.assignee_id,
        "estimated_hours": req.estimated_hours,
        "downtime_start": req.downtime_start,
    }
    entry = await repo.add_timeline(
        ctx.conn,
        **_entry(ctx, order_id, now, TimelineKind.CREATED),
        to_status=WorkOrderStatus.OPEN.value,
        changes={k: [None, _plain(v)] for k, v in shown.items() if v is not None},
    )
    await ctx.emit(
        Events.WO_CREATED,
        contract.WorkOrderCreated(**views.snapshot_fields(row)),
        org_id=caller.org_id,
    )
    # A new order's timeline is its creation entry, written by the requester (the caller).
    return views.to_view(row, now, [{**entry, "author_name": row["requester_name"]}])


async def get(ctx: Ctx, req: contract.GetWorkOrder) -> contract.WorkOrderView:
    row = await repo.find_order(ctx.conn, ctx.caller.org_id, req.ref)
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"work order {req.ref} not found")
    view = await _view_row(ctx, row["id"])
    timeline = await repo.timeline_rows(ctx.conn, row["id"])
    return views.to_view(view, ctx.state.clock.now(), timeline)


@dataclass
class _Change:
    """What one PUT/PATCH does to an order, decided before anything is written."""

    row: RowMapping
    values: dict[str, Any]
    edited: dict[str, list[Any]]
    assignee: tuple[UUID | None, UUID | None] | None  # (before, after) when it changes
    transition: tuple[WorkOrderStatus, WorkOrderStatus] | None
    reason: str | None
    note: str | None


async def prepare_update(ctx: Ctx, req: contract.UpdateWorkOrder) -> None:
    """Before the unit of work of ``update``: a new assignee known to the replica (this may ask
    the auth service)."""
    if "assignee_id" in req.changes.model_fields_set and req.changes.assignee_id is not None:
        await replicas.prepare_assignee(ctx, req.changes.assignee_id)


async def update(ctx: Ctx, req: contract.UpdateWorkOrder) -> contract.WorkOrderView:
    """In the unit of work, after ``prepare_update``."""
    caller, now = ctx.caller, ctx.state.clock.now()
    fields = req.changes.model_fields_set - {"expected_version"}
    if not fields:
        raise ServiceError(ErrorCode.VALIDATION, "nothing to change: the body names no field")
    if "reason" in fields and req.changes.status is None:
        raise _invalid("reason", "`reason` goes with a `status` change")
    row = await repo.lock_order(ctx.conn, caller.org_id, req.ref)
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"work order {req.ref} not found")
    expected = req.changes.expected_version
    if expected is not None and expected != row["version"]:
        raise ServiceError(
            ErrorCode.CONFLICT,
            f"the work order is at version {row['version']}, not {expected}",
            details={"version": row["version"]},
        )
    change = await _plan(ctx, row, req.changes, fields, now)
    if not change.values and change.note is None:
        return await get(ctx, contract.GetWorkOrder(ref=str(row["id"])))
    comment_id = await _record(ctx, change, now)
    view = await _view_row(ctx, row["id"])
    await _announce(ctx, change, views.snapshot_fields(view), comment_id, now)
    return views.to_view(view, now, await repo.timeline_rows(ctx.conn, row["id"]))


async def _plan(
    ctx: Ctx,
    row: RowMapping,
    changes: contract.WorkOrderChanges,
    fields: set[str],
    now: datetime,
) -> _Change:
    """Check every requested change against the rules; the column values they set."""
    caller = ctx.caller
    lifecycle.check_planning(caller.role, fields)
    values, edited = _edits(row, changes, fields)
    assignee = None
    if "assignee_id" in fields and changes.assignee_id != row["assignee_id"]:
        before, after = row["assignee_id"], changes.assignee_id
        lifecycle.check_assignment(caller.role, caller.user_id, before, after)
        if after is not None:
            await replicas.require_assignable(ctx, after)
        values["assignee_id"] = after
        assignee = (before, after)
    transition = None
    if changes.status is not None:
        current = WorkOrderStatus(row["status"])
        lifecycle.check_transition(current, changes.status, changes.reason)
        values.update(lifecycle.transition_stamps(current, changes.status, now, {**row, **values}))
        transition = (current, changes.status)
    _check_downtime({**row, **values}, now)
    return _Change(row, values, edited, assignee, transition, changes.reason, changes.note)


async def _record(ctx: Ctx, change: _Change, now: datetime) -> UUID | None:
    """Write the order and its timeline entries; the id of the note's entry, if any."""
    order_id = change.row["id"]
    if change.values:
        values = change.values | {"version": change.row["version"] + 1, "updated_at": now}
        await repo.update_order(ctx.conn, order_id, values)
    if change.edited:
        await _timeline(ctx, order_id, now, TimelineKind.UPDATED, changes=change.edited)
    if change.assignee is not None:
        shown = [_plain(who) for who in change.assignee]
        await _timeline(ctx, order_id, now, TimelineKind.ASSIGNED, changes={"assignee_id": shown})
    if change.transition is not None:
        current, target = change.transition
        await _timeline(
            ctx,
            order_id,
            now,
            TimelineKind.STATUS_CHANGED,
            from_status=current.value,
            to_status=target.value,
            body=change.reason,
        )
    if change.note is None:
        return None
    return await _timeline(ctx, order_id, now, TimelineKind.COMMENT, body=change.note)


async def _announce(
    ctx: Ctx, change: _Change, snapshot: dict[str, Any], comment_id: UUID | None, now: datetime
) -> None:
    """One event per kind of change, each carrying the order as it is now."""
    org_id, actor = ctx.caller.org_id, ctx.caller.user_id
    if change.edited:
        data = contract.WorkOrderUpdated(**snapshot, changed=sorted(change.edited), actor_id=actor)
        await ctx.emit(Events.WO_UPDATED, data, org_id=org_id)
    if change.assignee is not None:
        assigned = contract.WorkOrderAssigned(
            **snapshot, previous_assignee_id=change.assignee[0], actor_id=actor
        )
        await ctx.emit(Events.WO_ASSIGNED, assigned, org_id=org_id)
    if change.transition is not None:
        moved = contract.WorkOrderStatusChanged(
            **snapshot,
            from_status=change.transition[0],
            to_status=change.transition[1],
            actor_id=actor,
            reason=change.reason,
            changed_at=now,
        )
        await ctx.emit(Events.WO_STATUS_CHANGED, moved, org_id=org_id)
    if comment_id is not None and change.note is not None:
        await _emit_comment(ctx, snapshot, comment_id, change.note)


def _edits(
    row: RowMapping, changes: contract.WorkOrderChanges, fields: set[str]
) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Column values and timeline changes (``field -> [old, new]``) of plain field edits."""
    values: dict[str, Any] = {}
    edited: dict[str, list[Any]] = {}
    for name in (*EDITABLE, *HOURS, "downtime_start", "downtime_end"):
        if name not in fields:
            continue
        given = getattr(changes, name)
        if given is None and name not in NULLABLE:
            raise _invalid(name, f"{name} cannot be cleared")
        column = HOURS.get(name, name)
        new = minutes(given) if name in HOURS else _plain(given) if name in ENUMS else given
        if new == row[column]:
            continue
        values[column] = new
        old = views.hours(row[column]) if name in HOURS else _plain(row[column])
        edited[name] = [old, _plain(given)]
    return values, edited


def _check_downtime(merged: dict[str, Any], now: datetime) -> None:
    start, end = merged["downtime_start"], merged["downtime_end"]
    if end is not None and start is None:
        raise _invalid("downtime_end", "record when the equipment went down (downtime_start)")
    if start is not None and start > now + CLOCK_SKEW:
        raise _invalid("downtime_start", "downtime cannot start in the future")
    if end is not None and start is not None and end < start:
        raise _invalid("downtime_end", "the equipment cannot be back up before it went down")
    if end is not None and end > now + CLOCK_SKEW:
        raise _invalid("downtime_end", "downtime cannot end in the future")


async def comment(ctx: Ctx, req: contract.CommentOnWorkOrder) -> contract.TimelineEntry:
    row = await repo.find_order(ctx.conn, ctx.caller.org_id, req.ref)
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"work order {req.ref} not found")
    now = ctx.state.clock.now()
    entry_id = await _timeline(ctx, row["id"], now, TimelineKind.COMMENT, body=req.body)
    view = await _view_row(ctx, row["id"])
    await _emit_comment(ctx, views.snapshot_fields(view), entry_id, req.body)
    entries = await repo.timeline_rows(ctx.conn, row["id"])
    return views.to_entry(next(e for e in entries if e["entry_id"] == entry_id))


async def _emit_comment(ctx: Ctx, snapshot: dict[str, Any], entry_id: UUID, body: str) -> None:
    await ctx.emit(
        Events.WO_COMMENTED,
        contract.WorkOrderCommented(
            **snapshot, comment_id=entry_id, author_id=ctx.caller.user_id, body=body
        ),
        org_id=ctx.caller.org_id,
    )


def _entry(ctx: Ctx, order_id: UUID, at: datetime, kind: TimelineKind) -> dict[str, Any]:
    """The columns every timeline entry has: what, when, by whom, through which channel."""
    return {
        "work_order_id": order_id,
        "org_id": ctx.caller.org_id,
        "at": at,
        "kind": kind.value,
        "author_id": ctx.caller.user_id,
        "channel": ctx.channel,
    }


async def _timeline(
    ctx: Ctx, order_id: UUID, at: datetime, kind: TimelineKind, **values: Any
) -> UUID:
    """Add an entry; returns its id (``entry_id``: random, the one callers see)."""
    entry = await repo.add_timeline(ctx.conn, **_entry(ctx, order_id, at, kind), **values)
    entry_id: UUID = entry["entry_id"]
    return entry_id


async def _view_row(ctx: Ctx, order_id: UUID) -> RowMapping:
    row = await repo.view_row(ctx.conn, ctx.caller.org_id, order_id)
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"work order {order_id} not found")
    return row
