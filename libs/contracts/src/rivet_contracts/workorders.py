"""Work orders service contracts: the work order lifecycle, its timeline, stats and KPIs."""

import hashlib
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Final
from uuid import UUID

from pydantic import AwareDatetime, BeforeValidator, Field, StringConstraints, model_validator
from pydantic.json_schema import SkipJsonSchema

from .assets import CreateEquipment, Criticality, EquipmentRef
from .attachments import AttachmentKind
from .base import EventData, Request, View
from .identity import Role
from .spec import EventSpec, RpcSpec
from .subjects import Events, Rpc
from .wire import Outcome

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000)]
Comment = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5_000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1_000)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Symptom = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
WorkOrderRef = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
]  # an id (UUID) or a work order number (WO-2026-000123)
WorkOrderNumber = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"(?i)^WO-[0-9]{4}-[0-9]{6}$"),
]  # a number as ``refs.format_number`` writes it: WO-<year>-<6 digits>
Hours = Annotated[float, Field(ge=0, le=10_000)]
IdempotencyKey = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=r"^[ -~]+$")
]  # printable ASCII, like an HTTP header value
ItemText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
ItemNote = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1_000)]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
Reading = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-1e12, le=1e12)]
ChecklistItemRef = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
]  # a position (1 = the first item) or an item id (UUID)
MAX_CHECKLIST_ITEMS: Final = 100


def legacy_entry_id(sequence: int) -> UUID:
    """The id that migration 0002 of the work orders service gave the timeline entry whose id
    was the integer ``sequence`` (ids were one sequence for all organizations until then):
    the first 16 bytes of SHA-256 of ``rivet-timeline-entry:<sequence>``."""
    return UUID(bytes=hashlib.sha256(f"rivet-timeline-entry:{sequence}".encode()).digest()[:16])


def _entry_id(value: object) -> object:
    # an integer is an id from before migration 0002 (an event published before the upgrade,
    # or a reply of an instance of the previous release during a rolling upgrade)
    if isinstance(value, int) and not isinstance(value, bool):
        return legacy_entry_id(value)
    return value


EntryId = Annotated[
    UUID,
    BeforeValidator(_entry_id),
    Field(description="Id of the timeline entry: opaque, unique, in no particular order."),
]


class WorkOrderStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


OPEN_STATUSES: Final = frozenset(
    {WorkOrderStatus.OPEN, WorkOrderStatus.IN_PROGRESS, WorkOrderStatus.ON_HOLD}
)
"""Statuses that count as backlog (not completed, not cancelled). The one list of them: SQL
renders it from here (``OPEN_STATUS_VALUES``), never by hand."""

OPEN_STATUS_VALUES: Final[tuple[str, ...]] = tuple(
    s.value for s in WorkOrderStatus if s in OPEN_STATUSES
)
"""``OPEN_STATUSES`` as values in the enum's order (``open``, ``in_progress``, ``on_hold``): a
stable order for SQL built from them."""


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class WorkType(StrEnum):
    """Corrective work repairs a failure (reactive); the others are planned."""

    CORRECTIVE = "corrective"
    PREVENTIVE = "preventive"
    PREDICTIVE = "predictive"
    INSPECTION = "inspection"


class TimelineKind(StrEnum):
    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    ASSIGNED = "assigned"
    COMMENT = "comment"
    UPDATED = "updated"
    CHECKLIST_ITEM = "checklist_item"
    CHECKLIST_OVERRIDE = "checklist_override"
    ATTACHMENT_ADDED = "attachment_added"
    ATTACHMENT_REMOVED = "attachment_removed"


class ChecklistKind(StrEnum):
    """What a checklist item records: done or not, a verdict, or a reading."""

    CHECK = "check"
    PASS_FAIL = "pass_fail"  # noqa: S105 - a kind of item
    NUMBER = "number"


