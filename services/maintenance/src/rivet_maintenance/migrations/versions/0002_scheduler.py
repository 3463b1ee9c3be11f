"""scheduler: plan authors and the overlap flag; occurrences keep their work-order request,
lease, attempts and outcome

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 14:10:00

``plans.author_id`` (orders are requested in the name of the admin who created, last changed or
resumed the plan) and ``allow_overlap``. ``occurrences.request`` is the work-order request,
stored with the occurrence and sent unchanged until its order is open (the work-order service
compares a repeated idempotency key's request); ``lease_until``, ``attempts`` and
``last_error`` are the opener's; ``work_order_number`` and ``on_time`` what came of it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "maintenance"


def upgrade() -> None:
    op.add_column(
        "plans",
        sa.Column(
            "author_id",
            sa.UUID(),
            nullable=True,
            comment="the admin who created, last changed or resumed it: orders are requested "
            "in their name",
        ),
        schema=SCHEMA,
    )
    op.add_column(
        "plans",
        sa.Column(
            "allow_overlap",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
            comment="open the next order even while the previous one is open",
        ),
        schema=SCHEMA,
    )
    columns = [
        sa.Column(
            "request",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="the work-order request, sent unchanged until its order is open",
        ),
        sa.Column("work_order_number", sa.Text(), nullable=True),
        sa.Column(
            "on_time",
            sa.Boolean(),
            nullable=True,
            comment="completed calendar and meter occurrences",
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "lease_until",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="a scheduler is requesting its order until then",
        ),
        sa.Column(
            "last_error",
            sa.Text(),
            nullable=True,
            comment="why the last request for its order failed",
        ),
    ]
    for column in columns:
        op.add_column("occurrences", column, schema=SCHEMA)
    op.create_index(
        "occurrences_opening_idx",
        "occurrences",
        ["created_at"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'opening'"),
    )


def downgrade() -> None:
    op.drop_index(
        "occurrences_opening_idx",
        table_name="occurrences",
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'opening'"),
    )
    for name in ("last_error", "lease_until", "attempts", "on_time", "work_order_number"):
        op.drop_column("occurrences", name, schema=SCHEMA)
    op.drop_column("occurrences", "request", schema=SCHEMA)
    op.drop_column("plans", "allow_overlap", schema=SCHEMA)
    op.drop_column("plans", "author_id", schema=SCHEMA)
