"""Attachments: adding one (slow parts first, then one short transaction), reading, changing
the caption, removing.

Adding: the record is checked with its owner as the caller, the upload's size checked from its
metadata, then its bytes read, the type sniffed from them (``media.sniff``), images rendered
(``media.render``, in a thread) and every object put in the ATTACHMENTS store - all with no
transaction open. Then one transaction locks the organization's usage row, checks the quota,
inserts the row and emits ``attachment.added``. Objects stored for an add that fails are
deleted at once (the sweep deletes any left behind).

Removing marks the row deleted and emits ``attachment.removed`` in one transaction; the purge
job deletes its objects once that has committed.
"""

import asyncio
import hashlib
import logging
from collections.abc import Coroutine, Sequence
from typing import Any
from uuid import UUID

from rivet_contracts import Done, ErrorCode, Events, ServiceError
from rivet_contracts import attachments as contract
from rivet_contracts.attachments import AttachmentRemoved, RecordKind, Rendition
from rivet_runtime import RequestContext
from rivet_runtime.jobs import notify

from .. import metrics, storage
from ..state import AttachmentsState
from . import records, rules
from . import repository as repo
from .names import clean_filename
from .prepare import Prepared, prepare
from .views import added, to_view

log = logging.getLogger(__name__)

Ctx = RequestContext[AttachmentsState]
PURGE_CHANNEL = "attachments_purge"
"""The commit notification that wakes the job deleting removed attachments' objects."""


def _not_found(attachment_id: UUID) -> ServiceError:
    return ServiceError(ErrorCode.NOT_FOUND, f"attachment {attachment_id} not found")


def reason(error: ServiceError) -> str:
    if error.code is ErrorCode.UNSUPPORTED_MEDIA_TYPE:
        return "unsupported"
    if error.code is ErrorCode.PAYLOAD_TOO_LARGE:
        return "quota" if "quota" in error.info.message else "too_large"
    return error.code.value


# --- adding -----------------------------------------------------------------------------------


async def add(ctx: Ctx, req: contract.AddAttachment) -> contract.AttachmentView:
    caller = ctx.caller
    state, settings = ctx.state, ctx.state.settings
    record_id = await records.resolve(ctx, req.record_kind, req.record_ref)
    try:
        size = await storage.size_of(state.uploads, req.upload_key)
        rules.check_size(size, settings.attachment_max_bytes)
        data = await state.uploads.get(req.upload_key)
        rules.check_size(len(data), settings.attachment_max_bytes)
        prepared = await asyncio.to_thread(
            prepare, data, req.filename, max_pixels=settings.attachment_max_pixels
        )
        async with ctx.reading() as conn:  # a first look: no storing for a file over the quota
            used = await repo.usage_of(conn, caller.org_id)
        rules.check_quota(
            used["bytes_used"] if used else 0, prepared.stored, settings.attachment_org_quota_bytes
        )
    except ServiceError as refused:
        metrics.REFUSED.labels(reason(refused)).inc()
        raise
    attachment_id = rules.new_id()
    keys = {
        part.rendition: rules.object_key(caller.org_id, attachment_id, part.rendition)
        for part in prepared.parts
    }
    try:
        await storage.put_all(state.files, [(keys[p.rendition], p.data) for p in prepared.parts])
        async with ctx.transaction() as conn:
            usage = await repo.lock_usage(conn, caller.org_id)
            rules.check_quota(
                usage["bytes_used"], prepared.stored, settings.attachment_org_quota_bytes
            )
            row = await repo.insert_attachment(
                conn, _row(ctx, req, attachment_id, record_id, prepared, keys)
            )
            await repo.change_usage(conn, caller.org_id, prepared.stored, 1)
            await ctx.emit(Events.ATTACHMENT_ADDED, added(row), org_id=caller.org_id)
            uploads, upload_key = state.uploads, req.upload_key
            ctx.after_commit.append(lambda: _forget(uploads.delete(upload_key)))
    except BaseException as failed:
        if isinstance(failed, ServiceError):
            metrics.REFUSED.labels(reason(failed)).inc()
        await asyncio.shield(delete_quietly(state, list(keys.values())))
        raise
    metrics.ADDED.labels(prepared.kind.value).inc()
    metrics.ADDED_BYTES.inc(prepared.stored)
    return to_view(row)


def _row(
    ctx: Ctx,
    req: contract.AddAttachment,
    attachment_id: UUID,
    record_id: UUID,
    prepared: Prepared,
    keys: dict[Rendition, str],
) -> dict[str, Any]:
    return row_values(
        org_id=ctx.caller.org_id,
        uploader_id=ctx.caller.user_id,
        record_kind=req.record_kind,
        record_id=record_id,
        filename=req.filename,
        caption=req.caption,
        attachment_id=attachment_id,
        prepared=prepared,
        keys=keys,
    )


