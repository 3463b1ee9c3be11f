"""An asset's files, as the attachments service announces them: the asset's attachment count,
its picture, history entries, and the asset's own ``equipment.attachment_added`` /
``equipment.attachment_removed``; and choosing the picture.

The first image attached becomes the picture when the asset has none; removing the picture
puts the newest remaining image in its place (or none). Like a comment on a work order, a file
is not an edit of the asset: its version stays, so nobody's pending change to the asset is
refused as a conflict because a photo arrived or a picture was chosen.

The inbox makes a redelivery a no-op, and ``equipment_attachments`` (one row per attachment
id) makes an event that arrives again by another way change nothing either; a removal that
arrives before its addition leaves a row that the late addition finds. An event for an asset
that is not in the event's organization (a work order's file, an unknown asset) is ignored
with a log line: retrying could not make it apply.
"""

import logging
from typing import Any
from uuid import UUID

from sqlalchemy.engine import RowMapping

from rivet_contracts import ErrorCode, EventEnvelope, Events, ServiceError
from rivet_contracts.assets import (
    EquipmentAttachmentAdded,
    EquipmentAttachmentRemoved,
    EquipmentView,
)
from rivet_contracts.attachments import (
    AttachmentAdded,
    AttachmentKind,
    AttachmentRemoved,
    RecordKind,
)
from rivet_runtime import EventContext, EventRouter

from ..state import AssetsState
from . import repository as repo
from .service import Uow, Who, find
from .views import picture_of, snapshot_fields, to_view

log = logging.getLogger(__name__)

router: EventRouter[AssetsState] = EventRouter()
Ctx = EventContext[AssetsState]


def counted(count: int, delta: int) -> int:
    """The attachment count after a change; never below zero."""
    return max(0, count + delta)


def stored_picture(row: RowMapping) -> dict[str, Any]:
    """What ``equipment.picture`` keeps of an attachment (a row of ``equipment_attachments``)."""
    return {
        "attachment_id": str(row["id"]),
        "filename": row["filename"],
        "content_type": row["content_type"],
        "width": row["width"],
        "height": row["height"],
    }


def _picture_id(picture: dict[str, Any] | None) -> str | None:
    return picture["attachment_id"] if picture else None


async def _asset(
    event: EventEnvelope[Any], ctx: Ctx, kind: RecordKind, record_id: UUID
) -> RowMapping | None:
    """The event's asset, locked; None when the event is not for one of this organization's
    assets."""
    if kind is not RecordKind.EQUIPMENT:
        return None
    if event.org_id is None:
        log.warning("%s %s has no organization; ignored", event.type, event.event_id)
        return None
    row = await repo.lock_equipment(ctx.conn, event.org_id, record_id)
    if row is None:
        log.warning(
            "%s %s: asset %s not found in organization %s; ignored",
            event.type,
            event.event_id,
            record_id,
            event.org_id,
        )
    return row


async def _history(
    ctx: Ctx, event: EventEnvelope[Any], equipment_id: UUID, actor_id: UUID, action: str,
    changes: dict[str, Any],
) -> None:  # fmt: skip
    assert event.org_id is not None
    await repo.add_history(
        ctx.conn,
        equipment_id=equipment_id,
        org_id=event.org_id,
        actor_id=actor_id,
        channel=event.actor.channel if event.actor is not None else None,
        action=action,
        changes=changes,
    )


@router.on(Events.ATTACHMENT_ADDED, consumer="assets-attachments-added")
async def on_attachment_added(event: EventEnvelope[Any], ctx: Ctx) -> None:
    data: AttachmentAdded = event.data
    row = await _asset(event, ctx, data.record_kind, data.record_id)
    if row is None:
        return
    assert event.org_id is not None
    if await repo.attachment(ctx.conn, event.org_id, data.attachment_id) is not None:
        return  # seen already (or removed before its addition arrived)
    await repo.insert_attachment(
        ctx.conn,
        {
            "id": data.attachment_id,
            "org_id": event.org_id,
            "equipment_id": row["id"],
            "filename": data.filename,
            "content_type": data.content_type,
            "kind": data.kind.value,
            "width": data.width,
            "height": data.height,
            "added_at": data.created_at,
        },
    )
    count = counted(row["attachment_count"], +1)
    picture = row["picture"]
    if picture is None and data.kind is AttachmentKind.IMAGE:
        picture = {
            "attachment_id": str(data.attachment_id),
            "filename": data.filename,
            "content_type": data.content_type,
            "width": data.width,
            "height": data.height,
        }
    updated = await repo.set_attachments(ctx.conn, row["id"], count, picture)
    brief = {"id": str(data.attachment_id), "filename": data.filename, "kind": data.kind.value}
    changes: dict[str, Any] = {
        "attachment": brief,
        "attachment_count": [row["attachment_count"], count],
    }
    if _picture_id(picture) != _picture_id(row["picture"]):
        changes["picture"] = [_picture_id(row["picture"]), _picture_id(picture)]
    await _history(ctx, event, row["id"], data.uploader_id, "attachment_added", changes)
    await ctx.emit(
        Events.EQUIPMENT_ATTACHMENT_ADDED,
        EquipmentAttachmentAdded(
            **snapshot_fields(updated),
            attachment_id=data.attachment_id,
            filename=data.filename,
            content_type=data.content_type,
            kind=data.kind,
            size_bytes=data.size_bytes,
            caption=data.caption,
            uploader_id=data.uploader_id,
            link=f"/api/attachments/{data.attachment_id}",
            attachment_count=count,
            picture=picture_of(picture),
        ),
        org_id=event.org_id,
    )


