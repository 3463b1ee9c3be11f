"""passwords: reset links, password changes, mail, last login and e-mail verification

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 05:00:00

- ``password_reset_requests``: every "forgot password" request, whether or not the address has
  an account (the request does the same work either way); the ``password-resets`` job turns
  them into reset links.
- ``password_resets``: one-time reset tokens (SHA-256 of 256 random bits), 30 minutes, once.
- ``mail_outbox`` (the runtime's mail table).
- ``users.email_verified``, ``users.last_login_at``, ``users.password_changed_at``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from rivet_runtime.migrations import create_mail_table, drop_mail_table

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for column in (
        sa.Column("email_verified", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
    ):
        op.add_column("users", column, schema="auth")
    op.create_table(
        "password_reset_requests",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("email", sa.Text(), nullable=False,
                  comment="as asked, lower-cased; maybe no account's"),
        sa.Column("requested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.PrimaryKeyConstraint("id"),
        comment="asked for, not yet looked at (the `password-resets` job)",
        schema="auth",
    )  # fmt: skip
    op.create_table(
        "password_resets",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", postgresql.BYTEA(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["auth.users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
        schema="auth",
    )  # fmt: skip
    op.create_index(
        "password_resets_user_idx", "password_resets", ["user_id", "created_at"], schema="auth"
    )
    create_mail_table("auth")


def downgrade() -> None:
    drop_mail_table("auth")
    op.drop_table("password_resets", schema="auth")
    op.drop_table("password_reset_requests", schema="auth")
    for name in ("password_changed_at", "last_login_at", "email_verified"):
        op.drop_column("users", name, schema="auth")
