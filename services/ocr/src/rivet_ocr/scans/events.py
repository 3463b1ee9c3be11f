"""Event handlers: the OCR worker (``nameplate.uploaded``) and the scan's outcome
(``equipment.scan_resolved``). Workers in several processes share the durable consumer, so
scans spread over however many replicas run."""

from uuid import UUID

from sqlalchemy.engine import RowMapping

from rivet_contracts import Events
from rivet_contracts.envelope import EventEnvelope
from rivet_contracts.ocr import EquipmentScanResolved, NameplateUploaded, ScanStatus
from rivet_runtime import EventContext, EventRouter

from ..metrics import SCANS, STAGE_SECONDS
from ..reader import Reading, UnreadablePhoto
from ..state import OcrState
from . import repository as repo
from . import service

router: EventRouter[OcrState] = EventRouter()
CONSUMER = "ocr-worker"
"""The durable consumer that reads the photos."""
Ctx = EventContext[OcrState]


@router.on(Events.NAMEPLATE_UPLOADED, consumer=CONSUMER, own_transaction=True)
async def scan(event: EventEnvelope[NameplateUploaded], ctx: Ctx) -> None:
    """Read the photo and run OCR with no transaction open (half a second of CPU holds no
    connection and no lock), then lock the scan, check it still waits, and write."""
    upload = event.data
    async with ctx.reading() as conn:
        row = await repo.find(conn, upload.scan_id)
    if row is None or row["status"] != ScanStatus.QUEUED.value:
        return  # unknown, or already read (a redelivery)
    photo = await ctx.state.photos.get(upload.photo_ref)
    try:
        reading = await ctx.state.reader.read(photo)
    except UnreadablePhoto as exc:
        async with ctx.transaction():
            if await _still_queued(ctx, upload.scan_id):
                SCANS.labels("failed").inc()
                await repo.change(
                    ctx.conn, upload.scan_id, status=ScanStatus.FAILED.value, error=str(exc)
                )
        return
    async with ctx.transaction():
        if await _still_queued(ctx, upload.scan_id):
            await _record(ctx, event, row, reading)


async def _still_queued(ctx: Ctx, scan_id: UUID) -> bool:
    """Lock the scan; False when another worker finished it while this one read the photo."""
    row = await repo.lock(ctx.conn, scan_id)
    return row is not None and row["status"] == ScanStatus.QUEUED.value


async def _record(
    ctx: Ctx, event: EventEnvelope[NameplateUploaded], row: RowMapping, reading: Reading
) -> None:
    for stage, seconds in reading.seconds.items():
        STAGE_SECONDS.labels(stage).observe(seconds)
    review = service.needs_review(reading.fields, ctx.state.settings.review_confidence)
    status = ScanStatus.NEEDS_REVIEW if review else ScanStatus.MATCHING
    SCANS.labels(status.value).inc()
    await repo.change(
        ctx.conn,
        row["id"],
        status=status.value,
        fields=reading.fields,
        lines=reading.lines,
        quality=reading.quality,
        needs_review=review,
        seconds=reading.seconds,
    )
    await ctx.emit(
        Events.NAMEPLATE_SCANNED,
        service.scanned_event(
            row["id"],
            reading.fields,
            needs_review=review,
            location=row["location"],
            photo_ref=row["photo_ref"],
        ),
        org_id=event.org_id,
    )


@router.on(Events.EQUIPMENT_SCAN_RESOLVED, consumer="ocr-scan-outcomes")
async def outcome(event: EventEnvelope[EquipmentScanResolved], ctx: Ctx) -> None:
    await service.resolved(ctx, event.data)
