"""Alembic migrations: one history per service, in the service's own schema.

``migrate`` takes a PostgreSQL advisory lock keyed by the schema, so replicas starting together
apply each migration once; alembic's version table (in the schema) makes a second run a no-op.
Each service's ``migrations/env.py`` calls ``run_env``.
"""

import asyncio
import hashlib
import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from .db import async_url

log = logging.getLogger(__name__)


def lock_key(schema: str) -> int:
    """A stable 63-bit advisory-lock key for ``schema``."""
    return int.from_bytes(hashlib.sha256(f"rivet-migrate:{schema}".encode()).digest()[:8]) >> 1


def alembic_config(script_location: Path, schema: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["schema"] = schema
    return cfg


_IN_PROCESS = asyncio.Lock()
"""alembic keeps its environment in module globals: one migration at a time per process
(services started together in one process, as the tests do, would otherwise mix them up)."""


async def migrate(
    database_url: str, schema: str, script_location: Path, *, revision: str = "head"
) -> None:
    """Apply pending migrations of ``schema`` up to ``revision`` (tests of a migration stop
    before it); safe to run concurrently and repeatedly."""
    async with _IN_PROCESS:
        await _migrate(database_url, schema, script_location, revision)


async def _migrate(database_url: str, schema: str, script_location: Path, revision: str) -> None:
    engine = create_async_engine(async_url(database_url), poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": lock_key(schema)})
            await conn.commit()
            try:
                exists = await conn.scalar(
                    text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}
                )
                if not exists:
                    await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
                await conn.run_sync(_upgrade, alembic_config(script_location, schema), revision)
                await conn.commit()
            finally:
                await conn.rollback()  # leave any failed transaction before unlocking
                await conn.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key(schema)}
                )
                await conn.commit()
    finally:
        await engine.dispose()


def _upgrade(connection: Connection, cfg: Config, revision: str) -> None:
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


def run_env(metadata: MetaData) -> None:
    """Body of every service's ``env.py``: run migrations on the given connection."""
    connection: Connection = context.config.attributes["connection"]
    schema: str = context.config.attributes["schema"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table_schema=schema,
        include_schemas=False,
    )
    with context.begin_transaction():
        context.run_migrations()


MESSAGING_TABLES = ("outbox", "inbox", "dead_letters")


def create_messaging_tables(schema: str) -> None:
    """In a migration's ``upgrade``: create ``outbox``, ``inbox`` and ``dead_letters`` in
    ``schema``, the tables ``rivet_runtime.tables.add_messaging_tables`` declares.

    Every service's first migration calls it, so this is what those migrations create: keep it
    as it is. A later change to these tables is a new migration in each service (and a change to
    ``add_messaging_tables``), never an edit here; a test checks that the two agree.
    """

    def created_at(name: str) -> sa.Column[object]:
        return sa.Column(
            name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        )

    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        created_at("created_at"),
        sa.PrimaryKeyConstraint("id"),
        schema=schema,
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        created_at("processed_at"),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
        schema=schema,
    )
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        created_at("created_at"),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id"),
        schema=schema,
    )


def drop_messaging_tables(schema: str) -> None:
    """In a migration's ``downgrade``: the reverse of ``create_messaging_tables``."""
    for name in MESSAGING_TABLES:
        op.drop_table(name, schema=schema)


def create_job_table(schema: str) -> None:
    """In a migration's ``upgrade``: create ``job_runs`` in ``schema``, the table
    ``rivet_runtime.tables.add_job_table`` declares (periodic background jobs). Like
    ``create_messaging_tables``, what a migration created stays: change it only by adding."""
    op.create_table(
        "job_runs",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "due_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("runs", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("failures", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_ok_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
        schema=schema,
    )


def drop_job_table(schema: str) -> None:
    """In a migration's ``downgrade``: the reverse of ``create_job_table``."""
    op.drop_table("job_runs", schema=schema)


def create_mail_table(schema: str) -> None:
    """In a migration's ``upgrade``: create ``mail_outbox`` in ``schema``, the table
    ``rivet_runtime.tables.add_mail_table`` declares (services that send mail)."""
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("to_address", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        schema=schema,
    )


def drop_mail_table(schema: str) -> None:
    """In a migration's ``downgrade``: the reverse of ``create_mail_table``."""
    op.drop_table("mail_outbox", schema=schema)


def create_idempotency_table(schema: str) -> None:
    """In a migration's ``upgrade``: create ``idempotency_keys`` in ``schema``, the table
    ``rivet_runtime.tables.add_idempotency_table`` declares (services serving idempotent
    subjects, ``rivet_runtime.idempotency``). What a migration created stays: change it only by
    adding."""
    op.create_table(
        "idempotency_keys",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("reply_headers", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("reply_body", sa.LargeBinary(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("org_id", "subject", "key_hash"),
        schema=schema,
    )
    op.create_index(
        "idempotency_keys_created_at", "idempotency_keys", ["created_at"], schema=schema
    )


def drop_idempotency_table(schema: str) -> None:
    """In a migration's ``downgrade``: the reverse of ``create_idempotency_table``."""
    op.drop_table("idempotency_keys", schema=schema)
