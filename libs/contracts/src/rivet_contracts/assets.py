"""Assets service contracts: the equipment registry, create-or-match, search, CSV import."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from .attachments import AttachmentKind
from .base import EventData, Request, View
from .identity import Role
from .spec import EventSpec, RpcSpec
from .subjects import Events, Rpc
from .wire import Outcome

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
EquipmentRef = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
]  # an id (UUID) or an equipment number (EQ-2026-000123)
EquipmentNumber = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"(?i)^EQ-[0-9]{4}-[0-9]{6}$"),
]  # a number as ``refs.format_number`` writes it: EQ-<year>-<6 digits>


class Criticality(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class EquipmentStatus(StrEnum):
    IN_SERVICE = "in_service"
    OUT_OF_SERVICE = "out_of_service"
    RETIRED = "retired"


class Source(StrEnum):
    API = "api"
    TELEGRAM = "telegram"
    NAMEPLATE = "nameplate"
    IMPORT = "import"


class MatchOutcome(StrEnum):
    CREATED = "created"
    MATCHED = "matched"
    POSSIBLE_DUPLICATES = "possible_duplicates"


class Ratings(View):
    """Nameplate ratings, kept as printed where units or dual values matter."""

    voltage: str | None = Field(default=None, max_length=40, description="e.g. `230/460`.")
    amps: str | None = Field(default=None, max_length=40, description="e.g. `117/58.5`.")
    power: str | None = Field(default=None, max_length=20, description="Number, e.g. `40`.")
    power_unit: str | None = Field(default=None, max_length=8, description="`HP` or `kW`.")
    rpm: str | None = Field(default=None, max_length=20, description="Rated speed.")
    phase: str | None = Field(default=None, max_length=4, description="`1` or `3`.")
    hz: str | None = Field(default=None, max_length=10, description="`50`, `60`, `50/60`.")
    frame: str | None = Field(default=None, max_length=20, description="NEMA/IEC frame.")
    year: str | None = Field(default=None, max_length=10, description="Year of manufacture.")
    enclosure: str | None = Field(default=None, max_length=20, description="TEFC, ODP, IP55...")
    service_factor: str | None = Field(default=None, max_length=10, description="e.g. `1.15`.")
    efficiency: str | None = Field(default=None, max_length=20, description="e.g. `IE3 93.6%`.")
    insulation_class: str | None = Field(default=None, max_length=4, description="A/B/F/H.")
    extra: dict[str, str] = Field(default_factory=dict, description="Other printed ratings.")


class EquipmentFields(Request):
    """What a caller may set on an asset. Identity, number, source, photo and timestamps are
    the service's to set. Retirement and reinstatement have their own requests (admins, with
    a reason): here ``status`` moves an asset only between in and out of service."""

    manufacturer: Text100 = Field(description="Brand; aliases become the canonical name.")
    model: Text100 | None = Field(default=None, description="Model or catalog number.")
    serial: Text100 | None = Field(default=None, description="Serial number as printed.")
    name: Text200 | None = Field(default=None, description="Short name, e.g. `Feed pump 2`.")
    equipment_type: Text100 | None = Field(default=None, description="motor, pump, VFD, ...")
    location: Text200 | None = Field(default=None, description="e.g. `Plant 2 / Line 3`.")
    department: Text100 | None = Field(default=None, description="Owning department.")
    criticality: Criticality = Field(default=Criticality.MEDIUM, description="Business impact.")
    status: EquipmentStatus = Field(
        default=EquipmentStatus.IN_SERVICE,
        description="`in_service` or `out_of_service`; `retired` only through the retire route.",
    )
    parent_id: UUID | None = Field(default=None, description="Parent asset (line -> machine).")
    installed_on: date | None = Field(default=None, description="Installation date.")
    ratings: Ratings = Field(default_factory=Ratings, description="Nameplate ratings.")


class EquipmentPatch(Request):
    """PATCH body: only the fields present change; ``null`` clears a field."""

    manufacturer: Text100 | None = Field(default=None, description="Cannot be cleared.")
    model: Text100 | None = Field(default=None, description="Model or catalog number.")
    serial: Text100 | None = Field(default=None, description="Serial number as printed.")
    name: Text200 | None = Field(default=None, description="Short name.")
    equipment_type: Text100 | None = Field(default=None, description="motor, pump, VFD, ...")
    location: Text200 | None = Field(default=None, description="Where it is.")
    department: Text100 | None = Field(default=None, description="Owning department.")
    criticality: Criticality | None = Field(default=None, description="Business impact.")
    status: EquipmentStatus | None = Field(
        default=None, description="`in_service` or `out_of_service` (retire has its own route)."
    )
    parent_id: UUID | None = Field(default=None, description="Parent asset.")
    installed_on: date | None = Field(default=None, description="Installation date.")
    ratings: Ratings | None = Field(default=None, description="Replaces the ratings.")


class CreateEquipment(EquipmentFields):
    """Create-or-match: the same rules for every entry path (API, bot, nameplate, import)."""

    create_anyway: bool = Field(
        default=False,
        description="Create a new asset even when possible duplicates exist (after review).",
    )
    merge_into: UUID | None = Field(
        default=None, description="The caller chose this existing asset: enrich it instead."
    )
    number: SkipJsonSchema[EquipmentNumber | None] = Field(
        default=None,
        description="Import only: the number a new asset gets instead of the next one "
        "(`EQ-<year>-<6 digits>`, kept from the system the register comes from). Refused "
        "(403) unless the caller is an admin and the request comes on the `import` channel "
        "(the `rivet-dev import` command; never through the HTTP API, whose schema leaves the "
        "field out); 409 when an asset of the organization has the number.",
    )


class GetEquipment(Request):
    ref: EquipmentRef = Field(description="Asset id or equipment number (EQ-2026-000123).")


class SortKey(StrEnum):
    NUMBER = "number"
    NUMBER_DESC = "-number"
    CREATED = "created_at"
    CREATED_DESC = "-created_at"
    UPDATED_DESC = "-updated_at"
    MANUFACTURER = "manufacturer"
    CRITICALITY_DESC = "-criticality"
    LOCATION = "location"


class EquipmentFilters(Request):
    """Which assets a list or an export covers (all of the organization's by default)."""

    manufacturer: Text100 | None = Field(default=None, description="Canonical or alias name.")
    equipment_type: Text100 | None = Field(default=None, description="Exact type.")
    location: Text200 | None = Field(default=None, description="Location starts with this.")
    criticality: Criticality | None = Field(default=None, description="Exact criticality.")
    status: EquipmentStatus | None = Field(default=None, description="Exact status.")
    parent_id: UUID | None = Field(default=None, description="Children of this asset.")


class ListEquipment(EquipmentFilters):
    limit: int = Field(default=50, ge=1, le=200, description="Page size (at most 200).")
    offset: int = Field(default=0, ge=0, le=1_000_000, description="Rows to skip.")
    sort: SortKey = Field(default=SortKey.NUMBER, description="Order of the page.")


class ExportEquipment(EquipmentFilters):
    """One part of a CSV export, in equipment-number order: the part after ``after``."""

    after: EquipmentRef | None = Field(
        default=None, description="Last equipment number of the previous part (none: the first)."
    )
    limit: int = Field(default=2000, ge=1, le=5000, description="Rows in this part.")


class UpdateEquipment(Request):
    """Change an asset. PATCH sends ``patch`` (fields present change); PUT sends ``replace``
    (every field; absent ones reset to their defaults)."""

    ref: EquipmentRef = Field(description="Asset id or equipment number.")
    patch: EquipmentPatch | None = Field(default=None, description="Partial change (PATCH).")
    replace: EquipmentFields | None = Field(default=None, description="Full record (PUT).")
    expected_version: int | None = Field(
        default=None, ge=1, description="Refuse (409) if the asset changed since this version."
    )


class Retirement(Request):
    """Body of ``POST /api/equipment/{ref}/retire``."""

    reason: Text200 = Field(description="Why the asset leaves service for good.")


class RetireEquipment(Retirement):
    ref: EquipmentRef = Field(description="Asset id or equipment number.")


class Reinstatement(Request):
    """Body of ``POST /api/equipment/{ref}/reinstate``."""

    reason: Text200 = Field(description="Why a retired asset returns to service.")


class ReinstateEquipment(Reinstatement):
    ref: EquipmentRef = Field(description="Asset id or equipment number.")


class SearchEquipment(Request):
    query: Text200 = Field(
        description="Free text: number, brand, model, serial, location, type, or several."
    )
    limit: int = Field(default=10, ge=1, le=50, description="Results (at most 50).")
    offset: int = Field(
        default=0, ge=0, le=500, description="Results to skip: the `next_offset` of a page."
    )


class PictureChoice(Request):
    """Body of ``PUT /api/equipment/{ref}/picture``."""

    attachment_id: UUID | None = Field(
        description="An image attached to this asset; null: the asset shows no picture."
    )


class SetEquipmentPicture(PictureChoice):
    ref: EquipmentRef = Field(description="Asset id or equipment number.")


class GetEquipmentHistory(Request):
    ref: EquipmentRef = Field(description="Asset id or equipment number.")
    limit: int = Field(default=100, ge=1, le=500, description="Newest entries first.")


class StartImport(Request):
    """Import a CSV export stored in the upload store."""

    upload_key: str = Field(max_length=200, description="Key of the uploaded file.")
    filename: str | None = Field(default=None, max_length=255, description="Original name.")


class GetImport(Request):
    import_id: UUID = Field(description="The job returned by the import call.")
    rows_offset: int = Field(
        default=0, ge=0, le=1_000_000, description="First per-row result to return."
    )
    rows_limit: int = Field(default=1000, ge=0, le=5000, description="Per-row results to return.")


# --- replies ------------------------------------------------------------------------------


class EquipmentPicture(View):
    """The image an asset is shown with: one of its attachments, and where to fetch it."""

    attachment_id: UUID
    filename: str
    content_type: str = Field(description="Of the original, sniffed from its content.")
    width: int | None = Field(default=None, description="Pixels of the original, upright.")
    height: int | None = None
    link: str = Field(description="The attachment's API path: /api/attachments/{id}.")
    download: str = Field(description="The original: /api/attachments/{id}/content.")
    screen: str = Field(
        description="At most 1600 px: /api/attachments/{id}/content?rendition=screen."
    )
    thumbnail: str = Field(
        description="At most 256 px: /api/attachments/{id}/content?rendition=thumbnail."
    )

    @classmethod
    def of(
        cls,
        attachment_id: UUID,
        filename: str,
        content_type: str,
        width: int | None = None,
        height: int | None = None,
    ) -> "EquipmentPicture":
        link = f"/api/attachments/{attachment_id}"
        return cls(
            attachment_id=attachment_id,
            filename=filename,
            content_type=content_type,
            width=width,
            height=height,
            link=link,
            download=f"{link}/content",
            screen=f"{link}/content?rendition=screen",
            thumbnail=f"{link}/content?rendition=thumbnail",
        )


class EquipmentView(View):
    id: UUID
    org_id: UUID
    number: str = Field(description="EQ-<year>-<6 digits>, unique in the organization.")
    manufacturer: str
    model: str | None
    serial: str | None
    name: str | None
    equipment_type: str | None
    location: str | None
    department: str | None
    criticality: Criticality
    status: EquipmentStatus
    parent_id: UUID | None
    installed_on: date | None
    ratings: Ratings
    photo_ref: str | None
    source: Source
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="Increases with every change (optimistic locking).")
    attachment_count: int = Field(default=0, description="Files attached to the asset.")
    picture: EquipmentPicture | None = Field(
        default=None,
        description="The image the asset is shown with (the first image attached, or the one "
        "chosen with PUT /api/equipment/{ref}/picture); none without images.",
    )


