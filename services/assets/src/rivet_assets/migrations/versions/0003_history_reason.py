"""history reason: why an asset was retired or returned to service

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 02:00:00

Retirement and reinstatement are decisions with a reason; the history keeps it beside the
changes. Past retirements get theirs from ``equipment.retired_reason`` where it still holds.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "equipment_history", sa.Column("reason", sa.Text(), nullable=True), schema="assets"
    )
    op.execute(
        """
        UPDATE assets.equipment_history h SET reason = h.changes -> 'retired_reason' ->> 1
         WHERE h.action = 'retired' AND h.changes ? 'retired_reason'
        """
    )


def downgrade() -> None:
    op.drop_column("equipment_history", "reason", schema="assets")