@router.on(Events.ATTACHMENT_REMOVED, consumer="assets-attachments-removed")
async def on_attachment_removed(event: EventEnvelope[Any], ctx: Ctx) -> None:
    data: AttachmentRemoved = event.data
    row = await _asset(event, ctx, data.record_kind, data.record_id)
    if row is None:
        return
    assert event.org_id is not None
    known = await repo.attachment(ctx.conn, event.org_id, data.attachment_id)
    if known is not None and known["removed_at"] is not None:
        return  # seen already
    if known is None:
        # The removal overtook the addition (two consumers): remember it, so the addition,
        # when it comes, changes nothing; the count never had this file.
        await repo.insert_attachment(
            ctx.conn,
            {
                "id": data.attachment_id,
                "org_id": event.org_id,
                "equipment_id": row["id"],
                "filename": data.filename,
                "kind": data.kind.value,
                "removed_at": data.removed_at,
            },
        )
        log.info("attachment %s removed before its addition was applied", data.attachment_id)
        return
    await repo.mark_attachment_removed(ctx.conn, data.attachment_id, data.removed_at)
    count = counted(row["attachment_count"], -1)
    picture = row["picture"]
    if _picture_id(picture) == str(data.attachment_id):
        newest = await repo.newest_image(ctx.conn, row["id"])
        picture = stored_picture(newest) if newest is not None else None
    updated = await repo.set_attachments(ctx.conn, row["id"], count, picture)
    brief = {"id": str(data.attachment_id), "filename": data.filename, "kind": data.kind.value}
    changes: dict[str, Any] = {
        "attachment": brief,
        "attachment_count": [row["attachment_count"], count],
    }
    if _picture_id(picture) != _picture_id(row["picture"]):
        changes["picture"] = [_picture_id(row["picture"]), _picture_id(picture)]
    await _history(ctx, event, row["id"], data.removed_by, "attachment_removed", changes)
    await ctx.emit(
        Events.EQUIPMENT_ATTACHMENT_REMOVED,
        EquipmentAttachmentRemoved(
            **snapshot_fields(updated),
            attachment_id=data.attachment_id,
            filename=data.filename,
            kind=data.kind,
            size_bytes=data.size_bytes,
            removed_by=data.removed_by,
            attachment_count=count,
            picture=picture_of(picture),
        ),
        org_id=event.org_id,
    )


# --- choosing the picture ---------------------------------------------------------------------


async def set_picture(uow: Uow, who: Who, ref: str, attachment_id: UUID | None) -> EquipmentView:
    """Show the asset with one of its images (None: with none). The file must be an image
    attached to this asset (and known here: a file just attached is, once its
    ``attachment.added`` is applied, in the asset's ``attachment_count``)."""
    found = await find(uow, who.org_id, ref)
    row = await repo.lock_equipment(uow.conn, who.org_id, found["id"])
    assert row is not None  # found above, and assets are never deleted
    picture: dict[str, Any] | None = None
    if attachment_id is not None:
        known = await repo.attachment(uow.conn, who.org_id, attachment_id)
        if known is None or known["removed_at"] is not None:
            raise ServiceError(
                ErrorCode.NOT_FOUND,
                f"attachment {attachment_id} not found among this asset's files (a file just "
                "added can be chosen once the asset counts it in attachment_count)",
            )
        if known["equipment_id"] != row["id"]:
            other = await repo.by_id(uow.conn, who.org_id, known["equipment_id"])
            where = other["number"] if other is not None else "another asset"
            raise ServiceError(
                ErrorCode.VALIDATION,
                f"attachment {attachment_id} is attached to {where}, not to {row['number']}",
                details=[{"loc": ["attachment_id"], "msg": "not an attachment of this asset"}],
            )
        if known["kind"] != AttachmentKind.IMAGE.value:
            raise ServiceError(
                ErrorCode.VALIDATION,
                f"attachment {attachment_id} is a {known['kind']} file, not an image: only "
                "images can be an asset's picture",
                details=[{"loc": ["attachment_id"], "msg": "not an image"}],
            )
        picture = stored_picture(known)
    if _picture_id(picture) == _picture_id(row["picture"]):
        return to_view(row)
    updated = await repo.set_attachments(uow.conn, row["id"], row["attachment_count"], picture)
    await repo.add_history(
        uow.conn,
        equipment_id=row["id"],
        org_id=who.org_id,
        actor_id=who.user_id,
        channel=uow.channel,
        action="picture_chosen",
        changes={"picture": [_picture_id(row["picture"]), _picture_id(picture)]},
    )
    return to_view(updated)
