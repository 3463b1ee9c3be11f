"""audit log: security events per organization, for its admins

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 06:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column("user_id", sa.UUID(), nullable=True, comment="whose account it concerned"),
        sa.Column("channel", sa.Text(), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}",
                  nullable=False),
        sa.PrimaryKeyConstraint("id"),
        comment="security events per organization, for its admins",
        schema="auth",
    )  # fmt: skip
    op.create_index("audit_log_org_idx", "audit_log", ["org_id", "id"], schema="auth")


def downgrade() -> None:
    op.drop_table("audit_log", schema="auth")