def row_values(
    *,
    org_id: UUID,
    uploader_id: UUID,
    record_kind: RecordKind,
    record_id: UUID,
    filename: str,
    caption: str | None,
    attachment_id: UUID,
    prepared: Prepared,
    keys: dict[Rendition, str],
) -> dict[str, Any]:
    """The row of a new attachment whose objects are stored under ``keys``."""
    screen = prepared.part(Rendition.SCREEN)
    thumbnail = prepared.part(Rendition.THUMBNAIL)
    return {
        "id": attachment_id,
        "org_id": org_id,
        "record_kind": record_kind.value,
        "record_id": record_id,
        "filename": clean_filename(filename, prepared.extension),
        "caption": caption or None,
        "content_type": prepared.content_type,
        "kind": prepared.kind.value,
        "size_bytes": len(prepared.original),
        "stored_bytes": prepared.stored,
        "sha256": hashlib.sha256(prepared.original).hexdigest(),
        "width": prepared.width,
        "height": prepared.height,
        "original_key": keys[Rendition.ORIGINAL],
        "screen_key": keys.get(Rendition.SCREEN),
        "screen_type": screen.content_type if screen else None,
        "thumbnail_key": keys.get(Rendition.THUMBNAIL),
        "thumbnail_type": thumbnail.content_type if thumbnail else None,
        "uploader_id": uploader_id,
    }


async def delete_quietly(state: AttachmentsState, keys: Sequence[str]) -> None:
    try:
        await storage.delete_all(state.files, keys)
    except Exception:
        log.warning("objects of a failed add were left for the sweep", exc_info=True)


def _forget(coroutine: Coroutine[Any, Any, None]) -> None:
    """Fire-and-forget cleanup (the upload bucket's TTL catches anything missed)."""
    task = asyncio.ensure_future(coroutine)
    task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)


# --- reading ----------------------------------------------------------------------------------


async def list_page(ctx: Ctx, req: contract.ListAttachments) -> contract.AttachmentPage:
    record_id = await records.resolve(ctx, req.record_kind, req.record_ref)
    async with ctx.reading() as conn:
        rows = await repo.page(
            conn, ctx.caller.org_id, req.record_kind.value, record_id, req.after, req.limit + 1
        )
    page = rows[: req.limit]
    return contract.AttachmentPage(
        items=[to_view(r) for r in page],
        next_after=page[-1]["id"] if len(rows) > req.limit else None,
    )


async def get(ctx: Ctx, req: contract.GetAttachment) -> contract.AttachmentFile:
    row = await repo.get(ctx.conn, ctx.caller.org_id, req.attachment_id)
    if row is None:
        raise _not_found(req.attachment_id)
    key, content_type = {
        Rendition.ORIGINAL: (row["original_key"], row["content_type"]),
        Rendition.SCREEN: (row["screen_key"], row["screen_type"]),
        Rendition.THUMBNAIL: (row["thumbnail_key"], row["thumbnail_type"]),
    }[req.rendition]
    if key is None:
        raise ServiceError(
            ErrorCode.NOT_FOUND,
            f"attachment {row['id']} has no {req.rendition.value} rendition (only images have)",
        )
    return contract.AttachmentFile(
        attachment=to_view(row), rendition=req.rendition, object_key=key, content_type=content_type
    )


async def usage(ctx: Ctx) -> contract.AttachmentUsage:
    """The organization's usage row (none yet: nothing stored) and its quota."""
    row = await repo.usage_of(ctx.conn, ctx.caller.org_id)
    used, files = (int(row["bytes_used"]), int(row["files"])) if row else (0, 0)
    quota = ctx.state.settings.attachment_org_quota_bytes
    return contract.AttachmentUsage(
        bytes_used=used, quota_bytes=quota, bytes_left=max(0, quota - used), files=files
    )


# --- changing, removing -----------------------------------------------------------------------


async def update(ctx: Ctx, req: contract.UpdateAttachment) -> contract.AttachmentView:
    row = await repo.get(ctx.conn, ctx.caller.org_id, req.attachment_id, lock=True)
    if row is None:
        raise _not_found(req.attachment_id)
    rules.check_may_change(ctx.caller, row["uploader_id"], "change")
    return to_view(await repo.set_caption(ctx.conn, row["id"], req.caption or None))


async def delete(ctx: Ctx, req: contract.DeleteAttachment) -> Done:
    caller = ctx.caller
    await repo.lock_usage(ctx.conn, caller.org_id)  # usage first, as adds do: no deadlock
    row = await repo.get(ctx.conn, caller.org_id, req.attachment_id, lock=True)
    if row is None:
        raise _not_found(req.attachment_id)
    rules.check_may_change(caller, row["uploader_id"], "remove")
    removed = await repo.mark_deleted(ctx.conn, row["id"], caller.user_id)
    await repo.change_usage(ctx.conn, caller.org_id, -row["stored_bytes"], -1)
    await ctx.emit(
        Events.ATTACHMENT_REMOVED,
        AttachmentRemoved(
            attachment_id=row["id"],
            record_kind=RecordKind(row["record_kind"]),
            record_id=row["record_id"],
            filename=row["filename"],
            kind=row["kind"],
            size_bytes=row["size_bytes"],
            removed_by=caller.user_id,
            removed_at=removed["deleted_at"],
        ),
        org_id=caller.org_id,
    )
    await notify(ctx.conn, PURGE_CHANNEL)
    metrics.REMOVED.inc()
    return Done()
