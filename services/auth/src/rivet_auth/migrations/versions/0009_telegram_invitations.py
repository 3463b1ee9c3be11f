"""invitations without an e-mail address: joined in Telegram with a deep link

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column(
        "invitations",
        "email",
        existing_type=sa.Text(),
        nullable=True,
        comment="null: joined in Telegram only",
        schema="auth",
    )


def downgrade() -> None:
    op.execute("DELETE FROM auth.invitations WHERE email IS NULL")
    op.alter_column(
        "invitations",
        "email",
        existing_type=sa.Text(),
        nullable=False,
        comment=None,
        existing_comment="null: joined in Telegram only",
        schema="auth",
    )
