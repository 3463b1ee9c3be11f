"""Maintenance service contracts: plans (preventive maintenance), meters and their readings, the
forecast, overdue PM orders and PM compliance.

A plan opens work orders on an asset by a trigger: the calendar (every N days, weeks, months
or years, fixed or floating), a counter meter (every N units) or a gauge out of its limits
(one corrective order per excursion). Machines send readings on ``reading.submitted.<org_id>``
(``reading_subject``), one a message, or several a message on
``reading.batch_submitted.<org_id>`` (``reading_batch_subject``; see docs/maintenance.md);
people record them with ``rpc.maintenance.record_reading``.
"""

from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    Discriminator,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    StringConstraints,
    Tag,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .assets import EquipmentRef
from .base import EventData, Request, View
from .identity import Role
from .spec import EventSpec, RpcSpec
from .subjects import Events, Rpc
from .wire import Outcome
from .workorders import (
    MAX_CHECKLIST_ITEMS,
    ChecklistItem,
    Hours,
    LongText,
    Priority,
    Reason,
    Title,
    WorkType,
)

READING_SUBJECT_PREFIX = "reading.submitted"
READING_BATCH_SUBJECT_PREFIX = "reading.batch_submitted"
MAX_BATCH_READINGS = 500
"""Readings in one message on ``reading.batch_submitted.<org_id>`` at most."""

MAX_FORECAST_DAYS = 366
FORECAST_PAGE = 100
"""Forecast items per page unless the request says."""
MAX_FORECAST_PAGE = 500
MAX_CURSOR = 200
"""Longer than any cursor the forecast gives."""
MeterName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
MeterUnit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
Device = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Value = Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12)]
"""A meter value: a finite number (JSON number); kept exact as its shortest decimal form."""
Units = Annotated[float, Field(allow_inf_nan=False, ge=0, le=1e12)]
PLANNED_WORK_TYPES = (WorkType.PREVENTIVE, WorkType.PREDICTIVE, WorkType.INSPECTION)
LOCAL_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?$"
"""A time of day as sent and answered: `06:00`, `06:00:00`, `06:00:00.5` (RFC 3339 partial-time)."""


def reading_subject(org_id: UUID) -> str:
    """The subject a machine of organization ``org_id`` publishes its readings on."""
    return f"{READING_SUBJECT_PREFIX}.{org_id}"


def reading_batch_subject(org_id: UUID) -> str:
    """The subject a machine of organization ``org_id`` publishes batches of readings on."""
    return f"{READING_BATCH_SUBJECT_PREFIX}.{org_id}"


class PlanStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    """Opens no orders; resumed, it continues from the moment it is resumed."""


class TriggerKind(StrEnum):
    CALENDAR = "calendar"
    METER = "meter"
    """Every N units of a counter meter."""
    CONDITION = "condition"
    """A gauge meter out of its limits."""


class CalendarUnit(StrEnum):
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"
    YEARS = "years"


class CalendarMode(StrEnum):
    FIXED = "fixed"
    """Due dates counted from the first one; a late completion moves nothing."""
    FLOATING = "floating"
    """One interval after the last completion."""


class MeterKind(StrEnum):
    COUNTER = "counter"
    """Only goes up (operating hours, cycles)."""
    GAUGE = "gauge"
    """Goes up and down (temperature, vibration); may have limits."""


class LimitSide(StrEnum):
    LOW = "low"
    HIGH = "high"


class OccurrenceStatus(StrEnum):
    OPENING = "opening"
    """Recorded; its work order is being requested (retried until it is open)."""
    OPEN = "open"
    """Its work order is open."""
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    """Passed over on purpose: the plan's previous order was still open."""


# --- triggers -----------------------------------------------------------------------------