class EquipmentPage(View):
    items: list[EquipmentView]
    total: int
    limit: int
    offset: int


class EquipmentCsvPart(View):
    """A part of a CSV export: UTF-8 text, the header line first in the first part."""

    csv: str = Field(description="CSV text; cells that a spreadsheet would run are defused.")
    rows: int = Field(description="Assets in this part.")
    next_after: str | None = Field(description="Send as `after` for the next part; none: done.")


class Candidate(View):
    equipment: EquipmentView
    score: float = Field(description="0-100; how alike the two records are.")
    reasons: list[str] = Field(description="What matched, e.g. `serial`, `model 96`.")


class CreateOrMatchResult(View):
    outcome: MatchOutcome
    equipment: EquipmentView | None = Field(
        default=None, description="The created or matched asset (none for possible duplicates)."
    )
    score: float | None = Field(default=None, description="Score of the match (0-100).")
    candidates: list[Candidate] = Field(
        default_factory=list, description="Possible duplicates, best first, for the caller."
    )
    enriched: list[str] = Field(
        default_factory=list, description="Fields a match filled in on the existing record."
    )


class SearchHit(View):
    equipment: EquipmentView
    score: float = Field(description="0-100 relevance.")
    matched_on: str = Field(description="Field that matched best.")


class SearchResult(View):
    items: list[SearchHit]
    next_offset: int | None = Field(
        default=None, description="The `offset` of the next page; null on the last one."
    )


