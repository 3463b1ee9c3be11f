"""initial: plans, meters, readings, occurrences, the time-zone replica and the runtime's tables

Revision ID: 0001
Revises:
Create Date: 2026-12-07 06:41:43
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from rivet_runtime.migrations import (
    create_job_table,
    create_messaging_tables,
    drop_job_table,
    drop_messaging_tables,
)

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "maintenance"


def upgrade() -> None:
    create_messaging_tables(SCHEMA)
    create_job_table(SCHEMA)
    op.create_table(
        "meters",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("equipment_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False, comment="h, cycles, km, degC, mm/s, bar ..."),
        sa.Column("low_limit", sa.Numeric(), nullable=True),
        sa.Column("high_limit", sa.Numeric(), nullable=True),
        sa.Column("deadband", sa.Numeric(), server_default="0", nullable=False),
        sa.Column("last_value", sa.Numeric(), nullable=True, comment="the newest reading"),
        sa.Column("last_read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "excursion_side",
            sa.Text(),
            nullable=True,
            comment="gauges: the open excursion's side, if any",
        ),
        sa.Column("excursion_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("excursions", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("excursion_side IN ('low', 'high')", name="meters_excursion_side_check"),
        sa.CheckConstraint(
            "kind = 'gauge' OR (low_limit IS NULL AND high_limit IS NULL AND excursion_side IS NULL)",
            name="meters_counter_limits_check",
        ),
        sa.CheckConstraint("kind IN ('counter', 'gauge')", name="meters_kind_check"),
        sa.CheckConstraint("deadband >= 0", name="meters_deadband_check"),
        sa.PrimaryKeyConstraint("id"),
        schema=SCHEMA,
    )
    op.create_index(
        "meters_org_equipment_idx",
        "meters",
        ["org_id", "equipment_id"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_table(
        "organizations",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("time_zone", sa.Text(), nullable=False, comment="IANA name, e.g. Europe/Berlin"),
        sa.Column(
            "as_of",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="when the event applied happened; newer ones win",
        ),
        sa.Column(
            "replicated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("org_id"),
        schema=SCHEMA,
    )
    op.create_table(
        "plans",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("equipment_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=True),
        sa.Column(
            "checklist",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
            comment="the checklist template each order gets",
        ),
        sa.Column("priority", sa.Text(), server_default="medium", nullable=False),
        sa.Column("work_type", sa.Text(), server_default="preventive", nullable=False),
        sa.Column("estimated_hours", sa.Numeric(precision=7, scale=2), nullable=True),
        sa.Column(
            "assignee_id", sa.UUID(), nullable=True, comment="the default assignee of its orders"
        ),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("trigger_kind", sa.Text(), nullable=False),
        sa.Column(
            "trigger",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the trigger definition (plans.triggers)",
        ),
        sa.Column("meter_id", sa.UUID(), nullable=True),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "next_opens_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="when the next occurrence's order opens",
        ),
        sa.Column(
            "meter_base", sa.Numeric(), nullable=True, comment="counter reading at the last service"
        ),
        sa.Column("last_completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "(trigger_kind = 'calendar') = (meter_id IS NULL)", name="plans_meter_check"
        ),
        sa.CheckConstraint("jsonb_typeof(checklist) = 'array'", name="plans_checklist_check"),
        sa.CheckConstraint("jsonb_typeof(trigger) = 'object'", name="plans_trigger_check"),
        sa.CheckConstraint(
            "priority IN ('low', 'medium', 'high', 'critical')", name="plans_priority_check"
        ),
        sa.CheckConstraint("status IN ('active', 'paused')", name="plans_status_check"),
        sa.CheckConstraint(
            "trigger_kind IN ('calendar', 'meter', 'condition')", name="plans_trigger_kind_check"
        ),
        sa.CheckConstraint(
            "work_type IN ('preventive', 'predictive', 'inspection')", name="plans_work_type_check"
        ),
        sa.CheckConstraint(
            "estimated_hours IS NULL OR estimated_hours >= 0", name="plans_estimated_hours_check"
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"],
            [f"{SCHEMA}.meters.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        schema=SCHEMA,
    )
    op.create_index(
        "plans_meter_idx",
        "plans",
        ["meter_id"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("meter_id IS NOT NULL"),
    )
    op.create_index(
        "plans_opening_idx",
        "plans",
        ["next_opens_at"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'active' AND next_opens_at IS NOT NULL"),
    )
    op.create_index(
        "plans_org_created_idx",
        "plans",
        ["org_id", "created_at", "id"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_index(
        "plans_org_equipment_idx", "plans", ["org_id", "equipment_id"], unique=False, schema=SCHEMA
    )
    op.create_table(
        "readings",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("meter_id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("value", sa.Numeric(), nullable=False),
        sa.Column(
            "read_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="when the meter showed the value",
        ),
        sa.Column("source", sa.Text(), nullable=False, comment="api, telegram, device, completion"),
        sa.Column("author_id", sa.UUID(), nullable=True),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"],
            [f"{SCHEMA}.meters.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        schema=SCHEMA,
    )
    op.create_index(
        "readings_meter_read_at_idx",
        "readings",
        ["meter_id", "read_at"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_table(
        "occurrences",
        sa.Column("id", sa.UUID(), nullable=False, comment="schedule.keys.key_uuid(key)"),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("plan_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False, comment="the idempotency key (schedule.keys)"),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "deadline_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="due plus the grace: on time until then",
        ),
        sa.Column(
            "threshold",
            sa.Numeric(),
            nullable=True,
            comment="meter plans: the counter reading it is due at",
        ),
        sa.Column(
            "excursion",
            sa.Integer(),
            nullable=True,
            comment="condition plans: the meter's excursion index",
        ),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("work_order_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "completed_reading",
            sa.Numeric(),
            nullable=True,
            comment="meter plans: the counter at completion",
        ),
        sa.CheckConstraint(
            "status <> 'open' OR work_order_id IS NOT NULL", name="occurrences_open_order_check"
        ),
        sa.CheckConstraint(
            "status IN ('opening', 'open', 'completed', 'cancelled', 'skipped')",
            name="occurrences_status_check",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            [f"{SCHEMA}.plans.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        schema=SCHEMA,
    )
    op.create_index(
        "occurrences_active_due_idx",
        "occurrences",
        ["org_id", "due_at"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("status IN ('opening', 'open')"),
    )
    op.create_index("occurrences_key_key", "occurrences", ["key"], unique=True, schema=SCHEMA)
    op.create_index(
        "occurrences_org_due_idx", "occurrences", ["org_id", "due_at"], unique=False, schema=SCHEMA
    )
    op.create_index(
        "occurrences_plan_idx",
        "occurrences",
        ["plan_id", "created_at"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_index(
        "occurrences_work_order_key",
        "occurrences",
        ["work_order_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("work_order_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "occurrences_work_order_key",
        table_name="occurrences",
        schema=SCHEMA,
        postgresql_where=sa.text("work_order_id IS NOT NULL"),
    )
    op.drop_index("occurrences_plan_idx", table_name="occurrences", schema=SCHEMA)
    op.drop_index("occurrences_org_due_idx", table_name="occurrences", schema=SCHEMA)
    op.drop_index("occurrences_key_key", table_name="occurrences", schema=SCHEMA)
    op.drop_index(
        "occurrences_active_due_idx",
        table_name="occurrences",
        schema=SCHEMA,
        postgresql_where=sa.text("status IN ('opening', 'open')"),
    )
    op.drop_table("occurrences", schema=SCHEMA)
    op.drop_index("readings_meter_read_at_idx", table_name="readings", schema=SCHEMA)
    op.drop_table("readings", schema=SCHEMA)
    op.drop_index("plans_org_equipment_idx", table_name="plans", schema=SCHEMA)
    op.drop_index("plans_org_created_idx", table_name="plans", schema=SCHEMA)
    op.drop_index(
        "plans_opening_idx",
        table_name="plans",
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'active' AND next_opens_at IS NOT NULL"),
    )
    op.drop_index(
        "plans_meter_idx",
        table_name="plans",
        schema=SCHEMA,
        postgresql_where=sa.text("meter_id IS NOT NULL"),
    )
    op.drop_table("plans", schema=SCHEMA)
    op.drop_table("organizations", schema=SCHEMA)
    op.drop_index("meters_org_equipment_idx", table_name="meters", schema=SCHEMA)
    op.drop_table("meters", schema=SCHEMA)
    drop_job_table(SCHEMA)
    drop_messaging_tables(SCHEMA)
