"""Tables every service keeps in its own schema for reliable messaging.

- ``outbox``: events written in the business transaction, published later by the relay.
- ``inbox``: ids of events a consumer has applied, so a redelivery changes nothing.
- ``dead_letters``: messages a consumer gave up on, for people to inspect and replay.
- ``job_runs``: when each periodic background job is next due, so that one replica runs it
  once per period (``rivet_runtime.jobs``).
- ``mail_outbox``: mail to send, in services that send mail (``rivet_runtime.mail``).
- ``idempotency_keys``: the replies of requests sent with an ``Idempotency-Key``, kept 24 hours,
  in services that serve idempotent subjects (``rivet_runtime.idempotency``).

Every service's first migration creates the messaging tables with ``create_messaging_tables``
of ``rivet_runtime.migrations``, and a later one ``job_runs`` with ``create_job_table``; a test
(``libs/runtime/tests/test_runtime_migrations.py``) checks that they agree; likewise
``create_mail_table`` and ``create_idempotency_table``.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID


def add_messaging_tables(metadata: MetaData) -> tuple[Table, Table, Table]:
    """Declare outbox, inbox and dead_letters in ``metadata`` (the service's schema)."""
    outbox = Table(
        "outbox",
        metadata,
        Column("seq", BigInteger, Identity(always=True), primary_key=True),
        Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("subject", Text, nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", Text, nullable=False),
        Column("event_id", UUID(as_uuid=True), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id"),
    )
    dead_letters = Table(
        "dead_letters",
        metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("consumer", Text, nullable=False),
        Column("subject", Text, nullable=False),
        Column("event_id", Text),
        Column("payload", Text, nullable=False),
        Column("error", Text, nullable=False),
        Column("deliveries", Integer, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return outbox, inbox, dead_letters


def add_job_table(metadata: MetaData) -> Table:
    """Declare ``job_runs`` in ``metadata`` (the service's schema)."""
    return Table(
        "job_runs",
        metadata,
        Column("name", Text, primary_key=True),
        Column("due_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("started_at", DateTime(timezone=True)),
        Column("runs", BigInteger, nullable=False, server_default="0"),
        Column("failures", BigInteger, nullable=False, server_default="0"),
        Column("last_ok_at", DateTime(timezone=True)),
        Column("last_error", Text),
    )


def add_mail_table(metadata: MetaData) -> Table:
    """Declare ``mail_outbox`` in ``metadata`` (the service's schema)."""
    return Table(
        "mail_outbox",
        metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("key", Text, nullable=False, unique=True),
        Column("to_address", Text, nullable=False),
        Column("subject", Text, nullable=False),
        Column("text_body", Text, nullable=False),
        Column("html_body", Text),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column(
            "next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()
        ),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("failed_at", DateTime(timezone=True)),
        Column("last_error", Text),
    )


def add_idempotency_table(metadata: MetaData) -> Table:
    """Declare ``idempotency_keys`` in ``metadata`` (the service's schema): one row per key an
    organization used on a subject. ``key_hash`` is the SHA-256 of the key (the key itself is
    not stored); ``reply_body`` is sealed with a key derived from it; ``reply_headers`` NULL:
    the first request is still running (a handler with its own transactions)."""
    return Table(
        "idempotency_keys",
        metadata,
        Column("org_id", UUID(as_uuid=True), nullable=False),
        Column("subject", Text, nullable=False),
        Column("key_hash", Text, nullable=False),
        Column("request_hash", Text, nullable=False),
        Column("reply_headers", JSONB),
        Column("reply_body", LargeBinary),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("org_id", "subject", "key_hash"),
        Index("idempotency_keys_created_at", "created_at"),
    )
