"""OCR service contracts: nameplate photos in, structured fields out, and the scan's fate."""

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import Field

from .assets import Criticality, EquipmentPatch, MatchOutcome, Ratings
from .base import EventData, Request, View
from .identity import Role
from .spec import EventSpec, RpcSpec
from .subjects import Events, Rpc
from .wire import Outcome

PHOTO_BUCKET = "PHOTOS"
"""The object store of nameplate photos as the OCR service re-encoded them (namespaced like
streams): the OCR service writes it; the attachments service reads a scanned photo from it to
attach it to the asset the scan created or matched."""
CORE_FIELDS = ("manufacturer", "model", "serial")
"""A scan needs review unless these are read with enough confidence."""


class ScanStatus(StrEnum):
    QUEUED = "queued"
    """Photo accepted; waiting for an OCR worker."""
    NEEDS_REVIEW = "needs_review"
    """Read, but manufacturer/model/serial are unsure: confirm or correct them."""
    MATCHING = "matching"
    """Read (or confirmed); the assets service is deciding create or match."""
    RESOLVED = "resolved"
    """Outcome known: created, matched or possible duplicates."""
    FAILED = "failed"
    """The photo could not be read."""


class ScannedField(View):
    value: str
    confidence: float = Field(description="0-1: OCR confidence times how the value was found.")


class ScanFields(View):
    """What the parser read, field by field (absent: not found on the plate)."""

    manufacturer: ScannedField | None = None
    model: ScannedField | None = None
    serial: ScannedField | None = None
    voltage: ScannedField | None = None
    amps: ScannedField | None = None
    power: ScannedField | None = None
    power_unit: ScannedField | None = None
    rpm: ScannedField | None = None
    phase: ScannedField | None = None
    hz: ScannedField | None = None
    frame: ScannedField | None = None
    year: ScannedField | None = None
    enclosure: ScannedField | None = None
    service_factor: ScannedField | None = None
    efficiency: ScannedField | None = None
    insulation_class: ScannedField | None = None


class QualityNote(View):
    code: str = Field(description="blurry, dark, overexposed, rotated, low_resolution, ...")
    message: str


class RawLine(View):
    text: str
    confidence: float


class SubmitNameplate(Request):
    """Start a scan of a photo already in the upload store (the gateway or bot put it there)."""

    upload_key: str = Field(max_length=200, description="Key of the uploaded photo.")
    location: str | None = Field(
        default=None, max_length=200, description="Where the asset is (e.g. the photo caption)."
    )


class GetScan(Request):
    scan_id: UUID = Field(description="The scan returned by the upload.")


class ScanConfirmation(Request):
    """Confirm or correct what a scan read; the corrected record then goes through
    create-or-match like any other."""

    corrections: EquipmentPatch = Field(
        default_factory=EquipmentPatch, description="Fields to use instead of what was read."
    )
    criticality: Criticality | None = Field(default=None, description="Set on the new asset.")
    merge_into: UUID | None = Field(
        default=None, description="The caller chose this existing asset (possible duplicates)."
    )
    create_anyway: bool = Field(
        default=False, description="Create a new asset even if possible duplicates exist."
    )


class ConfirmScan(ScanConfirmation):
    scan_id: UUID = Field(description="The scan to confirm.")


class ScanCandidate(View):
    equipment_id: UUID
    number: str
    manufacturer: str
    model: str | None
    serial: str | None
    location: str | None
    score: float


class ScanView(View):
    id: UUID
    status: ScanStatus
    location: str | None
    fields: ScanFields = Field(default_factory=ScanFields)
    lines: list[RawLine] = Field(default_factory=list)
    quality: list[QualityNote] = Field(default_factory=list)
    needs_review: list[str] = Field(
        default_factory=list, description="Core fields read without enough confidence."
    )
    outcome: MatchOutcome | None = None
    equipment_id: UUID | None = None
    equipment_number: str | None = None
    candidates: list[ScanCandidate] = Field(default_factory=list)
    photo_ref: str | None = None
    error: str | None = None
    seconds: dict[str, float] = Field(default_factory=dict, description="Time per stage.")
    created_at: datetime
    updated_at: datetime


# --- events -------------------------------------------------------------------------------


class NameplateUploaded(EventData):
    scan_id: UUID
    photo_ref: str = Field(description="Key of the re-encoded photo in the photo store.")
    location: str | None = None
    requested_by: UUID | None = None


class NameplateScanned(EventData):
    """What a scan read. With ``needs_review`` empty, assets answers with create-or-match;
    a confirmation publishes this again with the corrected record and ``confirmed`` set."""

    scan_id: UUID
    manufacturer: str | None
    model: str | None
    serial: str | None
    ratings: Ratings = Field(default_factory=Ratings)
    confidence: dict[str, float] = Field(default_factory=dict)
    needs_review: list[str] = Field(default_factory=list)
    location: str | None = None
    photo_ref: str | None = None
    confirmed: bool = False
    criticality: Criticality | None = None
    merge_into: UUID | None = None
    create_anyway: bool = False
    corrections: EquipmentPatch | None = Field(
        default=None, description="Everything the reviewer set (name, type, ...)."
    )


class EquipmentScanResolved(EventData):
    """Assets' answer to a ``nameplate.scanned``: what create-or-match decided."""

    scan_id: UUID
    outcome: MatchOutcome | None = Field(default=None, description="None when refused.")
    equipment_id: UUID | None = None
    equipment_number: str | None = None
    score: float | None = None
    candidates: list[ScanCandidate] = Field(default_factory=list)
    error: str | None = Field(default=None, description="Why the record was refused, if so.")
    photo_ref: str | None = Field(
        default=None,
        description="Key of the scan's photo in the photo store: the attachments service "
        "attaches it to the created or matched asset.",
    )


RPCS: tuple[RpcSpec[Any, Any], ...] = (
    SUBMIT := RpcSpec(Rpc.OCR_SUBMIT, SubmitNameplate, ScanView,
            "Accept a nameplate photo for scanning (checks and re-encodes it).", Role.TECHNICIAN,
            outcome=Outcome.ACCEPTED),
    GET_SCAN := RpcSpec(Rpc.OCR_GET_SCAN, GetScan, ScanView,
            "A scan: fields, quality, outcome; Rivet-Outcome `accepted` while it is "
            "still being read or matched."),
    CONFIRM := RpcSpec(Rpc.OCR_CONFIRM, ConfirmScan, ScanView,
            "Confirm or correct a scan's fields; then create-or-match.", Role.TECHNICIAN,
            outcome=Outcome.ACCEPTED),
)  # fmt: skip

EVENTS: tuple[EventSpec, ...] = (
    # the OCR worker's queue (a key of the photo store): not exported
    EventSpec(Events.NAMEPLATE_UPLOADED, NameplateUploaded, "A nameplate photo awaits OCR.",
              exported=False),
    EventSpec(Events.NAMEPLATE_SCANNED, NameplateScanned,
              "OCR read a nameplate (or a person confirmed the reading).", exported=True),
    # the pipeline's answer to OCR; the asset is announced by equipment.created / .matched
    EventSpec(Events.EQUIPMENT_SCAN_RESOLVED, EquipmentScanResolved,
              "Assets decided what a scanned nameplate is: created, matched or duplicates.",
              exported=False),
)  # fmt: skip