class HistoryEntry(View):
    at: datetime
    actor_id: UUID | None
    channel: str | None
    action: str = Field(
        description="created, updated, matched, enriched, retired, reinstated, "
        "attachment_added, attachment_removed, picture_chosen."
    )
    changes: dict[str, Any] = Field(description="field -> [old, new].")
    reason: str | None = Field(default=None, description="Why: retirements, reinstatements.")


class EquipmentHistory(View):
    items: list[HistoryEntry]


class ImportRowResult(View):
    row: int = Field(description="Line number in the file (header = 1).")
    outcome: str = Field(description="created, matched, possible_duplicates or rejected.")
    equipment_number: str | None = None
    reason: str | None = None


class ImportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ImportView(View):
    id: UUID
    status: ImportStatus
    filename: str | None
    total_rows: int
    processed_rows: int
    created: int
    matched: int
    possible_duplicates: int
    rejected: int
    error: str | None = None
    columns: dict[str, str] = Field(
        default_factory=dict, description="How the file's columns were read (column -> field)."
    )
    ignored_columns: list[str] = Field(default_factory=list, description="Columns not used.")
    rows: list[ImportRowResult] = Field(
        default_factory=list,
        description="Per-row outcomes, in file order (a page: see rows_offset/rows_limit).",
    )
    created_at: datetime
    finished_at: datetime | None = None


