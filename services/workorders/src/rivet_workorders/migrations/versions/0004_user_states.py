"""user states: the members replica knows who is switched off, and since when

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 05:30:00

``users.active`` (a deactivated member cannot be assigned work) and ``users.as_of`` (when the
latest event applied happened: an older event arriving late through another consumer changes
nothing).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        schema="workorders",
    )
    op.add_column(
        "users",
        sa.Column(
            "as_of",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="when the latest event applied happened",
        ),
        schema="workorders",
    )


def downgrade() -> None:
    op.drop_column("users", "as_of", schema="workorders")
    op.drop_column("users", "active", schema="workorders")
