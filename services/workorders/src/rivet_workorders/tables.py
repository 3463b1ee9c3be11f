"""The ``workorders`` schema. Only this service reads or writes it.

Three groups of tables:

- the work orders themselves (``work_orders``, ``timeline``, ``checklist_items``,
  ``counters``);
- replicas of what other services own, fed by their events (``equipment``, ``users``);
- rollups for the stats endpoints, kept by this service's consumer of its own ``wo.*`` events
  (``rollup_state``, ``wo_counts``, ``wo_due``, ``wo_daily``, ``fault_codes``,
  ``equipment_counts``, ``org_health`` and the health columns of ``equipment``). See
  docs/adr/0008-workorder-rollups.md.
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
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, DOUBLE_PRECISION, JSONB, UUID

from rivet_contracts.workorders import (
    OPEN_STATUS_VALUES,
    ChecklistKind,
    PassFail,
    WorkOrderStatus,
)
from rivet_runtime.tables import add_idempotency_table, add_job_table, add_messaging_tables

SCHEMA = "workorders"
metadata = MetaData(schema=SCHEMA)


def sql_literals(values: Iterable[str]) -> str:
    """``'a', 'b'``: values of a vocabulary (an enum) as SQL string literals, for statements
    built once at import."""
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


OPEN_STATUS_SQL = sql_literals(OPEN_STATUS_VALUES)
"""The backlog (``OPEN_STATUSES``: open, in progress, on hold) as a list of SQL string literals,
for the raw statements that filter on it. Literals, not a bound parameter: the planner can then
prove that a query implies the partial indexes' predicate (a parameter could be anything)."""

OPEN = text(f"status IN ({OPEN_STATUS_SQL})")
"""Partial-index predicate of the backlog (queries use ``OPEN_ORDERS``, its twin)."""

UNANNOUNCED = text(
    f"status IN ({OPEN_STATUS_SQL}) AND overdue_announced_for IS DISTINCT FROM due_at"
)
"""Partial-index predicate of the open orders whose deadline ``wo.overdue`` has not announced
(the ``overdue`` job reads them with this very text)."""


def _tz(name: str, *, nullable: bool = True, now: bool = False) -> Column[object]:
    return Column(
        name,
        DateTime(timezone=True),
        nullable=nullable,
        server_default=func.now() if now else None,
    )


# --- replicas -----------------------------------------------------------------------------

