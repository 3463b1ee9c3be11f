"""initial

Revision ID: 0001
Revises:
Create Date: 2026-11-25 20:24:53.174188
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from rivet_runtime.migrations import create_messaging_tables, drop_messaging_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Trigram similarity for matching and search (a trusted extension since PostgreSQL 13).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    create_messaging_tables("assets")
    op.create_table(
        "equipment",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("manufacturer", sa.Text(), nullable=False, comment="canonical brand name"),
        sa.Column(
            "manufacturer_key", sa.Text(), nullable=False, comment="lower-case canonical brand"
        ),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column(
            "model_norm", sa.Text(), nullable=True, comment="upper-case, letters and digits only"
        ),
        sa.Column("serial", sa.Text(), nullable=True),
        sa.Column(
            "serial_norm", sa.Text(), nullable=True, comment="upper-case, letters and digits only"
        ),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("equipment_type", sa.Text(), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("department", sa.Text(), nullable=True),
        sa.Column("criticality", sa.Text(), server_default="medium", nullable=False),
        sa.Column("status", sa.Text(), server_default="in_service", nullable=False),
        sa.Column("parent_id", sa.UUID(), nullable=True),
        sa.Column("installed_on", sa.Date(), nullable=True),
        sa.Column(
            "ratings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("photo_ref", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
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
        sa.Column("retired_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "criticality IN ('low', 'medium', 'high', 'critical')",
            name="equipment_criticality_check",
        ),
        sa.CheckConstraint(
            "status IN ('in_service', 'out_of_service', 'retired')", name="equipment_status_check"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["assets.equipment.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        schema="assets",
    )
    op.create_index(
        "equipment_org_brand_model_idx",
        "equipment",
        ["org_id", "manufacturer_key", "model_norm"],
        unique=False,
        schema="assets",
    )
    op.create_index(
        "equipment_org_created_idx",
        "equipment",
        ["org_id", "created_at"],
        unique=False,
        schema="assets",
    )
    op.create_index(
        "equipment_org_location_idx",
        "equipment",
        ["org_id", "location"],
        unique=False,
        schema="assets",
        postgresql_ops={"location": "text_pattern_ops"},
    )
    op.create_index(
        "equipment_org_number_key", "equipment", ["org_id", "number"], unique=True, schema="assets"
    )
    op.create_index(
        "equipment_org_parent_idx",
        "equipment",
        ["org_id", "parent_id"],
        unique=False,
        schema="assets",
    )
    op.create_index(
        "equipment_org_serial_key",
        "equipment",
        ["org_id", "serial_norm"],
        unique=True,
        schema="assets",
        postgresql_where=sa.text("serial_norm IS NOT NULL"),
    )
    op.create_index(
        "equipment_org_status_idx", "equipment", ["org_id", "status"], unique=False, schema="assets"
    )
    op.create_index(
        "equipment_org_type_idx",
        "equipment",
        ["org_id", "equipment_type"],
        unique=False,
        schema="assets",
    )
    op.create_index(
        "equipment_org_updated_idx",
        "equipment",
        ["org_id", "updated_at"],
        unique=False,
        schema="assets",
    )
    op.create_table(
        "equipment_numbers",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "year"),
        schema="assets",
    )
    op.create_table(
        "imports",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column(
            "role", sa.Text(), nullable=False, comment="role of the importer, for the rows' checks"
        ),
        sa.Column("filename", sa.Text(), nullable=True),
        sa.Column("upload_key", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("total_rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("processed_rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created", sa.Integer(), server_default="0", nullable=False),
        sa.Column("matched", sa.Integer(), server_default="0", nullable=False),
        sa.Column("possible_duplicates", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rejected", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "columns",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "ignored_columns",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "lease_until",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="a worker holds the job until then",
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        schema="assets",
    )
    op.create_index(
        "imports_unfinished_idx",
        "imports",
        ["status"],
        unique=False,
        schema="assets",
        postgresql_where=sa.text("finished_at IS NULL"),
    )
    op.create_table(
        "equipment_history",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("equipment_id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column("channel", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["equipment_id"],
            ["assets.equipment.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        schema="assets",
    )
    op.create_index(
        "equipment_history_equipment_idx",
        "equipment_history",
        ["equipment_id", "id"],
        unique=False,
        schema="assets",
    )
    op.create_table(
        "import_rows",
        sa.Column("import_id", sa.UUID(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("equipment_id", sa.UUID(), nullable=True),
        sa.Column("equipment_number", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["assets.imports.id"],
        ),
        sa.PrimaryKeyConstraint("import_id", "row"),
        schema="assets",
    )


def downgrade() -> None:
    op.drop_table("import_rows", schema="assets")
    op.drop_index(
        "equipment_history_equipment_idx", table_name="equipment_history", schema="assets"
    )
    op.drop_table("equipment_history", schema="assets")
    drop_messaging_tables("assets")
    op.drop_index(
        "imports_unfinished_idx",
        table_name="imports",
        schema="assets",
        postgresql_where=sa.text("finished_at IS NULL"),
    )
    op.drop_table("imports", schema="assets")
    op.drop_table("equipment_numbers", schema="assets")
    op.drop_index("equipment_org_updated_idx", table_name="equipment", schema="assets")
    op.drop_index("equipment_org_type_idx", table_name="equipment", schema="assets")
    op.drop_index("equipment_org_status_idx", table_name="equipment", schema="assets")
    op.drop_index(
        "equipment_org_serial_key",
        table_name="equipment",
        schema="assets",
        postgresql_where=sa.text("serial_norm IS NOT NULL"),
    )
    op.drop_index("equipment_org_parent_idx", table_name="equipment", schema="assets")
    op.drop_index("equipment_org_number_key", table_name="equipment", schema="assets")
    op.drop_index(
        "equipment_org_location_idx",
        table_name="equipment",
        schema="assets",
        postgresql_ops={"location": "text_pattern_ops"},
    )
    op.drop_index("equipment_org_created_idx", table_name="equipment", schema="assets")
    op.drop_index("equipment_org_brand_model_idx", table_name="equipment", schema="assets")
    op.drop_table("equipment", schema="assets")