class CalendarTrigger(Request):
    """Every ``every`` ``unit`` at a local time of day in the organization's time zone."""

    kind: Literal["calendar"] = Field(description="`calendar`.")
    every: int = Field(ge=1, le=36_500, description="How many units between due dates.")
    unit: CalendarUnit = Field(description="`days`, `weeks`, `months` or `years`.")
    mode: CalendarMode = Field(
        default=CalendarMode.FIXED,
        description="`fixed`: due dates counted from `first_due`; `floating`: one interval "
        "after the last completion.",
    )
    first_due: date = Field(
        description="The first due date (local). Month steps keep its day: every 3 months "
        "from 31 January is due 30 April, 31 July, ..."
    )
    at: time = Field(
        default=time(6, 0),
        description="Local time of day it is due (no zone), e.g. `06:00`.",
        # a local time, without the offset JSON Schema's `time` format (RFC 3339) requires
        json_schema_extra={"format": "partial-time", "pattern": LOCAL_TIME},
    )
    lead_hours: int = Field(
        default=0, ge=0, le=8_784, description="Hours before the due time the order opens."
    )


class MeterTrigger(Request):
    """Every ``every`` units of a counter meter of the plan's asset."""

    kind: Literal["meter"] = Field(description="`meter`.")
    meter_id: UUID = Field(description="The counter meter watched.")
    every: Units = Field(gt=0, description="Units between services (e.g. 500 operating hours).")
    lead: Units = Field(default=0, description="Units before the threshold the order opens.")
    base: Units | None = Field(
        default=None,
        description="The counter at the last service; thresholds are base + k x every. "
        "Default: the meter's newest reading (0 without one).",
    )


class ConditionTrigger(Request):
    """A corrective order each time a gauge goes out of its limits (once per excursion)."""

    kind: Literal["condition"] = Field(description="`condition`.")
    meter_id: UUID = Field(description="The gauge watched; it needs a low or high limit.")


def _trigger_kind(value: Any) -> str | None:
    """The ``kind`` of a trigger given as JSON or as a model."""
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return kind if isinstance(kind, str) else None


Trigger = Annotated[
    Annotated[CalendarTrigger, Tag("calendar")]
    | Annotated[MeterTrigger, Tag("meter")]
    | Annotated[ConditionTrigger, Tag("condition")],
    Discriminator(_trigger_kind),
]
"""One of the three triggers, told apart by ``kind``."""


# --- requests: plans ----------------------------------------------------------------------


def _planned(work_type: WorkType | None) -> None:
    if work_type is not None and work_type not in PLANNED_WORK_TYPES:
        raise ValueError("a plan's work type is `preventive`, `predictive` or `inspection`")


class CreatePlan(Request):
    """A maintenance plan on an asset (admins)."""

    equipment_id: EquipmentRef = Field(description="The asset: its id or equipment number.")
    title: Title = Field(description="The title of every order it opens.")
    instructions: LongText | None = Field(
        default=None, description="What to do: the description of every order it opens."
    )
    checklist: list[ChecklistItem] = Field(
        default_factory=list,
        max_length=MAX_CHECKLIST_ITEMS,
        description="The checklist each order gets (at most 100 items).",
    )
    priority: Priority = Field(default=Priority.MEDIUM, description="Priority of its orders.")
    work_type: WorkType = Field(
        default=WorkType.PREVENTIVE,
        description="`preventive`, `predictive` or `inspection` (condition plans open "
        "`corrective` orders).",
    )
    estimated_hours: Hours | None = Field(default=None, description="Planned labour per order.")
    assignee_id: UUID | None = Field(
        default=None, description="Default assignee of its orders (a technician or admin)."
    )
    trigger: Trigger = Field(description="When it opens orders: calendar, meter or condition.")
    allow_overlap: bool = Field(
        default=False,
        description="Open the next order even while the previous one is still open (default: "
        "an occurrence due then is skipped).",
    )
    status: PlanStatus = Field(default=PlanStatus.ACTIVE, description="`active` or `paused`.")

    @model_validator(mode="after")
    def _work_type(self) -> "CreatePlan":
        _planned(self.work_type)
        return self


