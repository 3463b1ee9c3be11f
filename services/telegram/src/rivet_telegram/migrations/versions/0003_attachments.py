"""order_context and pending_files: photos and files sent in chat go on work orders

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_context",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False, comment="the Rivet user who opened it"),
        sa.Column("work_order", sa.Text(), nullable=False, comment="WO number"),
        sa.Column(
            "opened_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("chat_id"),
        schema="telegram",
    )
    op.create_table(
        "pending_files",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "file_id", sa.Text(), nullable=False, comment="Telegram's file id (downloaded again)"
        ),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("caption", sa.Text(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        schema="telegram",
    )
    op.create_index(
        "pending_files_created_at",
        "pending_files",
        ["created_at"],
        unique=False,
        schema="telegram",
    )


def downgrade() -> None:
    op.drop_index("pending_files_created_at", table_name="pending_files", schema="telegram")
    op.drop_table("pending_files", schema="telegram")
    op.drop_table("order_context", schema="telegram")