equipment = Table(
    "equipment",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("number", Text, nullable=False),
    Column("name", Text),
    Column("manufacturer", Text, nullable=False),
    Column("model", Text),
    Column("serial", Text),
    Column("location", Text),
    Column("criticality", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("version", Integer, nullable=False, comment="assets' version; newer events win"),
    _tz("replicated_at", nullable=False, now=True),
    # Health rollup (see rollups/health.py): decayed sums, live counts at scoring, the score.
    Column("decay_corrective", DOUBLE_PRECISION, nullable=False, server_default="0"),
    Column("decay_downtime", DOUBLE_PRECISION, nullable=False, server_default="0"),
    Column("open_orders", Integer, nullable=False, server_default="0"),
    Column("overdue_orders", Integer, nullable=False, server_default="0"),
    _tz("next_due_at", nullable=True),
    Column("score", SmallInteger, nullable=False, server_default="100"),
    _tz("scored_at", nullable=False, now=True),
    Index("equipment_org_number_idx", "org_id", "number"),
    Index("equipment_org_score_idx", "org_id", "score", "id"),
    Index(
        "equipment_next_due_idx", "next_due_at", postgresql_where=text("next_due_at IS NOT NULL")
    ),
    Index("equipment_scored_at_idx", "scored_at"),
)

users = Table(
    "users",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("full_name", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("as_of", DateTime(timezone=True), comment="when the latest event applied happened"),
    Index("users_org_idx", "org_id"),
)

# --- work orders --------------------------------------------------------------------------

counters = Table(
    "counters",
    metadata,
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("year", SmallInteger, nullable=False),
    Column("value", Integer, nullable=False),
    PrimaryKeyConstraint("org_id", "year"),
)

work_orders = Table(
    "work_orders",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("number", Text, nullable=False),
    Column("equipment_id", UUID(as_uuid=True), ForeignKey("equipment.id"), nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text),
    Column("fault_codes", ARRAY(Text), nullable=False, server_default="{}"),
    Column("symptoms", ARRAY(Text), nullable=False, server_default="{}"),
    Column("priority", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("work_type", Text, nullable=False),
    Column("source", Text, nullable=False),
    _tz("due_at", nullable=False),
    Column("assignee_id", UUID(as_uuid=True)),
    Column("requester_id", UUID(as_uuid=True)),
    Column("estimated_minutes", Integer),
    Column("labour_minutes", Integer),
    _tz("downtime_start"),
    _tz("downtime_end"),
    _tz("created_at", nullable=False),
    _tz("updated_at", nullable=False),
    _tz("acknowledged_at"),
    _tz("started_at"),
    _tz("on_hold_at"),
    _tz("completed_at"),
    _tz("cancelled_at"),
    _tz("reopened_at"),
    _tz("status_changed_at", nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("idempotency_key", Text, comment="the creating request's key, unique per organization"),
    Column("request_hash", Text, comment="SHA-256 of the creating request (without its key)"),
    Column("plan_id", UUID(as_uuid=True), comment="the maintenance plan the order carries out"),
    Column(
        "overdue_announced_for",
        DateTime(timezone=True),
        comment="the due_at whose passing wo.overdue announced",
    ),
    Column(
        "attachment_count",
        Integer,
        nullable=False,
        server_default="0",
        comment="files attached (attachment.added less attachment.removed)",
    ),
    CheckConstraint(
        "priority IN ('low', 'medium', 'high', 'critical')", name="work_orders_priority_check"
    ),
    CheckConstraint(
        f"status IN ({sql_literals(WorkOrderStatus)})", name="work_orders_status_check"
    ),
    CheckConstraint(
        "work_type IN ('corrective', 'preventive', 'predictive', 'inspection')",
        name="work_orders_work_type_check",
    ),
    CheckConstraint(
        "downtime_end IS NULL OR (downtime_start IS NOT NULL AND downtime_end >= downtime_start)",
        name="work_orders_downtime_check",
    ),
    Index("work_orders_org_number_key", "org_id", "number", unique=True),
    Index(
        "work_orders_org_idempotency_key",
        "org_id",
        "idempotency_key",
        unique=True,
        postgresql_where=text("idempotency_key IS NOT NULL"),
    ),
    Index("work_orders_org_created_idx", "org_id", "created_at", "id"),
    Index("work_orders_org_status_created_idx", "org_id", "status", "created_at"),
    Index("work_orders_org_due_idx", "org_id", "due_at"),
    Index("work_orders_org_equipment_idx", "org_id", "equipment_id", "created_at"),
    Index("work_orders_open_due_idx", "org_id", "due_at", postgresql_where=OPEN),
    Index("work_orders_open_equipment_idx", "equipment_id", "due_at", postgresql_where=OPEN),
    Index(
        "work_orders_open_assignee_idx", "org_id", "assignee_id", "due_at", postgresql_where=OPEN
    ),
    Index(
        "work_orders_open_requester_idx",
        "org_id",
        "requester_id",
        "created_at",
        postgresql_where=OPEN,
    ),
    Index(
        "work_orders_unannounced_due_idx",
        "due_at",
        postgresql_where=UNANNOUNCED,
    ),
    Index(
        "work_orders_completed_assignee_idx",
        "org_id",
        "assignee_id",
        "completed_at",
        postgresql_where=text("status = 'completed'"),
    ),
)

timeline = Table(
    "timeline",
    metadata,
    Column(
        "id",
        BigInteger,
        Identity(always=True),
        primary_key=True,
        comment="internal: the order of entries (one sequence for all organizations); never shown",
    ),
    Column(
        "entry_id",
        UUID(as_uuid=True),
        nullable=False,
        server_default=text("gen_random_uuid()"),
        comment="the id callers see (TimelineEntry.id, wo.commented comment_id); random",
    ),
    Column("work_order_id", UUID(as_uuid=True), ForeignKey("work_orders.id"), nullable=False),
    Column("org_id", UUID(as_uuid=True), nullable=False),
    _tz("at", nullable=False),
    Column("kind", Text, nullable=False),
    Column("author_id", UUID(as_uuid=True)),
    Column("channel", Text),
    Column("from_status", Text),
    Column("to_status", Text),
    Column("body", Text, comment="comment text or transition reason"),
    Column("changes", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("timeline_work_order_idx", "work_order_id", "id"),
)

checklist_items = Table(
    "checklist_items",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("work_order_id", UUID(as_uuid=True), ForeignKey("work_orders.id"), nullable=False),
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("position", SmallInteger, nullable=False, comment="1 = the first item"),
    Column("text", Text, nullable=False),
    Column("required", Boolean, nullable=False, server_default="false"),
    Column("kind", Text, nullable=False),
    Column("low", DOUBLE_PRECISION, comment="number items: lowest good reading"),
    Column("high", DOUBLE_PRECISION, comment="number items: highest good reading"),
    Column("unit", Text),
    Column("done", Boolean, nullable=False, server_default="false"),
    Column("verdict", Text, comment="pass_fail items: pass or fail"),
    Column("reading", DOUBLE_PRECISION, comment="number items: the value read"),
    Column("note", Text),
    Column("done_by", UUID(as_uuid=True)),
    _tz("done_at"),
    CheckConstraint(f"kind IN ({sql_literals(ChecklistKind)})", name="checklist_items_kind_check"),
    CheckConstraint(
        f"verdict IS NULL OR verdict IN ({sql_literals(PassFail)})",
        name="checklist_items_verdict_check",
    ),
    CheckConstraint("position >= 1", name="checklist_items_position_check"),
    Index("checklist_items_order_position_key", "work_order_id", "position", unique=True),
)

OPEN_ORDERS = work_orders.c.status.in_(
    [literal_column(sql_literals([value])) for value in OPEN_STATUS_VALUES]
)
"""The backlog as a query condition, with literals like ``OPEN_STATUS_SQL``."""
COMPLETED_ORDERS = work_orders.c.status == literal_column("'completed'")

# --- rollups (kept by rollups/events.py from wo.* events) -------------------------------

rollup_state = Table(
    "rollup_state",
    metadata,
    Column("work_order_id", UUID(as_uuid=True), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("facts", JSONB, comment="the facts last counted; null before the first event"),
)

wo_counts = Table(
    "wo_counts",
    metadata,
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("priority", Text, nullable=False),
    Column("orders", Integer, nullable=False, server_default="0"),
    Column("estimated_minutes", BigInteger, nullable=False, server_default="0"),
    Column("unestimated", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("org_id", "status", "priority"),
)

wo_due = Table(
    "wo_due",
    metadata,
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("due_day", Date, nullable=False, comment="UTC day of due_at"),
    Column("orders", Integer, nullable=False, server_default="0", comment="open orders"),
    PrimaryKeyConstraint("org_id", "due_day"),
)

DAILY_COLUMNS = (
    "created",
    "completed",
    "cancelled",
    "reopened",
    "planned",
    "reactive",
    "acknowledged",
    "ack_seconds",
    "repaired",
    "repair_seconds",
    "downtime_seconds",
)

wo_daily = Table(
    "wo_daily",
    metadata,
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("day", Date, nullable=False, comment="UTC day"),
    *(Column(name, BigInteger, nullable=False, server_default="0") for name in DAILY_COLUMNS),
    PrimaryKeyConstraint("org_id", "day"),
)

fault_codes = Table(
    "fault_codes",
    metadata,
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("code", Text, nullable=False),
    Column("orders", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("org_id", "code"),
    Index("fault_codes_org_orders_idx", "org_id", "orders"),
)

equipment_counts = Table(
    "equipment_counts",
    metadata,
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("manufacturer", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("assets", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("org_id", "manufacturer", "status"),
)

org_health = Table(
    "org_health",
    metadata,
    Column("org_id", UUID(as_uuid=True), primary_key=True),
    Column("assets", Integer, nullable=False, server_default="0"),
    Column("score_sum", BigInteger, nullable=False, server_default="0"),
    Column("good", Integer, nullable=False, server_default="0"),
    Column("fair", Integer, nullable=False, server_default="0"),
    Column("poor", Integer, nullable=False, server_default="0"),
)

outbox, inbox, dead_letters = add_messaging_tables(metadata)
job_runs = add_job_table(metadata)
idempotency_keys = add_idempotency_table(metadata)