class PlanChanges(Request):
    """Fields of a plan to change; fields left out stay, `null` clears an optional one. A new
    trigger or asset starts the schedule again from now."""

    equipment_id: EquipmentRef | None = Field(default=None, description="Another asset.")
    title: Title | None = Field(default=None, description="Title of its orders.")
    instructions: LongText | None = Field(default=None, description="Description of its orders.")
    checklist: list[ChecklistItem] | None = Field(
        default=None, max_length=MAX_CHECKLIST_ITEMS, description="The checklist template."
    )
    priority: Priority | None = Field(default=None, description="Priority of its orders.")
    work_type: WorkType | None = Field(default=None, description="Planned work type.")
    estimated_hours: Hours | None = Field(default=None, description="Planned labour per order.")
    assignee_id: UUID | None = Field(default=None, description="Default assignee.")
    trigger: Trigger | None = Field(default=None, description="A new trigger.")
    allow_overlap: bool | None = Field(default=None, description="See `CreatePlan`.")
    expected_version: int | None = Field(
        default=None, ge=1, description="Refuse (409) if the plan changed since this version."
    )

    @model_validator(mode="after")
    def _work_type(self) -> "PlanChanges":
        _planned(self.work_type)
        return self


class UpdatePlan(Request):
    plan_id: UUID = Field(description="The plan.")
    changes: PlanChanges = Field(description="What to change.")


class PausePlan(Request):
    plan_id: UUID = Field(description="The plan.")
    reason: Reason | None = Field(default=None, description="Why (3-1000 characters).")


class PlanPause(Request):
    """Body of ``POST /api/maintenance/plans/{plan_id}/pause``."""

    reason: Reason | None = Field(default=None, description="Why (3-1000 characters).")


class ResumePlan(Request):
    plan_id: UUID = Field(description="The plan; its next occurrence is counted from now.")


class GetPlan(Request):
    plan_id: UUID = Field(description="The plan.")


class ListPlans(Request):
    equipment_id: UUID | None = Field(default=None, description="Only this asset's plans.")
    assignee_id: UUID | None = Field(default=None, description="Only plans assigned to them.")
    status: PlanStatus | None = Field(default=None, description="Only active or paused ones.")
    after: UUID | None = Field(
        default=None, description="The last plan of the previous page (none: the first page)."
    )
    limit: int = Field(default=50, ge=1, le=200, description="Plans per page, oldest first.")


# --- requests: meters and readings --------------------------------------------------------


class CreateMeter(Request):
    """A counter or gauge of an asset (admins)."""

    equipment_id: EquipmentRef = Field(description="The asset: its id or equipment number.")
    name: MeterName = Field(description="e.g. `Operating hours`, `Bearing temperature`.")
    kind: MeterKind = Field(description="`counter` (only goes up) or `gauge`.")
    unit: MeterUnit = Field(description="e.g. `h`, `cycles`, `degC`, `mm/s`.")
    low_limit: Value | None = Field(default=None, description="Gauges: lowest good value.")
    high_limit: Value | None = Field(default=None, description="Gauges: highest good value.")
    deadband: Units = Field(
        default=0,
        description="Gauges: how far back inside a limit a value must be to end an excursion.",
    )

    @model_validator(mode="after")
    def _counter(self) -> "CreateMeter":
        limited = self.low_limit is not None or self.high_limit is not None
        if self.kind is MeterKind.COUNTER and (limited or self.deadband):
            raise ValueError("limits and a deadband are for gauges only")
        return self


class MeterChanges(Request):
    """Fields of a meter to change; fields left out stay, `null` clears a limit."""

    name: MeterName | None = Field(default=None, description="The meter's name.")
    unit: MeterUnit | None = Field(default=None, description="The unit.")
    low_limit: Value | None = Field(default=None, description="Gauges: lowest good value.")
    high_limit: Value | None = Field(default=None, description="Gauges: highest good value.")
    deadband: Units | None = Field(default=None, description="Gauges: the deadband.")


class UpdateMeter(Request):
    meter_id: UUID = Field(description="The meter.")
    changes: MeterChanges = Field(description="What to change.")