# --- events -------------------------------------------------------------------------------


class EquipmentSnapshot(EventData):
    """What consumers need to show and find an asset without asking the assets service."""

    equipment_id: UUID
    number: str
    manufacturer: str
    model: str | None = None
    serial: str | None = None
    name: str | None = None
    equipment_type: str | None = None
    location: str | None = None
    criticality: Criticality = Criticality.MEDIUM
    status: EquipmentStatus = EquipmentStatus.IN_SERVICE
    parent_id: UUID | None = None
    version: int = 1


class EquipmentCreated(EquipmentSnapshot):
    source: Source
    scan_id: UUID | None = None


class EquipmentUpdated(EquipmentSnapshot):
    changed: list[str] = Field(description="Names of the fields that changed.")


class EquipmentMatched(EquipmentSnapshot):
    """A create-or-match call found this existing asset (and maybe enriched it)."""

    score: float
    enriched: list[str] = Field(default_factory=list)
    scan_id: UUID | None = None


class EquipmentAttachmentAdded(EquipmentSnapshot):
    """A file was attached to the asset (metadata and a link, never bytes)."""

    attachment_id: UUID
    filename: str
    content_type: str
    kind: AttachmentKind = Field(description="Sniffed from the content.")
    size_bytes: int
    caption: str | None = None
    uploader_id: UUID
    link: str = Field(description="The attachment's API path: /api/attachments/{id}.")
    attachment_count: int = Field(description="Files attached to the asset after the change.")
    picture: EquipmentPicture | None = Field(
        default=None, description="The asset's picture after the change (this file if it is)."
    )


