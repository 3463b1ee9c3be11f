"""Rules for work orders. Never commits: the runtime does, once per request.

Every change writes the order, its timeline entries and its events in one transaction, so the
timeline, the events (and through them the stats) never disagree with the order.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from rivet_contracts import ErrorCode, Events, ServiceError, refs
from rivet_contracts import workorders as contract
from rivet_contracts.identity import Role
from rivet_contracts.workorders import ChecklistKind, TimelineKind, WorkOrderStatus
from rivet_runtime import RequestContext

from ..replicas import service as replicas
from ..state import WorkordersState
from . import checklist, idempotency, lifecycle, views
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


class _KeyTaken(Exception):
    """Another create with the same idempotency key committed first: roll back, answer theirs."""


async def create(ctx: Ctx, req: contract.CreateWorkOrder) -> contract.WorkOrderView:
    """Open a work order, or answer with the one a repeated idempotency key opened."""
    key = req.idempotency_key
    if key is not None:
        async with ctx.transaction():
            replay = await _replay(ctx, req, key)
        if replay is not None:
            return replay
    try:
        return await _create(ctx, req)
    except _KeyTaken:
        pass
    except ServiceError:
        if key is None:
            raise
        # A create with the same key that ran alongside may have registered the asset this
        # one asked the assets service about (a possible duplicate now) and committed since.
        async with ctx.transaction():
            replay = await _replay(ctx, req, key)
        if replay is None:
            raise
        return replay
    assert key is not None  # only a keyed insert can find its key taken
    async with ctx.transaction():
        replay = await _replay(ctx, req, key)
    if replay is None:  # not expected: the key's order committed before ours was refused
        raise ServiceError(ErrorCode.CONFLICT, "a create with this key is under way; try again")
    return replay


async def _replay(
    ctx: Ctx, req: contract.CreateWorkOrder, key: str
) -> contract.WorkOrderView | None:
    """The order created with ``key`` as it is now, if any (409 for a different request)."""
    row = await repo.find_by_key(ctx.conn, ctx.caller.org_id, key)
    if row is None:
        return None
    idempotency.check_same_request(req, row["request_hash"], row["id"], row["number"])
    return await get(ctx, contract.GetWorkOrder(ref=str(row["id"])))


async def _create(ctx: Ctx, req: contract.CreateWorkOrder) -> contract.WorkOrderView:
    """The asset (and a new assignee) are made known to the replicas first, outside the unit
    of work: that may ask the assets or auth service, and the wait must hold neither a
    connection nor the number counter's row lock."""
    caller, now = ctx.caller, ctx.state.clock.now()
    if req.number is not None:
        _check_kept_number(ctx)
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


IMPORT_CHANNEL = "import"
"""The channel of ``rivet-dev import``: the only one on which a create may keep a number."""


def _check_kept_number(ctx: Ctx) -> None:
    """A create that keeps a number from another system (``number``): admins importing only."""
    if ctx.channel != IMPORT_CHANNEL or ctx.caller.role is not Role.ADMIN:
        raise ServiceError(
            ErrorCode.FORBIDDEN, "`number` is for imports by an admin (the `import` channel)"
        )


async def _number(ctx: Ctx, req: contract.CreateWorkOrder, now: datetime) -> str:
    """The new order's number: the next of the year (the counter row stays locked until
    commit: that is what keeps numbers unique), or the kept one of an import, past which the
    counter of its year moves so that later numbers never meet it."""
    org_id = ctx.caller.org_id
    if req.number is None:
        year = now.astimezone(UTC).year
        sequence = await repo.next_number(ctx.conn, org_id, year)
        return refs.format_number(refs.WORK_ORDER_PREFIX, year, sequence)
    taken = await repo.find_order(ctx.conn, org_id, req.number)
    if taken is not None:
        raise ServiceError(
            ErrorCode.CONFLICT,
            f"work order number {req.number} is taken",
            details={"id": str(taken["id"]), "number": req.number},
        )
    year, sequence = (int(p) for p in req.number.removeprefix(refs.WORK_ORDER_PREFIX).split("-"))
    await repo.number_at_least(ctx.conn, org_id, year, sequence)
    return req.number


async def _insert(
    ctx: Ctx, req: contract.CreateWorkOrder, equipment: RowMapping, now: datetime
) -> contract.WorkOrderView:
    caller = ctx.caller
    number = await _number(ctx, req, now)
    order_id = uuid4()
    values: dict[str, Any] = {
        "id": order_id,
        "org_id": caller.org_id,
        "number": number,
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
        "plan_id": req.plan_id,
    }
    if req.idempotency_key is not None:
        values["idempotency_key"] = req.idempotency_key
        values["request_hash"] = idempotency.request_hash(req)
    try:
        row = await repo.insert_order(ctx.conn, values)
    except IntegrityError as exc:
        if "work_orders_org_number_key" not in str(exc.orig):
            raise
        # a kept number another create took after our check (the transaction is rolled back)
        raise ServiceError(ErrorCode.CONFLICT, f"work order number {number} is taken") from None
    if row is None:
        raise _KeyTaken  # rolls the transaction back: the number taken above stays free
    items = await repo.insert_checklist(
        ctx.conn,
        [
            {"id": uuid4(), "work_order_id": order_id, "org_id": caller.org_id, **item}
            for item in checklist.new_items(req.checklist)
        ],
    )
    shown = {
        "priority": req.priority,
        "work_type": req.work_type,
        "due_at": values["due_at"],
        "assignee_id": req.assignee_id,
        "estimated_hours": req.estimated_hours,
        "downtime_start": req.downtime_start,
        "plan_id": req.plan_id,
        "checklist_items": len(items) or None,
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
    return views.to_view(row, now, [{**entry, "author_name": row["requester_name"]}], items)


async def get(ctx: Ctx, req: contract.GetWorkOrder) -> contract.WorkOrderView:
    row = await repo.find_order(ctx.conn, ctx.caller.org_id, req.ref)
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"work order {req.ref} not found")
    return await _full_view(ctx, row["id"], ctx.state.clock.now())