class GetMeter(Request):
    meter_id: UUID = Field(description="The meter.")


class ListMeters(Request):
    equipment_id: UUID | None = Field(default=None, description="Only this asset's meters.")
    after: UUID | None = Field(
        default=None, description="The last meter of the previous page (none: the first page)."
    )
    limit: int = Field(default=100, ge=1, le=500, description="Meters per page, oldest first.")


class RecordReading(Request):
    """A reading of a meter (technicians); machines send them on ``reading.submitted.<org>``."""

    meter_id: UUID = Field(description="The meter read.")
    value: Value = Field(description="What it showed.")
    read_at: AwareDatetime | None = Field(
        default=None, description="When it showed it (default: now); not in the future."
    )


class NewReading(Request):
    """Body of ``POST /api/meters/{meter_id}/readings``."""

    value: Value = Field(description="What the meter showed (a finite number).")
    read_at: AwareDatetime | None = Field(
        default=None,
        description="When it showed it, with a zone (default: now); at most five minutes ahead.",
    )


class ListReadings(Request):
    meter_id: UUID = Field(description="The meter.")
    before: AwareDatetime | None = Field(
        default=None, description="Only readings taken before this (the previous page's last)."
    )
    limit: int = Field(default=100, ge=1, le=500, description="Readings, newest first.")


# --- requests: reading ahead --------------------------------------------------------------


class GetForecast(Request):
    """Occurrences of the active plans in the next ``days`` days, a page at a time: by due
    time, then plan (undated meter items last). The window is fixed by the first page."""

    days: int | None = Field(
        default=None,
        ge=1,
        le=MAX_FORECAST_DAYS,
        description="How far ahead, 1-366 days (default: the service's FORECAST_DAYS).",
    )
    equipment_id: UUID | None = Field(default=None, description="Only this asset's plans.")
    assignee_id: UUID | None = Field(default=None, description="Only plans assigned to them.")
    limit: int = Field(
        default=FORECAST_PAGE,
        ge=1,
        le=MAX_FORECAST_PAGE,
        description=f"Items per page (default {FORECAST_PAGE}, at most {MAX_FORECAST_PAGE}).",
    )
    cursor: str | None = Field(
        default=None,
        max_length=MAX_CURSOR,
        description="The previous page's `next_cursor`, unchanged, with the same days and "
        "filters (none: the first page).",
    )


class ListOverdue(Request):
    """PM orders open past their due time, the most overdue first."""

    equipment_id: UUID | None = Field(default=None, description="Only this asset's.")
    assignee_id: UUID | None = Field(default=None, description="Only plans assigned to them.")
    limit: int = Field(default=200, ge=1, le=500, description="At most this many.")


class GetPmKpis(Request):
    days: int = Field(
        default=30, ge=1, le=MAX_FORECAST_DAYS, description="The period: the last N days."
    )


# --- replies ------------------------------------------------------------------------------


class OccurrenceView(View):
    id: UUID
    plan_id: UUID
    key: str = Field(description="Unique per occurrence; the work order's idempotency key.")
    status: OccurrenceStatus
    due_at: datetime | None = Field(description="Calendar plans: when it is due.")
    opens_at: datetime | None
    deadline_at: datetime | None = Field(description="On time until then (due + 10 % grace).")
    threshold: float | None = Field(description="Meter plans: the counter it is due at.")
    excursion: int | None = Field(description="Condition plans: the gauge's excursion number.")
    work_order_id: UUID | None
    work_order_number: str | None
    created_at: datetime
    opened_at: datetime | None
    completed_at: datetime | None
    on_time: bool | None = Field(description="Completed orders of calendar and meter plans.")
    last_error: str | None = Field(description="Why its order is not open yet, if it failed.")