class EquipmentAttachmentRemoved(EquipmentSnapshot):
    attachment_id: UUID
    filename: str
    kind: AttachmentKind
    size_bytes: int
    removed_by: UUID
    attachment_count: int = Field(description="Files attached to the asset after the change.")
    picture: EquipmentPicture | None = Field(
        default=None,
        description="The asset's picture after the change (the newest remaining image when "
        "the removed file was the picture; none without images).",
    )


# --- catalogue ----------------------------------------------------------------------------

RPCS: tuple[RpcSpec[Any, Any], ...] = (
    CREATE := RpcSpec(
        Rpc.ASSETS_CREATE,
        CreateEquipment,
        CreateOrMatchResult,
        "Create an asset, or match an existing one (create-or-match); Rivet-Outcome `created` "
        "when it made one.",
        Role.TECHNICIAN,
        idempotent=True,
    ),
    GET := RpcSpec(
        Rpc.ASSETS_GET, GetEquipment, EquipmentView, "One asset by id or equipment number."
    ),
    LIST := RpcSpec(
        Rpc.ASSETS_LIST, ListEquipment, EquipmentPage, "A filtered, sorted page of assets."
    ),
    EXPORT := RpcSpec(
        Rpc.ASSETS_EXPORT,
        ExportEquipment,
        EquipmentCsvPart,
        "A part of the asset register as CSV (re-importable), in number order.",
    ),
    UPDATE := RpcSpec(
        Rpc.ASSETS_UPDATE,
        UpdateEquipment,
        EquipmentView,
        "Change an asset (PATCH or PUT).",
        Role.TECHNICIAN,
    ),
    RETIRE := RpcSpec(
        Rpc.ASSETS_RETIRE,
        RetireEquipment,
        EquipmentView,
        "Retire an asset (assets are never deleted).",
        Role.ADMIN,
    ),
    REINSTATE := RpcSpec(
        Rpc.ASSETS_REINSTATE,
        ReinstateEquipment,
        EquipmentView,
        "Return a retired asset to service.",
        Role.ADMIN,
    ),
    SEARCH := RpcSpec(
        Rpc.ASSETS_SEARCH,
        SearchEquipment,
        SearchResult,
        "Typo-tolerant search over number, brand, model, serial, location.",
    ),
    HISTORY := RpcSpec(
        Rpc.ASSETS_HISTORY,
        GetEquipmentHistory,
        EquipmentHistory,
        "Who changed what on an asset, newest first.",
    ),
    SET_PICTURE := RpcSpec(
        Rpc.ASSETS_SET_PICTURE,
        SetEquipmentPicture,
        EquipmentView,
        "Choose which of an asset's images it is shown with (or none).",
        Role.TECHNICIAN,
    ),
    IMPORT_START := RpcSpec(
        Rpc.ASSETS_IMPORT_START,
        StartImport,
        ImportView,
        "Start importing an uploaded CSV file.",
        Role.ADMIN,
        outcome=Outcome.ACCEPTED,
    ),
    IMPORT_GET := RpcSpec(
        Rpc.ASSETS_IMPORT_GET,
        GetImport,
        ImportView,
        "Progress and per-row results of an import; Rivet-Outcome `accepted` while it is "
        "queued or running.",
        Role.ADMIN,
    ),
)

EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        Events.EQUIPMENT_CREATED,
        EquipmentCreated,
        "A new asset entered the registry.",
        exported=True,
    ),
    EventSpec(
        Events.EQUIPMENT_UPDATED,
        EquipmentUpdated,
        "An asset changed (including retirement and reinstatement).",
        exported=True,
    ),
    EventSpec(
        Events.EQUIPMENT_MATCHED,
        EquipmentMatched,
        "Create-or-match found an existing asset (possibly enriching it).",
        exported=True,
    ),
    EventSpec(
        Events.EQUIPMENT_ATTACHMENT_ADDED,
        EquipmentAttachmentAdded,
        "A file was attached to an asset.",
        exported=True,
    ),
    EventSpec(
        Events.EQUIPMENT_ATTACHMENT_REMOVED,
        EquipmentAttachmentRemoved,
        "An attachment was removed from an asset.",
        exported=True,
    ),
)
