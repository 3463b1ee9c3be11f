"""The nameplate photo of a scan becomes an attachment of the asset the scan created or
matched.

The assets service answers a scan with ``equipment.scan_resolved``, which names the asset and
the photo's key in the OCR service's photo store (``PHOTOS``). This consumer reads the photo
from there (its NATS user may read that bucket, not write it), prepares it as any uploaded
image (type sniffed, location metadata stripped, screen rendition and thumbnail), stores the
objects, then in one transaction checks the quota, inserts the row and emits
``attachment.added`` - the event the record's owner counts, as for any other file. The scan's
uploader is the attachment's.

Once per scan photo and asset: the inbox makes a redelivery a no-op, and a live attachment of
the asset with the same bytes (a scan matched again, a confirmation replayed) is left as the
only one. A photo that cannot be attached - gone from the store, over the organization's quota,
refused as a file - is logged and counted, and the scan's outcome stands: retrying could not
change it.
"""

import asyncio
import hashlib
import logging
from typing import Any

from rivet_contracts import ErrorCode, EventEnvelope, Events, ServiceError
from rivet_contracts.assets import MatchOutcome
from rivet_contracts.attachments import RecordKind
from rivet_contracts.ocr import EquipmentScanResolved
from rivet_runtime import EventContext, EventRouter

from .. import metrics, storage
from ..state import AttachmentsState
from . import repository as repo
from . import rules
from .prepare import Prepared, prepare
from .service import delete_quietly, reason, row_values
from .views import added

log = logging.getLogger(__name__)

router: EventRouter[AttachmentsState] = EventRouter()
Ctx = EventContext[AttachmentsState]
CONSUMER = "attachments-scan-photos"
CAPTION = "Nameplate photo (scan)"


def _filename(data: EquipmentScanResolved) -> str:
    return f"nameplate-{data.equipment_number or data.equipment_id}.jpg"


@router.on(Events.EQUIPMENT_SCAN_RESOLVED, consumer=CONSUMER, own_transaction=True)
async def attach_scan_photo(event: EventEnvelope[Any], ctx: Ctx) -> None:
    """Read and prepare the photo with no transaction open, then one short transaction."""
    data: EquipmentScanResolved = event.data
    if data.outcome not in (MatchOutcome.CREATED, MatchOutcome.MATCHED):
        return  # refused, or possible duplicates: no asset yet (a confirmation answers again)
    if data.equipment_id is None or not data.photo_ref or event.org_id is None:
        return
    uploader = event.actor.user_id if event.actor is not None else None
    if uploader is None:
        log.warning("scan %s has no user to attach its photo as; not attached", data.scan_id)
        return
    org_id, settings = event.org_id, ctx.state.settings
    try:
        photo = await ctx.state.photos.get(data.photo_ref)
        rules.check_size(len(photo), settings.attachment_max_bytes)
        prepared = await asyncio.to_thread(
            prepare, photo, _filename(data), max_pixels=settings.attachment_max_pixels
        )
        sha256 = hashlib.sha256(prepared.original).hexdigest()
        async with ctx.reading() as conn:
            if await _attached(conn, event, data, sha256):
                return
            used = await repo.usage_of(conn, org_id)
        rules.check_quota(
            used["bytes_used"] if used else 0, prepared.stored, settings.attachment_org_quota_bytes
        )
    except ServiceError as refused:
        _not_attached(data, refused)
        return
    await _store(ctx, event, data, uploader, prepared, sha256)


async def _attached(conn: Any, event: EventEnvelope[Any], data: Any, sha256: str) -> bool:
    assert event.org_id is not None
    found = await repo.same_file(
        conn, event.org_id, RecordKind.EQUIPMENT.value, data.equipment_id, sha256
    )
    return found is not None


def _not_attached(data: EquipmentScanResolved, refused: ServiceError) -> None:
    metrics.REFUSED.labels(reason(refused)).inc()
    log.warning(
        "the photo of scan %s was not attached to asset %s: %s",
        data.scan_id,
        data.equipment_id,
        refused.info.message,
    )


async def _store(
    ctx: Ctx,
    event: EventEnvelope[Any],
    data: EquipmentScanResolved,
    uploader: Any,
    prepared: Prepared,
    sha256: str,
) -> None:
    assert event.org_id is not None
    assert data.equipment_id is not None
    org_id, state = event.org_id, ctx.state
    attachment_id = rules.new_id()
    keys = {
        part.rendition: rules.object_key(org_id, attachment_id, part.rendition)
        for part in prepared.parts
    }
    stored = False
    try:
        await storage.put_all(state.files, [(keys[p.rendition], p.data) for p in prepared.parts])
        async with ctx.transaction() as conn:
            usage = await repo.lock_usage(conn, org_id)
            if await _attached(conn, event, data, sha256):
                raise _AlreadyAttached
            rules.check_quota(
                usage["bytes_used"], prepared.stored, state.settings.attachment_org_quota_bytes
            )
            row = await repo.insert_attachment(
                conn,
                row_values(
                    org_id=org_id,
                    uploader_id=uploader,
                    record_kind=RecordKind.EQUIPMENT,
                    record_id=data.equipment_id,
                    filename=_filename(data),
                    caption=CAPTION,
                    attachment_id=attachment_id,
                    prepared=prepared,
                    keys=keys,
                ),
            )
            await repo.change_usage(conn, org_id, prepared.stored, 1)
            await ctx.emit(Events.ATTACHMENT_ADDED, added(row), org_id=org_id)
        stored = True
    except _AlreadyAttached:
        pass
    except ServiceError as refused:
        if refused.code is not ErrorCode.PAYLOAD_TOO_LARGE:
            raise
        _not_attached(data, refused)
    finally:
        if not stored:
            await asyncio.shield(delete_quietly(state, list(keys.values())))
    if stored:
        metrics.ADDED.labels(prepared.kind.value).inc()
        metrics.ADDED_BYTES.inc(prepared.stored)


class _AlreadyAttached(Exception):
    """The photo became an attachment of the asset while this one was being prepared."""
