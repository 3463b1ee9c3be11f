"""forecast pages: an organization's active meter plans

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 17:50:00

``plans_meter_active_idx`` on ``(org_id, equipment_id)`` of the active meter plans: each page
of the forecast reads an organization's (or an asset's) meter plans, a few among its calendar
plans, without reading the others.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "maintenance"


def upgrade() -> None:
    op.execute(
        "CREATE INDEX plans_meter_active_idx ON maintenance.plans (org_id, equipment_id) "
        "WHERE status = 'active' AND trigger_kind = 'meter'"
    )


def downgrade() -> None:
    op.drop_index("plans_meter_active_idx", table_name="plans", schema=SCHEMA)
