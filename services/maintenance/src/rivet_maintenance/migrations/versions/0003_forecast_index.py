"""forecast: active calendar plans in the order of their next occurrence

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 15:55:00

``plans_forecast_idx`` on ``(org_id, next_due_at, title COLLATE "C", id)`` of the active
calendar plans: the forecast reads an organization's plans in the order of its answer (due
time, title, plan) a page at a time and stops once the rest come later, so a large
organization's forecast reads a few pages of an index instead of sorting every plan.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "maintenance"


def upgrade() -> None:
    op.execute(
        'CREATE INDEX plans_forecast_idx ON maintenance.plans (org_id, next_due_at, title COLLATE "C", id) '
        "WHERE status = 'active' AND trigger_kind = 'calendar'"
    )


def downgrade() -> None:
    op.drop_index("plans_forecast_idx", table_name="plans", schema=SCHEMA)
