"""The ``maintenance`` schema. Only this service reads or writes it.

- ``plans``: what to do on an asset and when (the trigger definition as JSON, read by
  ``plans.triggers``), plus the schedule state the scheduler keeps on the row (next due and
  opening instants, the counter reading at the last service, the last completion);
- ``meters`` and ``readings``: counters and gauges of an asset, every reading kept; a meter
  row also keeps its latest reading and, for a gauge, the state of its excursion machine
  (``schedule.conditions``);
- ``occurrences``: one row per occurrence of a plan, unique by its key
  (``schedule.keys``), so that scheduler replicas open one work order per occurrence;
- ``organizations``: a replica of each organization's IANA time zone (auth owns it), in which
  calendar plans are due.
"""

from collections.abc import Iterable

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    Time,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from rivet_contracts.workorders import Priority, WorkType
from rivet_runtime.tables import add_idempotency_table, add_job_table, add_messaging_tables

from .schedule.conditions import Side
from .vocabulary import (
    ACTIVE_OCCURRENCES,
    MeterKind,
    OccurrenceStatus,
    PlanStatus,
    TriggerKind,
)

SCHEMA = "maintenance"
metadata = MetaData(schema=SCHEMA)

PLANNED_WORK = (WorkType.PREVENTIVE, WorkType.PREDICTIVE, WorkType.INSPECTION)
"""The work types a plan's orders may have: planned work, never corrective."""


def sql_literals(values: Iterable[str]) -> str:
    """``'a', 'b'``: values of a vocabulary as SQL string literals, for check constraints and
    partial-index predicates (literals, so the planner can match a query to the index)."""
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


def _in(column: str, values: Iterable[str], name: str) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ({sql_literals(values)})", name=name)


def _tz(
    name: str, *, nullable: bool = True, now: bool = False, comment: str | None = None
) -> Column[object]:
    return Column(
        name,
        DateTime(timezone=True),
        nullable=nullable,
        server_default=func.now() if now else None,
        comment=comment,
    )


ACTIVE = text(f"status IN ({sql_literals(ACTIVE_OCCURRENCES)})")
"""Occurrences whose order is being opened or is open."""

# --- replicas -----------------------------------------------------------------------------

organizations = Table(
    "organizations",
    metadata,
    Column("org_id", UUID(as_uuid=True), primary_key=True),
    Column("time_zone", Text, nullable=False, comment="IANA name, e.g. Europe/Berlin"),
    _tz("as_of", nullable=False, comment="when the event applied happened; newer ones win"),
    _tz("replicated_at", nullable=False, now=True),
)

# --- meters -------------------------------------------------------------------------------