class PlanView(View):
    id: UUID
    org_id: UUID
    equipment_id: UUID
    title: str
    instructions: str | None
    checklist: list[ChecklistItem]
    priority: Priority
    work_type: WorkType
    estimated_hours: float | None
    assignee_id: UUID | None
    status: PlanStatus
    trigger: Trigger
    allow_overlap: bool
    author_id: UUID | None = Field(
        description="The admin who created, last changed or resumed it: its orders are "
        "requested in their name."
    )
    next_due_at: datetime | None = Field(description="Calendar plans: the next due time.")
    next_opens_at: datetime | None = Field(description="When that occurrence's order opens.")
    meter_base: float | None = Field(description="Meter plans: the counter at the last service.")
    next_threshold: float | None = Field(description="Meter plans: the next threshold.")
    last_completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    occurrences: list[OccurrenceView] | None = Field(
        default=None, description="The newest occurrences; only on single-plan answers."
    )


class PlanPage(View):
    items: list[PlanView]
    next_after: UUID | None = Field(description="Pass as `after` for the next page; none: last.")


class MeterView(View):
    id: UUID
    org_id: UUID
    equipment_id: UUID
    name: str
    kind: MeterKind
    unit: str
    low_limit: float | None
    high_limit: float | None
    deadband: float
    last_value: float | None
    last_read_at: datetime | None
    excursion_side: LimitSide | None = Field(description="Gauges: out of limits on this side.")
    excursion_since: datetime | None
    excursions: int = Field(description="Gauges: excursions so far.")
    created_at: datetime
    updated_at: datetime


class MeterPage(View):
    items: list[MeterView]
    next_after: UUID | None


class ReadingView(View):
    id: int
    meter_id: UUID
    value: float
    read_at: datetime
    source: str = Field(description="`api`, `telegram`, `device`, ...")
    author_id: UUID | None
    recorded_at: datetime


class ReadingPage(View):
    items: list[ReadingView]


class ReadingResult(View):
    reading: ReadingView
    meter: MeterView
    excursion_started: int | None = Field(description="The excursion this reading started.")
    occurrences: list[OccurrenceView] = Field(description="Occurrences it made due.")


class ForecastItem(View):
    plan_id: UUID
    title: str
    equipment_id: UUID
    assignee_id: UUID | None
    trigger_kind: TriggerKind
    due_at: datetime | None = Field(
        description="When it is due; meter plans: estimated from the counter's recent use "
        "(none when it cannot be estimated)."
    )
    opens_at: datetime | None
    estimated_hours: float | None
    status: OccurrenceStatus | None = Field(
        description="Recorded occurrences: their status; none: projected."
    )
    work_order_id: UUID | None
    threshold: float | None = Field(description="Meter plans: the counter it is due at.")
    units_to_go: float | None = Field(description="Meter plans: units left to the threshold.")


class Forecast(View):
    since: datetime
    until: datetime
    days: int
    items: list[ForecastItem] = Field(
        description="Soonest first, then by plan; undated meter items last."
    )
    next_cursor: str | None = Field(
        description="Pass as `cursor` (with the same days and filters) for the next page; "
        "none: the last page."
    )


class OverdueItem(View):
    occurrence: OccurrenceView
    title: str
    equipment_id: UUID
    assignee_id: UUID | None
    overdue_hours: float
    beyond_grace: bool = Field(description="Past due + 10 % grace: it can no longer be on time.")


class OverdueList(View):
    as_of: datetime
    items: list[OverdueItem]


class PmCompliance(View):
    percent: float | None = Field(description="On time / due, in %; none when none was due.")
    due: int = Field(description="Calendar PM orders due in the period whose outcome is known.")
    on_time: int
    pending: int = Field(description="Due in the period, still within their grace.")
    formula: str


class PmKpis(View):
    days: int
    since: datetime
    until: datetime
    compliance: PmCompliance
    meter_completed: int = Field(description="Meter PM orders completed in the period.")
    meter_on_time: int = Field(description="... of which by threshold + 10 % of the interval.")
    overdue: int = Field(description="PM orders open past their due time now.")
    open: int = Field(description="PM orders open now (or being opened).")


# --- events -------------------------------------------------------------------------------


