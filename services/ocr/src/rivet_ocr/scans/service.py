"""Rules of a scan's life. Units of work are the runtime's, except where a step has slow I/O
(``submit``: the upload, the re-encoding and the photo store come before its transaction).

queued --(OCR worker)--> needs_review | matching --(assets answers)--> resolved
needs_review --(a person confirms or corrects)--> matching
"""

import asyncio
from typing import Any
from uuid import UUID, uuid4

from rivet_contracts import ErrorCode, Events, Identity, ServiceError
from rivet_contracts.assets import MatchOutcome, Ratings
from rivet_contracts.ocr import (
    CORE_FIELDS,
    ConfirmScan,
    EquipmentScanResolved,
    NameplateScanned,
    NameplateUploaded,
    ScanStatus,
    ScanView,
    SubmitNameplate,
)
from rivet_runtime import UnitOfWork

from ..intake import photos
from ..state import OcrState
from . import repository as repo
from .views import to_view

Uow = UnitOfWork[OcrState]
RATINGS = tuple(Ratings.model_fields.keys() - {"extra"})


async def submit(uow: Uow, caller: Identity, req: SubmitNameplate) -> ScanView:
    """Clean and store the photo (slow: no transaction open), then record the scan and
    announce it in one short unit of work."""
    state, settings = uow.state, uow.state.settings
    data = await state.uploads.get(req.upload_key)
    photo = await asyncio.to_thread(
        photos.clean,
        data,
        max_bytes=settings.photo_max_bytes,
        max_pixels=settings.photo_max_pixels,
        max_side=settings.photo_max_side,
    )
    scan_id = uuid4()
    photo_ref = await state.photos.put(
        photo.jpeg, prefix="nameplates", key=f"nameplates/{caller.org_id}/{scan_id}.jpg"
    )
    uploads = state.uploads
    async with uow.transaction():
        row = await repo.insert_scan(
            uow.conn,
            id=scan_id,
            org_id=caller.org_id,
            requested_by=caller.user_id,
            status=ScanStatus.QUEUED.value,
            location=req.location,
            photo_ref=photo_ref,
        )
        await uow.emit(
            Events.NAMEPLATE_UPLOADED,
            NameplateUploaded(
                scan_id=scan_id,
                photo_ref=photo_ref,
                location=req.location,
                requested_by=caller.user_id,
            ),
            org_id=caller.org_id,
        )
        uow.after_commit.append(lambda: _forget(uploads.delete(req.upload_key)))
    return to_view(row)


def _forget(coroutine: Any) -> None:
    """Fire-and-forget cleanup (the upload bucket's TTL catches anything missed)."""
    task = asyncio.ensure_future(coroutine)
    task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)


async def get(uow: Uow, org_id: UUID, scan_id: UUID) -> ScanView:
    row = await repo.get(uow.conn, org_id, scan_id)
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"scan {scan_id} not found")
    return to_view(row)


def needs_review(fields: dict[str, Any], threshold: float) -> list[str]:
    """Core fields missing or read with confidence below ``threshold``."""
    return [
        name
        for name in CORE_FIELDS
        if not fields.get(name) or float(fields[name].get("confidence", 0)) < threshold
    ]


def scanned_event(scan_id: UUID, row_fields: dict[str, Any], **extra: Any) -> NameplateScanned:
    def value(name: str) -> str | None:
        found = row_fields.get(name)
        return found["value"] if found else None

    ratings = Ratings.model_validate({k: value(k) for k in RATINGS if value(k)})
    return NameplateScanned(
        scan_id=scan_id,
        manufacturer=value("manufacturer"),
        model=value("model"),
        serial=value("serial"),
        ratings=ratings,
        confidence={k: float(v["confidence"]) for k, v in row_fields.items() if v},
        **extra,
    )


async def confirm(uow: Uow, caller: Identity, req: ConfirmScan) -> ScanView:
    row = await repo.get(uow.conn, caller.org_id, req.scan_id)
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"scan {req.scan_id} not found")
    reviewable = row["status"] == ScanStatus.NEEDS_REVIEW.value or (
        row["status"] == ScanStatus.RESOLVED.value
        and row["outcome"] == MatchOutcome.POSSIBLE_DUPLICATES.value
    )
    if not reviewable:
        raise ServiceError(
            ErrorCode.INVALID_TRANSITION,
            f"scan is {row['status']}; only scans that need review or found possible "
            "duplicates can be confirmed",
            details={"status": row["status"]},
        )
    corrections = req.corrections.model_dump(exclude_unset=True)
    event = scanned_event(
        row["id"],
        row["fields"],
        location=corrections.get("location", row["location"]),
        photo_ref=row["photo_ref"],
        confirmed=True,
        criticality=req.criticality,
        merge_into=req.merge_into,
        create_anyway=req.create_anyway,
        corrections=req.corrections,
    )
    for name in CORE_FIELDS:
        if name in corrections:
            setattr(event, name, corrections[name])
    if not event.manufacturer and req.merge_into is None:
        raise ServiceError(
            ErrorCode.VALIDATION, "the manufacturer is needed: give it in corrections"
        )
    changed = await repo.change(uow.conn, row["id"], status=ScanStatus.MATCHING.value, error=None)
    await uow.emit(Events.NAMEPLATE_SCANNED, event, org_id=caller.org_id)
    return to_view(changed)


async def resolved(uow: Uow, event: EquipmentScanResolved) -> None:
    """Record assets' answer (idempotent: a replay writes the same values)."""
    row = await repo.lock(uow.conn, event.scan_id)
    if row is None:
        return
    if event.error:
        await repo.change(
            uow.conn, row["id"], status=ScanStatus.NEEDS_REVIEW.value, error=event.error
        )
        return
    await repo.change(
        uow.conn,
        row["id"],
        status=ScanStatus.RESOLVED.value,
        outcome=event.outcome.value if event.outcome else None,
        equipment_id=event.equipment_id,
        equipment_number=event.equipment_number,
        candidates=[c.model_dump(mode="json") for c in event.candidates],
        error=None,
    )