meters = Table(
    "meters",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("equipment_id", UUID(as_uuid=True), nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("unit", Text, nullable=False, comment="h, cycles, km, degC, mm/s, bar ..."),
    Column("low_limit", Numeric),
    Column("high_limit", Numeric),
    Column("deadband", Numeric, nullable=False, server_default="0"),
    Column("last_value", Numeric, comment="the newest reading"),
    _tz("last_read_at"),
    Column("excursion_side", Text, comment="gauges: the open excursion's side, if any"),
    _tz("excursion_since"),
    Column("excursions", Integer, nullable=False, server_default="0"),
    _tz("created_at", nullable=False, now=True),
    _tz("updated_at", nullable=False, now=True),
    _in("kind", MeterKind, "meters_kind_check"),
    _in("excursion_side", Side, "meters_excursion_side_check"),
    CheckConstraint(
        f"kind = '{MeterKind.GAUGE}' OR (low_limit IS NULL AND high_limit IS NULL "
        "AND excursion_side IS NULL)",
        name="meters_counter_limits_check",
    ),
    CheckConstraint("deadband >= 0", name="meters_deadband_check"),
    Index("meters_org_equipment_idx", "org_id", "equipment_id"),
)

readings = Table(
    "readings",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("meter_id", UUID(as_uuid=True), ForeignKey("meters.id"), nullable=False),
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("value", Numeric, nullable=False),
    _tz("read_at", nullable=False, comment="when the meter showed the value"),
    Column("source", Text, nullable=False, comment="api, telegram, device, completion"),
    Column("author_id", UUID(as_uuid=True)),
    _tz("recorded_at", nullable=False, now=True),
    Index("readings_meter_read_at_idx", "meter_id", "read_at"),
)

# --- plans --------------------------------------------------------------------------------

_CALENDAR = f"status = '{PlanStatus.ACTIVE}' AND trigger_kind = '{TriggerKind.CALENDAR}'"
FORECAST_KEYS = ("forecast_cycle", "forecast_phase", "forecast_dom", "forecast_at", "id")

plans = Table(
    "plans",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("equipment_id", UUID(as_uuid=True), nullable=False),
    Column("title", Text, nullable=False),
    Column("instructions", Text),
    Column(
        "checklist",
        JSONB,
        nullable=False,
        server_default=text("'[]'::jsonb"),
        comment="the checklist template each order gets",
    ),
    Column("priority", Text, nullable=False, server_default=Priority.MEDIUM.value),
    Column("work_type", Text, nullable=False, server_default=WorkType.PREVENTIVE.value),
    Column("estimated_hours", Numeric(7, 2)),
    Column("assignee_id", UUID(as_uuid=True), comment="the default assignee of its orders"),
    Column("status", Text, nullable=False, server_default=PlanStatus.ACTIVE.value),
    Column("trigger_kind", Text, nullable=False),
    Column("trigger", JSONB, nullable=False, comment="the trigger definition (plans.triggers)"),
    Column("meter_id", UUID(as_uuid=True), ForeignKey("meters.id")),
    # the schedule state, kept by the scheduler
    _tz("next_due_at"),
    _tz("next_opens_at", comment="when the next occurrence's order opens"),
    Column("meter_base", Numeric, comment="counter reading at the last service"),
    _tz("last_completed_at"),
    _tz("created_at", nullable=False, now=True),
    _tz("updated_at", nullable=False, now=True),
    Column("version", Integer, nullable=False, server_default="1"),
    Column(
        "author_id",
        UUID(as_uuid=True),
        comment="the admin who created, last changed or resumed it: orders are requested "
        "in their name",
    ),
    Column(
        "allow_overlap",
        Boolean,
        nullable=False,
        server_default=text("false"),
        comment="open the next order even while the previous one is open",
    ),
    # where the plan is in its cycle, for the forecast (plans.repository.store_schedule)
    Column("forecast_on", Date, comment="local date of its first occurrence in the forecast"),
    Column("forecast_cycle", Integer, comment="interval: days (> 0) or months (< 0)"),
    Column("forecast_phase", Integer, comment="day or month of its series modulo the cycle"),
    Column("forecast_dom", Integer, comment="day of the month of its series (0: days and weeks)"),
    Column("forecast_at", Time, comment="its local time of day"),
    _in("priority", Priority, "plans_priority_check"),
    _in("work_type", PLANNED_WORK, "plans_work_type_check"),
    _in("status", PlanStatus, "plans_status_check"),
    _in("trigger_kind", TriggerKind, "plans_trigger_kind_check"),
    CheckConstraint(
        f"(trigger_kind = '{TriggerKind.CALENDAR}') = (meter_id IS NULL)",
        name="plans_meter_check",
    ),
    CheckConstraint("jsonb_typeof(checklist) = 'array'", name="plans_checklist_check"),
    CheckConstraint("jsonb_typeof(trigger) = 'object'", name="plans_trigger_check"),
    CheckConstraint(
        "estimated_hours IS NULL OR estimated_hours >= 0", name="plans_estimated_hours_check"
    ),
    Index("plans_org_equipment_idx", "org_id", "equipment_id"),
    Index("plans_org_created_idx", "org_id", "created_at", "id"),
    Index(
        "plans_opening_idx",
        "next_opens_at",
        postgresql_where=text(f"status = '{PlanStatus.ACTIVE}' AND next_opens_at IS NOT NULL"),
    ),
    Index("plans_meter_idx", "meter_id", postgresql_where=text("meter_id IS NOT NULL")),
    Index(
        "plans_meter_active_idx",
        "org_id",
        "equipment_id",
        postgresql_where=text(
            f"status = '{PlanStatus.ACTIVE}' AND trigger_kind = '{TriggerKind.METER}'"
        ),
    ),
    Index(
        "plans_forecast_cycle_idx",
        "org_id",
        *FORECAST_KEYS,
        postgresql_include=["forecast_on"],
        postgresql_where=text(f"{_CALENDAR} AND forecast_cycle IS NOT NULL"),
    ),
    Index(
        "plans_forecast_assignee_idx",
        "org_id",
        "assignee_id",
        *FORECAST_KEYS,
        postgresql_include=["forecast_on"],
        postgresql_where=text(
            f"{_CALENDAR} AND forecast_cycle IS NOT NULL AND assignee_id IS NOT NULL"
        ),
    ),
)

occurrences = Table(
    "occurrences",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, comment="schedule.keys.key_uuid(key)"),
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("plan_id", UUID(as_uuid=True), ForeignKey("plans.id"), nullable=False),
    Column("key", Text, nullable=False, comment="the idempotency key (schedule.keys)"),
    _tz("due_at"),
    _tz("opens_at"),
    _tz("deadline_at", comment="due plus the grace: on time until then"),
    Column("threshold", Numeric, comment="meter plans: the counter reading it is due at"),
    Column("excursion", Integer, comment="condition plans: the meter's excursion index"),
    Column("status", Text, nullable=False),
    Column("work_order_id", UUID(as_uuid=True)),
    _tz("created_at", nullable=False, now=True),
    _tz("opened_at"),
    _tz("completed_at"),
    Column("completed_reading", Numeric, comment="meter plans: the counter at completion"),
    Column(
        "request",
        JSONB,
        comment="the work-order request, sent unchanged until its order is open",
    ),
    Column("work_order_number", Text),
    Column("on_time", Boolean, comment="completed calendar and meter occurrences"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    _tz("lease_until", comment="a scheduler is requesting its order until then"),
    Column("last_error", Text, comment="why the last request for its order failed"),
    _in("status", OccurrenceStatus, "occurrences_status_check"),
    CheckConstraint(
        f"status <> '{OccurrenceStatus.OPEN}' OR work_order_id IS NOT NULL",
        name="occurrences_open_order_check",
    ),
    Index("occurrences_key_key", "key", unique=True),
    Index("occurrences_plan_idx", "plan_id", "created_at"),
    Index("occurrences_org_due_idx", "org_id", "due_at"),
    Index("occurrences_active_due_idx", "org_id", "due_at", "plan_id", postgresql_where=ACTIVE),
    Index(
        "occurrences_opening_idx",
        "created_at",
        postgresql_where=text(f"status = '{OccurrenceStatus.OPENING}'"),
    ),
    Index(
        "occurrences_work_order_key",
        "work_order_id",
        unique=True,
        postgresql_where=text("work_order_id IS NOT NULL"),
    ),
)

outbox, inbox, dead_letters = add_messaging_tables(metadata)
job_runs = add_job_table(metadata)
idempotency_keys = add_idempotency_table(metadata)