class PlanSnapshot(EventData):
    """The plan as it is after the change."""

    plan_id: UUID
    equipment_id: UUID
    title: str
    status: PlanStatus
    priority: Priority
    work_type: WorkType
    assignee_id: UUID | None = None
    estimated_hours: float | None = None
    trigger: dict[str, Any] = Field(description="The trigger, as in `PlanView`.")
    allow_overlap: bool = False
    next_due_at: datetime | None = None
    version: int


class PlanCreated(PlanSnapshot):
    author_id: UUID | None


class PlanUpdated(PlanSnapshot):
    changed: list[str] = Field(description="Names of the fields that changed.")
    actor_id: UUID | None


class PlanPaused(PlanSnapshot):
    actor_id: UUID | None
    reason: str | None = None


class PlanResumed(PlanSnapshot):
    actor_id: UUID | None


class PmDue(EventData):
    """An occurrence of a plan opened its work order."""

    occurrence_id: UUID
    key: str
    plan_id: UUID
    equipment_id: UUID
    title: str
    trigger_kind: TriggerKind
    due_at: datetime | None = None
    threshold: float | None = None
    excursion: int | None = None
    work_order_id: UUID
    work_order_number: str
    assignee_id: UUID | None = None


class PmCompleted(EventData):
    """The work order of an occurrence was completed."""

    occurrence_id: UUID
    plan_id: UUID
    equipment_id: UUID
    trigger_kind: TriggerKind
    work_order_id: UUID
    due_at: datetime | None = None
    completed_at: datetime
    on_time: bool | None = Field(description="None for condition plans.")
    threshold: float | None = None
    completed_reading: float | None = None
    next_due_at: datetime | None = Field(default=None, description="Calendar plans.")


class MeterReadingRecorded(EventData):
    reading_id: int
    meter_id: UUID
    equipment_id: UUID
    kind: MeterKind
    unit: str
    value: float
    read_at: datetime
    source: str
    author_id: UUID | None = None


class MeterLimitExceeded(EventData):
    """A gauge went out of its limits: an excursion started (one per excursion)."""

    meter_id: UUID
    equipment_id: UUID
    side: LimitSide
    value: float
    limit: float
    read_at: datetime
    excursion: int


class ReadingSubmitted(EventData):
    """A machine's reading, published on ``reading.submitted.<org_id>`` in an envelope whose
    ``org_id`` is the same organization. Refused readings (unknown meter, another
    organization's, a counter going back, a time in the future) are dead-lettered with the
    reason."""

    meter_id: UUID
    value: Value
    read_at: AwareDatetime
    device: Device | None = Field(default=None, description="The sender, for the record.")


class SubmittedReading(EventData):
    """One reading of a machine's batch (``ReadingBatchSubmitted``)."""

    meter_id: UUID
    value: Value
    read_at: AwareDatetime


class UnreadableReading(BaseModel):
    """A reading of a batch that does not parse (a missing field, a value that is not a finite
    number, a time without a zone): refused on its own, the batch's others are applied."""

    index: int
    """Its position in the message's ``readings`` (from 0)."""
    reading: Any
    """As sent."""
    message: str