async def _full_view(
    ctx: Ctx, order_id: UUID, now: datetime, view: RowMapping | None = None
) -> contract.WorkOrderView:
    """A single-order answer: the order (``view``, its view row if loaded already) with its
    timeline and checklist."""
    view = view if view is not None else await _view_row(ctx, order_id)
    timeline = await repo.timeline_rows(ctx.conn, order_id)
    items = (await repo.checklists(ctx.conn, [order_id])).get(order_id, [])
    return views.to_view(view, now, timeline, items)


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
    override: tuple[str, list[RowMapping]] | None = None
    """Completed by an admin's override: the reason and the required items left open."""


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
    if req.changes.override_reason is not None:
        checklist.check_override_allowed(caller.role)
        if req.changes.status is not WorkOrderStatus.COMPLETED:
            raise _invalid("override_reason", "`override_reason` goes with `status: completed`")
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
    return await _full_view(ctx, row["id"], now, view)


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
    override = None
    if transition is not None and transition[1] is WorkOrderStatus.COMPLETED:
        items = (await repo.checklists(ctx.conn, [row["id"]])).get(row["id"], [])
        open_required = [i for i in items if i["required"] and not i["done"]]
        if checklist.check_completion(open_required, changes.override_reason):
            assert changes.override_reason is not None
            override = (changes.override_reason, open_required)
    _check_downtime({**row, **values}, now)
    return _Change(
        row, values, edited, assignee, transition, changes.reason, changes.note, override
    )


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
    if change.override is not None:
        reason, open_required = change.override
        await _timeline(
            ctx,
            order_id,
            now,
            TimelineKind.CHECKLIST_OVERRIDE,
            body=reason,
            changes={
                "open_required_items": len(open_required),
                "positions": [i["position"] for i in open_required],
            },
        )
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


async def check_item(ctx: Ctx, req: contract.CheckChecklistItem) -> contract.ChecklistItemView:
    """Record a checklist item's result (or take it back). The order's row is locked, so a
    completion (which counts the open required items) and a recording never interleave."""
    caller, now = ctx.caller, ctx.state.clock.now()
    ref = checklist.parse_item_ref(req.item)
    row = await repo.lock_order(ctx.conn, caller.org_id, req.ref)
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"work order {req.ref} not found")
    items = (await repo.checklists(ctx.conn, [row["id"]])).get(row["id"], [])
    item = checklist.pick(items, ref)
    if item is None:
        raise ServiceError(
            ErrorCode.NOT_FOUND, f"work order {row['number']} has no checklist item {req.item}"
        )
    checklist.check_recordable(WorkOrderStatus(row["status"]), row["number"])
    values = checklist.result_values(ChecklistKind(item["kind"]), req)
    if all(item[name] == value for name, value in values.items()):
        return views.to_item(item)  # recorded so already (a repeated request): nothing changes
    values["done_by"], values["done_at"] = (caller.user_id, now) if req.done else (None, None)
    updated = await repo.update_item(ctx.conn, item["id"], values)
    await repo.update_order(ctx.conn, row["id"], {"version": row["version"] + 1, "updated_at": now})
    shown = views.to_item(updated)
    changes: dict[str, Any] = {
        "item": {"id": str(item["id"]), "position": item["position"], "text": item["text"]},
        "done": [item["done"], updated["done"]],
        "result": [_plain(views.item_result(item)), _plain(shown.result)],
    }
    if item["kind"] == ChecklistKind.NUMBER.value:
        changes["out_of_limits"] = [views.to_item(item).out_of_limits, shown.out_of_limits]
    await _timeline(
        ctx, row["id"], now, TimelineKind.CHECKLIST_ITEM, body=req.note, changes=changes
    )
    after = [updated if i["id"] == item["id"] else i for i in items]
    view = await _view_row(ctx, row["id"])
    await ctx.emit(
        Events.WO_CHECKLIST_ITEM_CHECKED,
        contract.WorkOrderChecklistItemChecked(
            **views.snapshot_fields(view),
            item=shown,
            open_required=sum(1 for i in after if i["required"] and not i["done"]),
            actor_id=caller.user_id,
        ),
        org_id=caller.org_id,
    )
    return shown


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
