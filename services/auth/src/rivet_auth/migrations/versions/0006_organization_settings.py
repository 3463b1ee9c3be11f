"""organization settings: time zone and working hours per week

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "organizations",
        sa.Column("time_zone", sa.Text(), server_default="UTC", nullable=False),
        schema="auth",
    )
    op.add_column(
        "organizations",
        sa.Column("working_hours_per_week", sa.Float(), server_default="40", nullable=False),
        schema="auth",
    )


def downgrade() -> None:
    op.drop_column("organizations", "working_hours_per_week", schema="auth")
    op.drop_column("organizations", "time_zone", schema="auth")