class ReadingBatchSubmitted(EventData):
    """Several readings of one organization's meters in one message, as a PLC gateway or a
    SCADA historian collects them, published on ``reading.batch_submitted.<org_id>`` in an
    envelope whose ``org_id`` is the same organization. Each reading is applied or refused on
    its own, in the message's order: the refused ones (a reading that does not parse, an
    unknown meter or another organization's, a counter going back, a time in the future) are
    dead-lettered together with their reasons, the others recorded. A message that is not a
    batch at all (no ``readings`` list, none, more than 500, the envelope's organization not
    the subject's) is dead-lettered whole."""

    readings: list[SubmittedReading] = Field(
        max_length=MAX_BATCH_READINGS,
        json_schema_extra={"minItems": 1},
        description="1 to 500 readings, applied in this order.",
    )
    device: Device | None = Field(default=None, description="The sender, for the record.")
    # defaults, not factories: pydantic inspects a factory's signature for every instance
    _positions: list[int] | None = PrivateAttr(default=None)
    _unreadable: list[UnreadableReading] | None = PrivateAttr(default=None)
    _sent: list[Any] | None = PrivateAttr(default=None)

    @property
    def positions(self) -> list[int]:
        """Each of ``readings``' position in the message as sent."""
        if self._positions is None:
            return list(range(len(self.readings)))
        return self._positions

    def sent(self, position: int) -> Any:
        """The reading at ``position`` in the message, as sent."""
        if self._sent is not None:
            return self._sent[position]
        return self.readings[position].model_dump(mode="json")

    @property
    def unreadable(self) -> list[UnreadableReading]:
        """The readings sent that do not parse, left out of ``readings``."""
        return self._unreadable or []

    @model_validator(mode="wrap")
    @classmethod
    def _each_reading_on_its_own(
        cls, data: Any, handler: ModelWrapValidatorHandler["ReadingBatchSubmitted"]
    ) -> "ReadingBatchSubmitted":
        sent = data.get("readings") if isinstance(data, dict) else None
        if not isinstance(sent, list) or len(sent) > MAX_BATCH_READINGS:
            return handler(data)  # not a batch: refused whole
        if not sent:
            raise PydanticCustomError("too_short", "a batch holds at least one reading")
        try:  # every reading sound (the usual case): validated together
            batch = handler(data)
        except ValidationError:
            pass
        else:
            batch._sent = sent
            return batch
        readable: list[SubmittedReading] = []
        positions: list[int] = []
        unreadable: list[UnreadableReading] = []
        for index, item in enumerate(sent):
            if isinstance(item, SubmittedReading):
                readable.append(item)
                positions.append(index)
                continue
            try:
                readable.append(SubmittedReading.model_validate(item))
                positions.append(index)
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or 'reading'}: {e['msg']}"
                    for e in exc.errors(include_url=False)
                )
                unreadable.append(UnreadableReading(index=index, reading=item, message=problems))
        batch = handler({**data, "readings": readable})
        batch._positions = positions
        batch._unreadable = unreadable
        batch._sent = sent
        return batch


class RecordedReading(EventData):
    """One reading of ``meter.readings_recorded``."""

    reading_id: int
    meter_id: UUID
    equipment_id: UUID
    kind: MeterKind
    unit: str
    value: float
    read_at: datetime


class MeterReadingsRecorded(EventData):
    """The readings of one machine's batch (``reading.batch_submitted``) that were recorded,
    in the batch's order: one event for the batch instead of a ``meter.reading_recorded``
    each. ``refused``: how many of the batch were refused (dead-lettered with their reasons)."""

    source: str
    device: str | None = None
    readings: list[RecordedReading]
    refused: int = 0


# --- catalogue ----------------------------------------------------------------------------

