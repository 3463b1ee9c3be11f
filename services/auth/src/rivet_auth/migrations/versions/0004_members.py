"""members: revoked sessions, for the gateway's token check

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 05:30:00

``session_revocations``: access tokens of a session (a logout, a stolen refresh token) or of a
user (a new password, another role, deactivation) issued at or before ``revoked_at`` are
refused. The gateway loads them at start and hears new ones as ``user.sessions_revoked``; rows
older than an access token's lifetime are pruned.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_revocations",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("session_id", sa.UUID(), nullable=True,
                  comment="null: every session of the user"),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        comment="access tokens issued at or before revoked_at are refused "
        "(kept for their lifetime)",
        schema="auth",
    )  # fmt: skip
    op.create_index(
        "session_revocations_at_idx", "session_revocations", ["revoked_at"], schema="auth"
    )


def downgrade() -> None:
    op.drop_table("session_revocations", schema="auth")
