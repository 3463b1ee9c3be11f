"""The ``integrations`` schema. Only this service reads or writes it.

- ``org_streams``: the organizations' streams the exporter has created (``ORG_<org id hex>``),
  one row per organization, for operators;
- ``webhook_endpoints``: the organizations' webhook endpoints (URL, event types, secrets);
- ``webhook_cursors``: one per endpoint: how far it has read its organization's stream (the
  happy path of the fan-out, docs/adr/0022-webhook-fan-out-by-stream-cursor.md), which replica
  owns it (a lease) and how many events it delivered from the stream;
- ``webhook_replicas``: the replicas sending webhooks, alive until ``seen_until`` (they share
  the endpoints among them);
- ``webhook_events``: the events a delivery row needs, bytes as published (one that failed
  from the stream, a redelivery, a replay);
- ``webhook_deliveries``: one per (event, endpoint) that needs more than the stream's first
  attempt, with its retry state; the queue of the retry job;
- ``webhook_attempts``: each attempt (the endpoint's delivery log): those from the stream,
  written in batches, and those of delivery rows;
- the runtime's messaging and job tables (outbox, inbox, dead letters, job runs).
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from rivet_runtime.tables import add_idempotency_table, add_job_table, add_messaging_tables

SCHEMA = "integrations"
metadata = MetaData(schema=SCHEMA)

org_streams = Table(
    "org_streams",
    metadata,
    Column("org_id", UUID(as_uuid=True), primary_key=True),
    Column("stream", Text, nullable=False, comment="ORG_<org id hex>, without the namespace"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

add_messaging_tables(metadata)
add_job_table(metadata)
add_idempotency_table(metadata)

# --- webhooks -------------------------------------------------------------------------------

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("url", Text, nullable=False),
    Column("event_types", ARRAY(Text), nullable=False),
    Column("description", Text),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", Text),
    Column("secret", Text, nullable=False),
    Column("previous_secret", Text),
    Column("previous_secret_expires_at", DateTime(timezone=True)),
    Column("last_success_at", DateTime(timezone=True)),
    Column("failing_since", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("webhook_endpoints_org", "org_id"),
)

webhook_events = Table(
    "webhook_events",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True, comment="also the webhooks' inbox"),
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("event_type", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("body", LargeBinary, nullable=False, comment="the envelope, bytes as published"),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("webhook_events_org_time", "org_id", "occurred_at"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "endpoint_id",
        UUID(as_uuid=True),
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "event_id",
        UUID(as_uuid=True),
        ForeignKey("webhook_events.event_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("status", Text, nullable=False),
    Column("tries", Integer, nullable=False, server_default="0", comment="since (re)queued"),
    Column("attempts", Integer, nullable=False, server_default="0", comment="in all"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("lease_until", DateTime(timezone=True), comment="being sent until then"),
    Column("queued_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("endpoint_id", "event_id"),
    Index(
        "webhook_deliveries_due",
        "next_attempt_at",
        postgresql_where=text("status = 'pending'"),
    ),
    Index(
        "webhook_deliveries_endpoint_due",
        "endpoint_id",
        "next_attempt_at",
        postgresql_where=text("status = 'pending'"),
    ),
    Index(
        "webhook_deliveries_leased",
        "endpoint_id",
        postgresql_where=text("status = 'pending' AND lease_until IS NOT NULL"),
    ),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column(
        "delivery_id",
        UUID(as_uuid=True),
        nullable=False,
        comment="uuid5(endpoint, event): its delivery row's id, when it has one",
    ),
    Column(
        "endpoint_id",
        UUID(as_uuid=True),
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("attempt", Integer, nullable=False),
    Column("attempted_at", DateTime(timezone=True), nullable=False),
    Column("status_code", Integer),
    Column("duration_ms", Integer, nullable=False),
    Column("error", Text),
    Column("delivered", Boolean, nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("event_type", Text, nullable=False),
    Column("stream_seq", BigInteger, comment="in the organization's stream, if sent from it"),
    Index("webhook_attempts_endpoint", "endpoint_id", "id"),
    Index("webhook_attempts_time", "attempted_at", postgresql_using="brin"),
    Index("webhook_attempts_delivery", "delivery_id"),
)

webhook_replicas = Table(
    "webhook_replicas",
    metadata,
    Column("owner", Text, primary_key=True, comment="a replica's fan-out"),
    Column("seen_until", DateTime(timezone=True), nullable=False),
)

webhook_cursors = Table(
    "webhook_cursors",
    metadata,
    Column(
        "endpoint_id",
        UUID(as_uuid=True),
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "stream_seq",
        BigInteger,
        comment="every event of the organization's stream up to here is done (sent, or a "
        "delivery row); NULL: start at the stream's end",
    ),
    Column("delivered", BigInteger, nullable=False, server_default="0"),
    Column("owner", Text, comment="the replica sending for the endpoint"),
    Column("lease_until", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