class PassFail(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict
    FAIL = "fail"


class WorkOrderSort(StrEnum):
    NEWEST = "-created_at"
    OLDEST = "created_at"
    DUE = "due_at"


# --- requests -----------------------------------------------------------------------------


class ChecklistItem(Request):
    """One step of a work order's checklist, as given when the order is opened."""

    text: ItemText = Field(description="What to do or check (1-500 characters).")
    required: bool = Field(
        default=False, description="The order cannot be completed until this item is done."
    )
    kind: ChecklistKind = Field(
        default=ChecklistKind.CHECK,
        description="`check` (done or not), `pass_fail` (a verdict) or `number` (a reading).",
    )
    low: Reading | None = Field(default=None, description="`number` items: lowest good reading.")
    high: Reading | None = Field(default=None, description="`number` items: highest good reading.")
    unit: Unit | None = Field(default=None, description="`number` items: unit, e.g. `mm/s`.")

    @model_validator(mode="after")
    def _limits(self) -> "ChecklistItem":
        limits = (self.low, self.high, self.unit)
        if self.kind is not ChecklistKind.NUMBER and any(x is not None for x in limits):
            raise ValueError("`low`, `high` and `unit` are for `number` items only")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError("`low` must not be above `high`")
        return self


class CreateWorkOrder(Request):
    """Open a work order against an asset: give ``equipment_id`` (an id or an EQ-number) or
    ``equipment`` (manufacturer, model, serial, ...), which goes through the assets service's
    create-or-match first.

    With an ``idempotency_key`` (or the ``Idempotency-Key`` HTTP header) a create may be sent
    again safely: a key already used in the organization answers with the order it created (the
    same id and number, as the order is now; no second ``wo.created``), also when the two
    requests race. The same key with a different request is refused with
    ``idempotency_key_reused`` (HTTP 422), and nothing is created. Unlike the runtime's 24-hour
    keys of other creates, this key is kept with the order for good."""

    equipment_id: EquipmentRef | None = Field(
        default=None, description="Existing asset: its id or equipment number (EQ-2026-000123)."
    )
    equipment: CreateEquipment | None = Field(
        default=None,
        description="The asset as seen (manufacturer, model, serial, ...): matched to a "
        "registered asset or registered. Possible duplicates are answered with 409 and the "
        "candidates; send again with `merge_into` or `create_anyway`, or use `equipment_id`.",
    )
    title: Title = Field(description="What is wrong or what to do, in a line.")
    description: LongText | None = Field(default=None, description="Details.")
    fault_codes: list[Code] = Field(
        default_factory=list, max_length=20, description="Fault or alarm codes, e.g. `F0001`."
    )
    symptoms: list[Symptom] = Field(
        default_factory=list, max_length=20, description="Observed symptoms, e.g. `noise`."
    )
    priority: Priority = Field(
        default=Priority.MEDIUM, description="Sets the default due date (see docs)."
    )
    work_type: WorkType = Field(
        default=WorkType.CORRECTIVE, description="Corrective (a failure) or planned work."
    )
    due_at: AwareDatetime | None = Field(
        default=None, description="Deadline; defaults to creation time plus the priority's offset."
    )
    assignee_id: UUID | None = Field(
        default=None, description="Who does the work (technicians may only name themselves)."
    )
    estimated_hours: Hours | None = Field(default=None, description="Planned labour, hours.")
    downtime_start: AwareDatetime | None = Field(
        default=None, description="When the equipment went down, if it is down."
    )
    checklist: list[ChecklistItem] = Field(
        default_factory=list,
        max_length=MAX_CHECKLIST_ITEMS,
        description="Steps to do or check, in order (at most 100).",
    )
    plan_id: UUID | None = Field(
        default=None,
        description="The maintenance plan this order carries out (set by the maintenance "
        "service when a plan's occurrence opens the order).",
    )
    idempotency_key: IdempotencyKey | None = Field(
        default=None,
        description="Makes the create safe to repeat: 1-255 printable ASCII characters, unique "
        "per organization, kept for good. A key used before answers with the order it created "
        "(no second order); the same key with a different request is refused with 422 "
        "`idempotency_key_reused`.",
    )
    number: SkipJsonSchema[WorkOrderNumber | None] = Field(
        default=None,
        description="Import only: the number the order gets instead of the next one "
        "(`WO-<year>-<6 digits>`, kept from the system the orders come from). Refused (403) "
        "unless the caller is an admin and the request comes on the `import` channel (the "
        "`rivet-dev import` command; never through the HTTP API, whose schema leaves the field "
        "out); 409 when an order of the organization has the number.",
    )

    @model_validator(mode="after")
    def _one_equipment(self) -> "CreateWorkOrder":
        if (self.equipment_id is None) == (self.equipment is None):
            raise ValueError("give exactly one of `equipment_id` or `equipment`")
        return self


class GetWorkOrder(Request):
    ref: WorkOrderRef = Field(description="Work order id or number (WO-2026-000123).")


class ListWorkOrders(Request):
    status: list[WorkOrderStatus] | None = Field(
        default=None, max_length=5, description="Any of these statuses."
    )
    priority: list[Priority] | None = Field(
        default=None, max_length=4, description="Any of these priorities."
    )
    work_type: WorkType | None = Field(default=None, description="Exact work type.")
    assignee_id: UUID | None = Field(default=None, description="Assigned to this user.")
    equipment_id: EquipmentRef | None = Field(
        default=None, description="On this asset (id or equipment number)."
    )
    overdue: bool | None = Field(
        default=None, description="true: open and past due; false: everything else."
    )
    sort: WorkOrderSort = Field(default=WorkOrderSort.NEWEST, description="Order of the page.")
    limit: int = Field(default=50, ge=1, le=200, description="Page size (at most 200).")
    offset: int = Field(default=0, ge=0, le=100_000, description="Rows to skip.")


class ListEquipmentWorkOrders(Request):
    equipment_id: EquipmentRef = Field(description="Asset id or equipment number.")
    status: list[WorkOrderStatus] | None = Field(
        default=None, max_length=5, description="Any of these statuses."
    )
    limit: int = Field(default=50, ge=1, le=200, description="Page size (at most 200).")
    offset: int = Field(default=0, ge=0, le=100_000, description="Rows to skip.")


class WorkOrderChanges(Request):
    """PUT/PATCH body: only the fields present change; ``null`` clears a clearable field.

    A status change to ``cancelled`` and a reopening (to ``open``) need a ``reason``. Planning
    fields (priority, due date, title, description, work type) are for admins; technicians may
    change status, add notes, take or drop an order themselves and record hours and downtime.
    """

    status: WorkOrderStatus | None = Field(default=None, description="New status (see docs).")
    reason: Reason | None = Field(
        default=None, description="Why (required to cancel or reopen; 3-1000 characters)."
    )
    note: Comment | None = Field(default=None, description="Adds a note to the timeline.")
    assignee_id: UUID | None = Field(
        default=None, description="Assign to this user; `null` unassigns."
    )
    priority: Priority | None = Field(default=None, description="New priority (admins).")
    due_at: AwareDatetime | None = Field(default=None, description="New deadline (admins).")
    title: Title | None = Field(default=None, description="New title (admins).")
    description: LongText | None = Field(default=None, description="New description (admins).")
    work_type: WorkType | None = Field(default=None, description="New work type (admins).")
    estimated_hours: Hours | None = Field(default=None, description="Planned labour, hours.")
    labour_hours: Hours | None = Field(default=None, description="Labour spent so far, hours.")
    downtime_start: AwareDatetime | None = Field(default=None, description="Equipment down from.")
    downtime_end: AwareDatetime | None = Field(default=None, description="Equipment back up at.")
    expected_version: int | None = Field(
        default=None, ge=1, description="Refuse (409) if the order changed since this version."
    )
    override_reason: Reason | None = Field(
        default=None,
        description="Admins, with `status: completed`: complete although required checklist "
        "items are open, saying why (3-1000 characters; recorded in the timeline).",
    )


class UpdateWorkOrder(Request):
    ref: WorkOrderRef = Field(description="Work order id or number.")
    changes: WorkOrderChanges = Field(description="What changes (fields present only).")


class CommentOnWorkOrder(Request):
    ref: WorkOrderRef = Field(description="Work order id or number.")
    body: Comment = Field(description="The comment (1-5000 characters).")


class ChecklistResult(Request):
    """Body of ``POST /api/work-orders/{ref}/checklist/{item}``: the item's state as it is now."""

    done: bool = Field(default=True, description="`false` takes a result back.")
    result: PassFail | Reading | None = Field(
        default=None,
        description="`pass` or `fail` for a `pass_fail` item, the reading for a `number` item; "
        "none for a `check` item or when not done.",
    )
    note: ItemNote | None = Field(default=None, description="A remark (1-1000 characters).")


class CheckChecklistItem(ChecklistResult):
    ref: WorkOrderRef = Field(description="Work order id or number.")
    item: ChecklistItemRef = Field(description="The item's position (1 = the first) or id.")


class NewComment(Request):
    """Body of ``POST /api/work-orders/{ref}/comments``."""

    body: Comment = Field(description="The comment (1-5000 characters).")


# --- replies ------------------------------------------------------------------------------


class EquipmentBrief(View):
    id: UUID
    number: str
    name: str | None
    manufacturer: str
    model: str | None
    serial: str | None
    location: str | None
    criticality: Criticality


class TimelineEntry(View):
    id: EntryId
    at: datetime
    kind: TimelineKind
    author_id: UUID | None
    author_name: str | None
    channel: str | None
    from_status: WorkOrderStatus | None = None
    to_status: WorkOrderStatus | None = None
    body: str | None = Field(
        default=None,
        description="Comment text, transition reason, a checklist item's note or the reason "
        "of a checklist override.",
    )
    changes: dict[str, Any] = Field(
        default_factory=dict,
        description="field -> [old, new]. A `checklist_item` entry: `item` (its `id`, "
        "`position`, `text`), `done`, `result` (and for readings `out_of_limits`) -> [old, "
        "new]. A `checklist_override` entry: `open_required_items` (how many required items "
        "were not done) and their `positions`.",
    )


class ChecklistItemView(View):
    id: UUID
    position: int = Field(description="1 = the first item; names the item like its id.")
    text: str
    required: bool
    kind: ChecklistKind
    low: float | None = None
    high: float | None = None
    unit: str | None = None
    done: bool
    result: PassFail | float | None = Field(
        description="`pass`/`fail` (pass_fail items), the reading (number items), else null."
    )
    out_of_limits: bool = Field(description="A reading below `low` or above `high`.")
    done_by: UUID | None
    done_at: datetime | None
    note: str | None


class WorkOrderView(View):
    id: UUID
    number: str = Field(description="WO-<year>-<6 digits>, unique in the organization.")
    equipment: EquipmentBrief
    title: str
    description: str | None
    fault_codes: list[str]
    symptoms: list[str]
    priority: Priority
    status: WorkOrderStatus
    work_type: WorkType
    source: str = Field(description="Where it was reported: api, telegram, ...")
    due_at: datetime
    overdue: bool = Field(description="Open and past its due date, at the time of the answer.")
    assignee_id: UUID | None
    assignee_name: str | None
    requester_id: UUID | None
    requester_name: str | None
    estimated_hours: float | None
    labour_hours: float | None
    downtime_start: datetime | None
    downtime_end: datetime | None
    downtime_hours: float | None = Field(description="Down time so far or in total, hours.")
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None = Field(description="First time work started.")
    started_at: datetime | None = Field(description="Last time work (re)started.")
    on_hold_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    reopened_at: datetime | None
    status_changed_at: datetime
    allowed_transitions: list[WorkOrderStatus] = Field(
        description="Statuses reachable from the current one."
    )
    version: int = Field(description="Increases with every change (optimistic locking).")
    plan_id: UUID | None = Field(
        default=None, description="The maintenance plan the order carries out, if any."
    )
    checklist: list[ChecklistItemView] = Field(
        default_factory=list, description="The order's checklist with each item's state."
    )
    attachment_count: int = Field(default=0, description="Files attached to the order.")
    timeline: list[TimelineEntry] | None = Field(
        default=None, description="Oldest first; only on single-order answers."
    )


class WorkOrderPage(View):
    items: list[WorkOrderView]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last.")


# --- stats --------------------------------------------------------------------------------


class StatsOverviewQuery(Request):
    """Counts for the caller's organization."""


class EquipmentHealthQuery(Request):
    limit: int = Field(default=20, ge=1, le=200, description="Assets to list, worst first.")
    equipment_id: EquipmentRef | None = Field(
        default=None, description="Only this asset (id or equipment number)."
    )


class TrendsQuery(Request):
    days: int = Field(default=30, ge=1, le=365, description="Days back, including today (UTC).")


class SummaryQuery(Request):
    """The caller's own work."""

    limit: int = Field(default=10, ge=1, le=50, description="Orders listed per section.")


class KpiQuery(Request):
    days: int = Field(default=90, ge=1, le=365, description="Window in days, including today.")


class CountByName(View):
    name: str
    count: int


class EquipmentTotals(View):
    total: int
    by_status: dict[str, int]


class WorkOrderTotals(View):
    total: int
    open: int = Field(description="open + in_progress + on_hold.")
    overdue: int = Field(description="Open and past due now.")
    by_status: dict[WorkOrderStatus, int]
    by_priority: dict[Priority, int] = Field(description="Open orders by priority.")


class Overview(View):
    as_of: datetime
    equipment: EquipmentTotals
    work_orders: WorkOrderTotals
    top_manufacturers: list[CountByName] = Field(description="By number of assets.")
    top_fault_codes: list[CountByName] = Field(description="By number of work orders.")


class HealthParameters(View):
    half_life_days: float
    priority_weights: dict[Priority, float]
    downtime_points_per_hour: float
    open_order_points: float
    overdue_order_points: float
    criticality_factors: dict[Criticality, float]
    bands: dict[str, str]


class EquipmentHealth(View):
    equipment_id: UUID
    number: str
    name: str | None
    manufacturer: str
    model: str | None
    criticality: Criticality
    score: int = Field(description="0 (needs attention) to 100 (no recent trouble).")
    band: str
    corrective_points: float = Field(description="Recent corrective work, decayed.")
    downtime_points: float = Field(description="Recent downtime hours, decayed.")
    open_orders: int
    overdue_orders: int
    criticality_factor: float
    scored_at: datetime
    explanation: str


class HealthSummary(View):
    assets: int
    average_score: float | None
    good: int
    fair: int
    poor: int


class EquipmentHealthReport(View):
    formula: str
    parameters: HealthParameters
    summary: HealthSummary
    items: list[EquipmentHealth] = Field(description="Worst first.")


class TrendDay(View):
    day: date
    created: int
    completed: int = Field(description="Completions on that day (by completion time).")
    cancelled: int
    reopened: int
    backlog: int = Field(description="Open orders at the end of the day (UTC).")


class Trends(View):
    days: int
    since: date
    until: date
    items: list[TrendDay]


class WorkOrderList(View):
    count: int
    items: list[WorkOrderView]


class Summary(View):
    as_of: datetime
    assigned_open: WorkOrderList = Field(description="Assigned to you and open; soonest due.")
    assigned_overdue: int
    requested_open: WorkOrderList = Field(description="Reported by you and still open.")
    completed_recently: WorkOrderList = Field(
        description="Completed by you (as assignee) in the last 30 days; latest first."
    )


class Kpi(View):
    value: float | None = Field(description="None when the formula's denominator is zero.")
    unit: str
    formula: str
    inputs: dict[str, float]


class Kpis(View):
    days: int
    since: datetime
    until: datetime
    mttr: Kpi
    mtbf: Kpi
    mtta: Kpi
    backlog_hours: Kpi
    planned_share: Kpi


# --- events -------------------------------------------------------------------------------


class WorkOrderSnapshot(EventData):
    """The order as it is after the change: what notifiers show and what rollups count."""

    work_order_id: UUID
    number: str
    title: str
    status: WorkOrderStatus
    priority: Priority
    work_type: WorkType
    equipment_id: UUID
    equipment_number: str
    equipment_name: str | None = None
    assignee_id: UUID | None = None
    requester_id: UUID | None = None
    source: str = "api"
    fault_codes: list[str] = Field(default_factory=list)
    due_at: datetime
    created_at: datetime
    acknowledged_at: datetime | None = None
    completed_at: datetime | None = None
    estimated_hours: float | None = None
    downtime_start: datetime | None = None
    downtime_end: datetime | None = None
    plan_id: UUID | None = Field(
        default=None, description="The maintenance plan the order carries out, if any."
    )
    version: int = Field(description="The order's version; later snapshots have higher ones.")


class WorkOrderCreated(WorkOrderSnapshot):
    pass


class WorkOrderStatusChanged(WorkOrderSnapshot):
    from_status: WorkOrderStatus
    to_status: WorkOrderStatus
    actor_id: UUID | None
    reason: str | None = None
    changed_at: datetime


class WorkOrderAssigned(WorkOrderSnapshot):
    previous_assignee_id: UUID | None
    actor_id: UUID | None


class WorkOrderCommented(WorkOrderSnapshot):
    comment_id: EntryId
    author_id: UUID | None
    body: str


class WorkOrderUpdated(WorkOrderSnapshot):
    changed: list[str] = Field(description="Names of the fields that changed.")
    actor_id: UUID | None


class WorkOrderChecklistItemChecked(WorkOrderSnapshot):
    item: ChecklistItemView = Field(description="The item as it is after the change.")
    open_required: int = Field(description="Required items of the order not done now.")
    actor_id: UUID | None


class WorkOrderOverdue(WorkOrderSnapshot):
    """An open order's due date (``due_at``) passed: said once per deadline, by the service's
    clock; a deadline moved later and passed again is said again."""


class WorkOrderAttachmentAdded(WorkOrderSnapshot):
    """A file was attached to the order (metadata and a link, never bytes)."""

    attachment_id: UUID
    filename: str
    content_type: str
    kind: AttachmentKind = Field(description="Sniffed from the content.")
    size_bytes: int
    caption: str | None = None
    uploader_id: UUID
    link: str = Field(description="The attachment's API path: /api/attachments/{id}.")
    attachment_count: int = Field(description="Files attached to the order after the change.")


class WorkOrderAttachmentRemoved(WorkOrderSnapshot):
    attachment_id: UUID
    filename: str
    kind: AttachmentKind
    size_bytes: int
    removed_by: UUID
    attachment_count: int = Field(description="Files attached to the order after the change.")


# --- catalogue ----------------------------------------------------------------------------

RPCS: tuple[RpcSpec[Any, Any], ...] = (
    CREATE := RpcSpec(
        Rpc.WORKORDERS_CREATE,
        CreateWorkOrder,
        WorkOrderView,
        "Open a work order (equipment-first: by asset, or by manufacturer/model/serial).",
        Role.TECHNICIAN,
        outcome=Outcome.CREATED,
        # Safe to repeat by the request's own, permanent ``idempotency_key`` (the gateway puts
        # the Idempotency-Key header there), not by the runtime's 24-hour keys: see ADR 0015.
    ),
    GET := RpcSpec(
        Rpc.WORKORDERS_GET,
        GetWorkOrder,
        WorkOrderView,
        "One work order with its timeline, by id or number.",
    ),
    LIST := RpcSpec(
        Rpc.WORKORDERS_LIST, ListWorkOrders, WorkOrderPage, "A filtered page of orders."
    ),
    UPDATE := RpcSpec(
        Rpc.WORKORDERS_UPDATE,
        UpdateWorkOrder,
        WorkOrderView,
        "Change status (with reason), assignment, planning fields, hours; add a note.",
        Role.TECHNICIAN,
    ),
    COMMENT := RpcSpec(
        Rpc.WORKORDERS_COMMENT,
        CommentOnWorkOrder,
        TimelineEntry,
        "Add a comment to an order's timeline.",
        Role.TECHNICIAN,
        outcome=Outcome.CREATED,
        idempotent=True,
    ),
    CHECK_ITEM := RpcSpec(
        Rpc.WORKORDERS_CHECK_ITEM,
        CheckChecklistItem,
        ChecklistItemView,
        "Record a checklist item's result: done, pass/fail or a reading, a note.",
        Role.TECHNICIAN,
    ),
    FOR_EQUIPMENT := RpcSpec(
        Rpc.WORKORDERS_FOR_EQUIPMENT,
        ListEquipmentWorkOrders,
        WorkOrderPage,
        "The work orders of one asset, newest first.",
    ),
    STATS_OVERVIEW := RpcSpec(
        Rpc.STATS_OVERVIEW,
        StatsOverviewQuery,
        Overview,
        "Counts: assets, orders by status and priority, overdue, top brands and fault codes.",
    ),
    STATS_EQUIPMENT_HEALTH := RpcSpec(
        Rpc.STATS_EQUIPMENT_HEALTH,
        EquipmentHealthQuery,
        EquipmentHealthReport,
        "Health score (0-100) per asset, worst first, with the formula.",
    ),
    STATS_TRENDS := RpcSpec(
        Rpc.STATS_TRENDS,
        TrendsQuery,
        Trends,
        "Per day: created, completed, cancelled, reopened and open backlog.",
    ),
    STATS_SUMMARY := RpcSpec(
        Rpc.STATS_SUMMARY,
        SummaryQuery,
        Summary,
        "The caller's own open, assigned and recently completed orders.",
    ),
    STATS_KPIS := RpcSpec(
        Rpc.STATS_KPIS,
        KpiQuery,
        Kpis,
        "MTTR, MTBF, mean time to acknowledge, backlog hours, planned share.",
    ),
)

EVENTS: tuple[EventSpec, ...] = (
    EventSpec(Events.WO_CREATED, WorkOrderCreated, "A work order was opened.", exported=True),
    EventSpec(
        Events.WO_STATUS_CHANGED,
        WorkOrderStatusChanged,
        "A work order moved to another status (with actor and reason).",
        exported=True,
    ),
    EventSpec(
        Events.WO_ASSIGNED,
        WorkOrderAssigned,
        "A work order was assigned or unassigned.",
        exported=True,
    ),
    EventSpec(
        Events.WO_COMMENTED, WorkOrderCommented, "A comment or note was added.", exported=True
    ),
    EventSpec(
        Events.WO_UPDATED,
        WorkOrderUpdated,
        "Planning fields, hours or downtime of a work order changed.",
        exported=True,
    ),
    EventSpec(
        Events.WO_CHECKLIST_ITEM_CHECKED,
        WorkOrderChecklistItemChecked,
        "A checklist item's result was recorded (or taken back).",
        exported=True,
    ),
    EventSpec(
        Events.WO_OVERDUE,
        WorkOrderOverdue,
        "An open work order's due date passed (once per deadline).",
        exported=True,
    ),
    EventSpec(
        Events.WO_ATTACHMENT_ADDED,
        WorkOrderAttachmentAdded,
        "A file was attached to a work order.",
        exported=True,
    ),
    EventSpec(
        Events.WO_ATTACHMENT_REMOVED,
        WorkOrderAttachmentRemoved,
        "An attachment was removed from a work order.",
        exported=True,
    ),
)
