"""Event handlers: the OCR worker (``nameplate.uploaded``) and the scan's outcome
(``equipment.scan_resolved``). Workers in several processes share the durable consumer, so
scans spread over however many replicas run."""

from rivet_contracts import Events
from rivet_contracts.envelope import EventEnvelope
from rivet_contracts.ocr import EquipmentScanResolved, NameplateUploaded, ScanStatus
from rivet_runtime import EventContext, EventRouter

from ..metrics import SCANS, STAGE_SECONDS
from ..reader import UnreadablePhoto
from ..state import OcrState
from . import repository as repo
from . import service

router: EventRouter[OcrState] = EventRouter()
Ctx = EventContext[OcrState]


@router.on(Events.NAMEPLATE_UPLOADED, consumer="ocr-worker")
async def scan(event: EventEnvelope[NameplateUploaded], ctx: Ctx) -> None:
    upload = event.data
    row = await repo.lock(ctx.conn, upload.scan_id)
    if row is None or row["status"] != ScanStatus.QUEUED.value:
        return  # unknown, or already read (a redelivery)
    photo = await ctx.state.photos().get(upload.photo_ref)
    try:
        reading = await ctx.state.reader.read(photo)
    except UnreadablePhoto as exc:
        SCANS.labels("failed").inc()
        await repo.change(ctx.conn, row["id"], status=ScanStatus.FAILED.value, error=str(exc))
        return
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
