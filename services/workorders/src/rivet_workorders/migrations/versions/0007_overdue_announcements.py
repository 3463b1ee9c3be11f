"""overdue announcements: the due date whose passing ``wo.overdue`` announced

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 18:00:00

``work_orders.overdue_announced_for``: the ``due_at`` an order had when ``wo.overdue`` was
written for it (null: never announced). An open order whose due date has passed and differs
from it is announced by the ``overdue`` job; a new deadline that passes is announced again.
The partial index holds only the open orders not announced for their deadline, so the job's
pass reads a few index entries, not the backlog. Open orders already past due at the upgrade
are marked announced: they were overdue before the event existed, and an upgrade should not
flood subscribers with old news. Only adds: the previous release keeps working during a
rolling upgrade (it never sets the column).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('open', 'in_progress', 'on_hold')"


def upgrade() -> None:
    op.add_column(
        "work_orders",
        sa.Column(
            "overdue_announced_for",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="the due_at whose passing wo.overdue announced",
        ),
        schema="workorders",
    )
    op.execute(
        f"UPDATE workorders.work_orders SET overdue_announced_for = due_at "  # noqa: S608 - literals
        f"WHERE {OPEN} AND due_at < now()"
    )
    op.create_index(
        "work_orders_unannounced_due_idx",
        "work_orders",
        ["due_at"],
        schema="workorders",
        postgresql_where=sa.text(f"{OPEN} AND overdue_announced_for IS DISTINCT FROM due_at"),
    )


def downgrade() -> None:
    op.drop_index("work_orders_unannounced_due_idx", table_name="work_orders", schema="workorders")
    op.drop_column("work_orders", "overdue_announced_for", schema="workorders")
