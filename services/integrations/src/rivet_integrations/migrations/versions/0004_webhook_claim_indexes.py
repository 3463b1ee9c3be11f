"""webhook deliveries: indexes that keep claiming cheap whatever the backlog

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 21:40:00

The delivery job looks, per endpoint, for its due pending deliveries in order and counts its
leased ones. With only ``webhook_deliveries_due`` (every pending delivery by time) each claim
read the whole backlog (1-2 s per claim at 300,000 pending deliveries). Per endpoint and in
order (``webhook_deliveries_endpoint_due``), and the few leased ones apart
(``webhook_deliveries_leased``), a claim reads about what it takes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "integrations"


def upgrade() -> None:
    op.create_index(
        "webhook_deliveries_endpoint_due",
        "webhook_deliveries",
        ["endpoint_id", "next_attempt_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "webhook_deliveries_leased",
        "webhook_deliveries",
        ["endpoint_id"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending' AND lease_until IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("webhook_deliveries_leased", "webhook_deliveries", schema=SCHEMA)
    op.drop_index("webhook_deliveries_endpoint_due", "webhook_deliveries", schema=SCHEMA)
