"""initial: attachments, the organizations' usage, and the runtime's tables

Revision ID: 0001
Revises:
Create Date: 2026-12-07 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rivet_runtime.migrations import (
    create_idempotency_table,
    create_job_table,
    create_messaging_tables,
    drop_idempotency_table,
    drop_job_table,
    drop_messaging_tables,
)

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "attachments"


def upgrade() -> None:
    create_messaging_tables(SCHEMA)
    create_job_table(SCHEMA)
    create_idempotency_table(SCHEMA)
    now = sa.text("now()")
    op.create_table(
        "attachments",
        sa.Column("id", sa.UUID(), nullable=False, comment="UUID version 7"),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("record_kind", sa.Text(), nullable=False, comment="work_order or equipment"),
        sa.Column("record_id", sa.UUID(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("caption", sa.Text(), nullable=True),
        sa.Column("content_type", sa.Text(), nullable=False, comment="sniffed from the content"),
        sa.Column("kind", sa.Text(), nullable=False, comment="image, pdf, text or office"),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False, comment="the original as kept"),
        sa.Column(
            "stored_bytes", sa.BigInteger(), nullable=False, comment="original and renditions"
        ),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("original_key", sa.Text(), nullable=False),
        sa.Column("screen_key", sa.Text(), nullable=True),
        sa.Column("screen_type", sa.Text(), nullable=True),
        sa.Column("thumbnail_key", sa.Text(), nullable=True),
        sa.Column("thumbnail_type", sa.Text(), nullable=True),
        sa.Column("uploader_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by", sa.UUID(), nullable=True),
        sa.Column(
            "purged_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="its objects were deleted",
        ),
        sa.PrimaryKeyConstraint("id"),
        schema=SCHEMA,
    )
    op.create_index(
        "attachments_record",
        "attachments",
        ["org_id", "record_kind", "record_id", "id"],
        schema=SCHEMA,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "attachments_to_purge",
        "attachments",
        ["deleted_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("deleted_at IS NOT NULL AND purged_at IS NULL"),
    )
    op.create_table(
        "usage",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("bytes_used", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("files", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.PrimaryKeyConstraint("org_id"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("usage", schema=SCHEMA)
    op.drop_table("attachments", schema=SCHEMA)
    drop_idempotency_table(SCHEMA)
    drop_job_table(SCHEMA)
    drop_messaging_tables(SCHEMA)