RPCS: tuple[RpcSpec[Any, Any], ...] = (
    CREATE_PLAN := RpcSpec(
        Rpc.MAINTENANCE_CREATE_PLAN,
        CreatePlan,
        PlanView,
        "Create a maintenance plan on an asset.",
        Role.ADMIN,
        outcome=Outcome.CREATED,
        idempotent=True,
    ),
    UPDATE_PLAN := RpcSpec(
        Rpc.MAINTENANCE_UPDATE_PLAN, UpdatePlan, PlanView, "Change a plan.", Role.ADMIN
    ),
    PAUSE_PLAN := RpcSpec(
        Rpc.MAINTENANCE_PAUSE_PLAN, PausePlan, PlanView, "Pause a plan.", Role.ADMIN
    ),
    RESUME_PLAN := RpcSpec(
        Rpc.MAINTENANCE_RESUME_PLAN, ResumePlan, PlanView, "Resume a paused plan.", Role.ADMIN
    ),
    GET_PLAN := RpcSpec(
        Rpc.MAINTENANCE_GET_PLAN, GetPlan, PlanView, "A plan and its newest occurrences."
    ),
    LIST_PLANS := RpcSpec(
        Rpc.MAINTENANCE_LIST_PLANS, ListPlans, PlanPage, "The organization's plans, paged."
    ),
    CREATE_METER := RpcSpec(
        Rpc.MAINTENANCE_CREATE_METER,
        CreateMeter,
        MeterView,
        "Create a counter or gauge meter on an asset.",
        Role.ADMIN,
        outcome=Outcome.CREATED,
        idempotent=True,
    ),
    UPDATE_METER := RpcSpec(
        Rpc.MAINTENANCE_UPDATE_METER,
        UpdateMeter,
        MeterView,
        "Rename a meter or change its unit or limits.",
        Role.ADMIN,
    ),
    GET_METER := RpcSpec(Rpc.MAINTENANCE_GET_METER, GetMeter, MeterView, "A meter."),
    LIST_METERS := RpcSpec(
        Rpc.MAINTENANCE_LIST_METERS, ListMeters, MeterPage, "The organization's meters, paged."
    ),
    RECORD_READING := RpcSpec(
        Rpc.MAINTENANCE_RECORD_READING,
        RecordReading,
        ReadingResult,
        "Record a meter reading; what it made due.",
        Role.TECHNICIAN,
        outcome=Outcome.CREATED,
        idempotent=True,
    ),
    LIST_READINGS := RpcSpec(
        Rpc.MAINTENANCE_LIST_READINGS, ListReadings, ReadingPage, "A meter's readings."
    ),
    FORECAST := RpcSpec(
        Rpc.MAINTENANCE_FORECAST,
        GetForecast,
        Forecast,
        "Occurrences of the active plans in the next days (at most 366).",
    ),
    OVERDUE := RpcSpec(
        Rpc.MAINTENANCE_OVERDUE, ListOverdue, OverdueList, "PM orders open past their due time."
    ),
    KPIS := RpcSpec(
        Rpc.MAINTENANCE_KPIS,
        GetPmKpis,
        PmKpis,
        "PM compliance (10 % grace), meter PMs on time, overdue and open PM orders.",
    ),
)

EVENTS: tuple[EventSpec, ...] = (
    EventSpec(Events.PLAN_CREATED, PlanCreated, "A maintenance plan was created.", exported=True),
    EventSpec(Events.PLAN_UPDATED, PlanUpdated, "A maintenance plan was changed.", exported=True),
    EventSpec(Events.PLAN_PAUSED, PlanPaused, "A maintenance plan was paused.", exported=True),
    EventSpec(
        Events.PLAN_RESUMED, PlanResumed, "A paused maintenance plan was resumed.", exported=True
    ),
    EventSpec(
        Events.PM_DUE, PmDue, "An occurrence of a plan opened its work order.", exported=True
    ),
    EventSpec(
        Events.PM_COMPLETED,
        PmCompleted,
        "The work order of a plan's occurrence was completed.",
        exported=True,
    ),
    EventSpec(
        Events.METER_READING_RECORDED,
        MeterReadingRecorded,
        "A meter reading was recorded.",
        exported=True,
    ),
    EventSpec(
        Events.METER_READINGS_RECORDED,
        MeterReadingsRecorded,
        "The readings of one machine's batch (reading.batch_submitted) that were recorded.",
        exported=True,
    ),
    EventSpec(
        Events.METER_LIMIT_EXCEEDED,
        MeterLimitExceeded,
        "A gauge went out of its limits (once per excursion).",
        exported=True,
    ),
    # machines' raw input (what was recorded is meter.reading_recorded)
    EventSpec(
        Events.READING_SUBMITTED,
        ReadingSubmitted,
        "A machine's meter reading, on reading.submitted.<org_id> (published by machines).",
        exported=False,
    ),
    EventSpec(
        Events.READING_BATCH_SUBMITTED,
        ReadingBatchSubmitted,
        "Up to 500 readings of a machine or an edge gateway in one message, on "
        "reading.batch_submitted.<org_id> (published by machines).",
        exported=False,
    ),
)
