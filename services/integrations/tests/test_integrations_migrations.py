"""The migrations build what ``tables.py`` declares, run twice change nothing, and go down and
up again."""

from typing import Any

from alembic import command
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from rivet_integrations.main import MIGRATIONS
from rivet_integrations.tables import SCHEMA, metadata
from rivet_runtime.db import async_url
from rivet_runtime.migrations import alembic_config, migrate

_COLUMNS = text(
    "SELECT c.table_name, c.column_name, c.ordinal_position, c.data_type, c.is_nullable, "
    "c.column_default, c.is_identity, c.identity_generation, c.numeric_precision, "
    "c.numeric_scale, col_description(format('%I.%I', c.table_schema, c.table_name)::regclass, "
    "c.ordinal_position) AS comment "
    "FROM information_schema.columns c WHERE c.table_schema = :s "
    "AND c.table_name <> 'alembic_version' ORDER BY 1, 3"
)
_CONSTRAINTS = text(
    "SELECT c.conrelid::regclass::text AS rel, c.conname, c.contype, "
    "pg_get_constraintdef(c.oid) AS def FROM pg_constraint c "
    "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = :s "
    "AND c.conrelid::regclass::text NOT LIKE '%alembic_version' ORDER BY 1, 2"
)
_INDEXES = text(
    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s "
    "AND tablename <> 'alembic_version' ORDER BY 1"
)

TABLES = {
    "org_streams",
    "webhook_endpoints",
    "webhook_events",
    "webhook_deliveries",
    "webhook_attempts",
    "webhook_cursors",
    "webhook_replicas",
    "outbox",
    "inbox",
    "dead_letters",
    "job_runs",
    "idempotency_keys",
}


def _catalog(connection: Connection, schema: str) -> dict[str, list[Any]]:
    def rows(query: Any) -> list[Any]:
        found = connection.execute(query, {"s": schema}).all()
        return [tuple(str(v).replace(f"{schema}.", "<schema>.") for v in row) for row in found]

    return {"columns": rows(_COLUMNS), "constraints": rows(_CONSTRAINTS), "indexes": rows(_INDEXES)}


def _declared(connection: Connection) -> dict[str, list[Any]]:
    connection.execute(text("CREATE SCHEMA declared"))
    copy = MetaData(schema="declared")
    for table in metadata.tables.values():
        table.to_metadata(copy, schema="declared")
    copy.create_all(connection)
    return _catalog(connection, "declared")


def _downgrade(connection: Connection) -> None:
    cfg = alembic_config(MIGRATIONS, SCHEMA)
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, "base")


async def test_the_migrations_build_the_declared_schema(isolated_database: str) -> None:
    await migrate(isolated_database, SCHEMA, MIGRATIONS)
    await migrate(isolated_database, SCHEMA, MIGRATIONS)  # a second run changes nothing
    engine = create_async_engine(async_url(isolated_database), poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            assert await conn.scalar(text(f"SELECT version_num FROM {SCHEMA}.alembic_version")) == (
                "0005"
            )
            migrated = await conn.run_sync(_catalog, SCHEMA)
            declared = await conn.run_sync(_declared)
        assert {row[0] for row in migrated["columns"]} == TABLES
        assert migrated == declared
        async with engine.begin() as conn:
            await conn.run_sync(_downgrade)
            left = await conn.scalar(
                text(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = :s "
                    "AND table_name <> 'alembic_version'"
                ),
                {"s": SCHEMA},
            )
            assert left == 0
    finally:
        await engine.dispose()
    await migrate(isolated_database, SCHEMA, MIGRATIONS)  # and up again
