"""checklists and plans: an order's checklist items with their results, the plan it carries out

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 15:00:00

``checklist_items``: the steps of an order, in order (``position``, 1 = the first), each with
what it records (``kind``: check, pass_fail, number; limits and unit for readings) and its
result (``done``, ``verdict`` or ``reading``, ``note``, who and when). ``work_orders.plan_id``:
the maintenance plan whose occurrence opened the order (null for the orders that exist).
Both only add: the previous release keeps working during a rolling upgrade.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "work_orders",
        sa.Column(
            "plan_id",
            sa.UUID(),
            nullable=True,
            comment="the maintenance plan the order carries out",
        ),
        schema="workorders",
    )
    op.create_table(
        "checklist_items",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("work_order_id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False, comment="1 = the first item"),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("required", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column(
            "low",
            postgresql.DOUBLE_PRECISION(),
            nullable=True,
            comment="number items: lowest good reading",
        ),
        sa.Column(
            "high",
            postgresql.DOUBLE_PRECISION(),
            nullable=True,
            comment="number items: highest good reading",
        ),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("done", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("verdict", sa.Text(), nullable=True, comment="pass_fail items: pass or fail"),
        sa.Column(
            "reading",
            postgresql.DOUBLE_PRECISION(),
            nullable=True,
            comment="number items: the value read",
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("done_by", sa.UUID(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('check', 'pass_fail', 'number')", name="checklist_items_kind_check"
        ),
        sa.CheckConstraint(
            "verdict IS NULL OR verdict IN ('pass', 'fail')", name="checklist_items_verdict_check"
        ),
        sa.CheckConstraint("position >= 1", name="checklist_items_position_check"),
        sa.ForeignKeyConstraint(["work_order_id"], ["workorders.work_orders.id"]),
        sa.PrimaryKeyConstraint("id"),
        schema="workorders",
    )
    op.create_index(
        "checklist_items_order_position_key",
        "checklist_items",
        ["work_order_id", "position"],
        unique=True,
        schema="workorders",
    )


def downgrade() -> None:
    op.drop_index(
        "checklist_items_order_position_key", table_name="checklist_items", schema="workorders"
    )
    op.drop_table("checklist_items", schema="workorders")
    op.drop_column("work_orders", "plan_id", schema="workorders")
