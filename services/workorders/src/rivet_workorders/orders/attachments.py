"""Consumers of the attachments service's events: a work order's attachment count, a timeline
entry, and the order's own ``wo.attachment_added`` / ``wo.attachment_removed``.

The inbox makes a redelivery a no-op (the count moves once per event). The two events of one
file come through two consumers, so a removal may be handled before its addition (a process
killed with the addition in hand gets it again only after ``ack_wait``): each file moves the
count by what the timeline says of it - an addition counts unless the file's removal is already
there, a removal uncounts only a file whose addition is - so the count ends the same in either
order. Both take the order's row lock first, so they never decide at the same time. An event for
an order that is not in the event's organization (an asset's file, a deleted or foreign order)
is ignored with a log line: retrying could not make it apply.
"""

import logging
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.engine import RowMapping

from rivet_contracts import EventEnvelope, Events
from rivet_contracts.attachments import AttachmentAdded, AttachmentRemoved, RecordKind
from rivet_contracts.workorders import (
    TimelineKind,
    WorkOrderAttachmentAdded,
    WorkOrderAttachmentRemoved,
)
from rivet_runtime import EventContext, EventRouter

from ..state import WorkordersState
from . import repository as repo
from . import views

log = logging.getLogger(__name__)

router: EventRouter[WorkordersState] = EventRouter()
Ctx = EventContext[WorkordersState]


def counted(count: int, delta: int) -> int:
    """The attachment count after a change; never below zero (a removal whose addition this
    service never saw)."""
    return max(0, count + delta)


def delta_of(kind: TimelineKind, other_seen: bool) -> int:
    """How a file's event moves the count, given whether its other event (the removal of an
    added file, the addition of a removed one) is already in the timeline: an addition counts
    unless the file is already removed; a removal uncounts only a file that was counted."""
    if kind is TimelineKind.ATTACHMENT_ADDED:
        return 0 if other_seen else 1
    return -1 if other_seen else 0


async def _apply(
    event: EventEnvelope[Any],
    ctx: Ctx,
    record_kind: RecordKind,
    record_id: UUID,
    attachment_id: UUID,
    author_id: UUID,
    kind: TimelineKind,
    changes: dict[str, Any],
) -> tuple[RowMapping, int] | None:
    """Move the order's count and add its timeline entry; the order's view row after, or None
    when the event is not for one of this organization's orders."""
    if record_kind is not RecordKind.WORK_ORDER:
        return None
    if event.org_id is None:
        log.warning("%s %s has no organization; ignored", event.type, event.event_id)
        return None
    row = await repo.lock_order(ctx.conn, event.org_id, str(record_id))
    if row is None:
        log.warning(
            "%s %s: work order %s not found in organization %s; ignored",
            event.type,
            event.event_id,
            record_id,
            event.org_id,
        )
        return None
    now: datetime = ctx.state.clock.now()
    other = (
        TimelineKind.ATTACHMENT_REMOVED
        if kind is TimelineKind.ATTACHMENT_ADDED
        else TimelineKind.ATTACHMENT_ADDED
    )
    seen = await repo.has_attachment_entry(ctx.conn, row["id"], other.value, attachment_id)
    count = counted(row["attachment_count"], delta_of(kind, seen))
    # like a comment, a file is not an edit: the order's version stays, so nobody's pending
    # change to the order is refused as a conflict because a photo arrived
    await repo.update_order(ctx.conn, row["id"], {"attachment_count": count})
    actor = event.actor
    await repo.add_timeline(
        ctx.conn,
        work_order_id=row["id"],
        org_id=event.org_id,
        at=now,
        kind=kind.value,
        author_id=author_id,
        channel=actor.channel if actor is not None else None,
        from_status=None,
        to_status=None,
        body=changes["attachment"]["filename"],
        changes=changes,
    )
    view = await repo.view_row(ctx.conn, event.org_id, row["id"])
    assert view is not None  # locked above
    return view, count


@router.on(Events.ATTACHMENT_ADDED, consumer="workorders-attachments-added")
async def on_attachment_added(event: EventEnvelope[Any], ctx: Ctx) -> None:
    data: AttachmentAdded = event.data
    brief = {"id": str(data.attachment_id), "filename": data.filename, "kind": data.kind.value}
    applied = await _apply(
        event,
        ctx,
        data.record_kind,
        data.record_id,
        data.attachment_id,
        data.uploader_id,
        TimelineKind.ATTACHMENT_ADDED,
        {"attachment": brief},
    )
    if applied is None:
        return
    view, count = applied
    await ctx.emit(
        Events.WO_ATTACHMENT_ADDED,
        WorkOrderAttachmentAdded(
            **views.snapshot_fields(view),
            attachment_id=data.attachment_id,
            filename=data.filename,
            content_type=data.content_type,
            kind=data.kind,
            size_bytes=data.size_bytes,
            caption=data.caption,
            uploader_id=data.uploader_id,
            link=f"/api/attachments/{data.attachment_id}",
            attachment_count=count,
        ),
        org_id=event.org_id,
    )


@router.on(Events.ATTACHMENT_REMOVED, consumer="workorders-attachments-removed")
async def on_attachment_removed(event: EventEnvelope[Any], ctx: Ctx) -> None:
    data: AttachmentRemoved = event.data
    brief = {"id": str(data.attachment_id), "filename": data.filename, "kind": data.kind.value}
    applied = await _apply(
        event,
        ctx,
        data.record_kind,
        data.record_id,
        data.attachment_id,
        data.removed_by,
        TimelineKind.ATTACHMENT_REMOVED,
        {"attachment": brief},
    )
    if applied is None:
        return
    view, count = applied
    await ctx.emit(
        Events.WO_ATTACHMENT_REMOVED,
        WorkOrderAttachmentRemoved(
            **views.snapshot_fields(view),
            attachment_id=data.attachment_id,
            filename=data.filename,
            kind=data.kind,
            size_bytes=data.size_bytes,
            removed_by=data.removed_by,
            attachment_count=count,
        ),
        org_id=event.org_id,
    )
