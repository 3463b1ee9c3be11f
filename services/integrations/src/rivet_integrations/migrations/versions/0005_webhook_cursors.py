"""webhooks: a stream cursor per endpoint; the delivery log without a delivery row

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 01:00:00

Each endpoint reads its organization's stream through a cursor (``webhook_cursors``, owned by
one replica at a time by a lease); only the events that need more than the stream's first
attempt get a delivery row. The delivery log (``webhook_attempts``) therefore names the event
itself, and its delivery by a derived id that a row may or may not carry. Existing endpoints
start at the stream's end (``stream_seq`` NULL): their pending deliveries go on as rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "integrations"

BACKFILL = """
    UPDATE integrations.webhook_attempts a SET event_id = d.event_id, event_type = v.event_type
    FROM integrations.webhook_deliveries d JOIN integrations.webhook_events v
      ON v.event_id = d.event_id
    WHERE d.id = a.delivery_id
"""
ORPHANS = """
    DELETE FROM integrations.webhook_attempts a
    WHERE NOT EXISTS (SELECT 1 FROM integrations.webhook_deliveries d WHERE d.id = a.delivery_id)
"""


def upgrade() -> None:
    op.create_table(
        "webhook_cursors",
        sa.Column("endpoint_id", sa.UUID(), nullable=False),
        sa.Column(
            "stream_seq",
            sa.BigInteger(),
            nullable=True,
            comment="every event of the organization's stream up to here is done (sent, or a "
            "delivery row); NULL: start at the stream's end",
        ),
        sa.Column("delivered", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "owner", sa.Text(), nullable=True, comment="the replica sending for the endpoint"
        ),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"], [f"{SCHEMA}.webhook_endpoints.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("endpoint_id"),
        schema=SCHEMA,
    )
    op.create_table(
        "webhook_replicas",
        sa.Column("owner", sa.Text(), nullable=False, comment="a replica's fan-out"),
        sa.Column("seen_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner"),
        schema=SCHEMA,
    )
    op.execute(
        "INSERT INTO integrations.webhook_cursors (endpoint_id) "
        "SELECT id FROM integrations.webhook_endpoints"
    )
    op.add_column(
        "webhook_attempts", sa.Column("event_id", sa.UUID(), nullable=True), schema=SCHEMA
    )
    op.add_column(
        "webhook_attempts", sa.Column("event_type", sa.Text(), nullable=True), schema=SCHEMA
    )
    op.add_column(
        "webhook_attempts",
        sa.Column(
            "stream_seq",
            sa.BigInteger(),
            nullable=True,
            comment="in the organization's stream, if sent from it",
        ),
        schema=SCHEMA,
    )
    op.execute(BACKFILL)
    op.alter_column("webhook_attempts", "event_id", nullable=False, schema=SCHEMA)
    op.alter_column("webhook_attempts", "event_type", nullable=False, schema=SCHEMA)
    op.alter_column(
        "webhook_attempts",
        "delivery_id",
        comment="uuid5(endpoint, event): its delivery row's id, when it has one",
        schema=SCHEMA,
    )
    op.drop_constraint(
        "webhook_attempts_delivery_id_fkey", "webhook_attempts", schema=SCHEMA, type_="foreignkey"
    )
    op.create_foreign_key(
        "webhook_attempts_endpoint_id_fkey",
        "webhook_attempts",
        "webhook_endpoints",
        ["endpoint_id"],
        ["id"],
        source_schema=SCHEMA,
        referent_schema=SCHEMA,
        ondelete="CASCADE",
    )
    op.create_index(
        "webhook_attempts_time",
        "webhook_attempts",
        ["attempted_at"],
        schema=SCHEMA,
        postgresql_using="brin",
    )
    op.create_index("webhook_attempts_delivery", "webhook_attempts", ["delivery_id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("webhook_attempts_delivery", "webhook_attempts", schema=SCHEMA)
    op.drop_index("webhook_attempts_time", "webhook_attempts", schema=SCHEMA)
    op.drop_constraint(
        "webhook_attempts_endpoint_id_fkey", "webhook_attempts", schema=SCHEMA, type_="foreignkey"
    )
    op.execute(ORPHANS)
    op.create_foreign_key(
        "webhook_attempts_delivery_id_fkey",
        "webhook_attempts",
        "webhook_deliveries",
        ["delivery_id"],
        ["id"],
        source_schema=SCHEMA,
        referent_schema=SCHEMA,
        ondelete="CASCADE",
    )
    op.alter_column("webhook_attempts", "delivery_id", comment=None, schema=SCHEMA)
    op.drop_column("webhook_attempts", "stream_seq", schema=SCHEMA)
    op.drop_column("webhook_attempts", "event_type", schema=SCHEMA)
    op.drop_column("webhook_attempts", "event_id", schema=SCHEMA)
    op.drop_table("webhook_replicas", schema=SCHEMA)
    op.drop_table("webhook_cursors", schema=SCHEMA)
