"""The runtime's tables: what the migration helpers create is what the table metadata declares."""

from typing import Any

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from rivet_runtime.db import async_url
from rivet_runtime.migrations import (
    MESSAGING_TABLES,
    create_idempotency_table,
    create_job_table,
    create_mail_table,
    create_messaging_tables,
)
from rivet_runtime.tables import (
    add_idempotency_table,
    add_job_table,
    add_mail_table,
    add_messaging_tables,
)

_COLUMNS = text(
    "SELECT table_name, column_name, ordinal_position, data_type, is_nullable, column_default, "
    "is_identity, identity_generation, identity_start, identity_increment "
    "FROM information_schema.columns WHERE table_schema = :s ORDER BY 1, 3"
)
_CONSTRAINTS = text(
    "SELECT c.conrelid::regclass::text AS rel, c.conname, c.contype, "
    "pg_get_constraintdef(c.oid) AS def FROM pg_constraint c "
    "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = :s ORDER BY 2"
)
_INDEXES = text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s ORDER BY 1")
_SEQUENCES = text(
    "SELECT sequencename, data_type, start_value, increment_by, max_value, cycle "
    "FROM pg_sequences WHERE schemaname = :s ORDER BY 1"
)


def _catalog(connection: Connection, schema: str) -> dict[str, list[Any]]:
    def rows(query: Any) -> list[Any]:
        found = connection.execute(query, {"s": schema}).all()
        return [tuple(str(v).replace(f"{schema}.", "<schema>.") for v in row) for row in found]

    return {
        "columns": rows(_COLUMNS),
        "constraints": rows(_CONSTRAINTS),
        "indexes": rows(_INDEXES),
        "sequences": rows(_SEQUENCES),
    }


def _build_both(connection: Connection) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    connection.execute(text("CREATE SCHEMA migrated"))
    connection.execute(text("CREATE SCHEMA declared"))
    with Operations.context(MigrationContext.configure(connection)):
        create_messaging_tables("migrated")
        create_job_table("migrated")
        create_mail_table("migrated")
        create_idempotency_table("migrated")
    metadata = MetaData(schema="declared")
    add_messaging_tables(metadata)
    add_job_table(metadata)
    add_mail_table(metadata)
    add_idempotency_table(metadata)
    metadata.create_all(connection)
    return _catalog(connection, "migrated"), _catalog(connection, "declared")


async def test_the_migration_helper_creates_the_declared_tables(isolated_database: str) -> None:
    engine = create_async_engine(async_url(isolated_database))
    try:
        async with engine.begin() as conn:
            migrated, declared = await conn.run_sync(_build_both)
    finally:
        await engine.dispose()
    assert {row[0] for row in migrated["columns"]} == {
        *MESSAGING_TABLES,
        "job_runs",
        "mail_outbox",
        "idempotency_keys",
    }
    assert migrated["constraints"]  # primary keys and the outbox's unique event id
    assert migrated == declared
