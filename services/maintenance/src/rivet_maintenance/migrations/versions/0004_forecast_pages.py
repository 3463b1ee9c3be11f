"""forecast pages: plans and open occurrences in the order of the forecast's items

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 17:30:00

The forecast answers a page at a time in the order of its items: due time, then plan. Its
indexes follow that order:

- ``plans_calendar_next_idx`` on ``(org_id, next_due_at, id)`` of the active calendar plans
  (replaces ``plans_forecast_idx``, which ordered by title before the plan);
- ``plans_calendar_assignee_idx`` on ``(org_id, assignee_id, next_due_at, id)`` of those with
  an assignee: an assignee's forecast reads their plans in order, not the organization's;
- ``occurrences_active_due_idx`` on ``(org_id, due_at, plan_id)`` of the occurrences open or
  being opened (was ``(org_id, due_at)``): many occurrences due at the same time are read in
  the order of the page, not sorted.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "maintenance"
CALENDAR = "status = 'active' AND trigger_kind = 'calendar'"
ACTIVE = "status IN ('opening', 'open')"


def upgrade() -> None:
    op.drop_index("plans_forecast_idx", table_name="plans", schema=SCHEMA)
    op.execute(
        "CREATE INDEX plans_calendar_next_idx ON maintenance.plans (org_id, next_due_at, id) "
        f"WHERE {CALENDAR}"
    )
    op.execute(
        "CREATE INDEX plans_calendar_assignee_idx ON maintenance.plans "
        f"(org_id, assignee_id, next_due_at, id) WHERE {CALENDAR} AND assignee_id IS NOT NULL"
    )
    op.drop_index("occurrences_active_due_idx", table_name="occurrences", schema=SCHEMA)
    op.execute(
        "CREATE INDEX occurrences_active_due_idx ON maintenance.occurrences "
        f"(org_id, due_at, plan_id) WHERE {ACTIVE}"
    )


def downgrade() -> None:
    op.drop_index("occurrences_active_due_idx", table_name="occurrences", schema=SCHEMA)
    op.execute(
        f"CREATE INDEX occurrences_active_due_idx ON maintenance.occurrences (org_id, due_at) "
        f"WHERE {ACTIVE}"
    )
    op.drop_index("plans_calendar_assignee_idx", table_name="plans", schema=SCHEMA)
    op.drop_index("plans_calendar_next_idx", table_name="plans", schema=SCHEMA)
    op.execute(
        'CREATE INDEX plans_forecast_idx ON maintenance.plans (org_id, next_due_at, title COLLATE "C", id) '
        f"WHERE {CALENDAR}"
    )
