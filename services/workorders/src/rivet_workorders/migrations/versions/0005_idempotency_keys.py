"""idempotency keys: a create sent again with the same key answers with the order it made

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 07:30:00

``work_orders.idempotency_key`` (unique per organization where given: the index decides
between two creates that race) and ``request_hash`` (the creating request, to tell a repeat
from a different request under the same key). Both columns are null for existing orders.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "work_orders",
        sa.Column(
            "idempotency_key",
            sa.Text(),
            nullable=True,
            comment="the creating request's key, unique per organization",
        ),
        schema="workorders",
    )
    op.add_column(
        "work_orders",
        sa.Column(
            "request_hash",
            sa.Text(),
            nullable=True,
            comment="SHA-256 of the creating request (without its key)",
        ),
        schema="workorders",
    )
    op.create_index(
        "work_orders_org_idempotency_key",
        "work_orders",
        ["org_id", "idempotency_key"],
        unique=True,
        schema="workorders",
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("work_orders_org_idempotency_key", "work_orders", schema="workorders")
    op.drop_column("work_orders", "request_hash", schema="workorders")
    op.drop_column("work_orders", "idempotency_key", schema="workorders")
