"""Migration 0008 (each asset's attachment count and picture, the attachments it heard of) on
assets that exist: they start with no file and no picture, the previous release can still
write, the schema is what ``tables.py`` declares, and it goes down and up again."""

import uuid
from typing import Any

from alembic import command
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from rivet_assets.main import MIGRATIONS
from rivet_assets.tables import metadata
from rivet_runtime.db import Database, async_url
from rivet_runtime.migrations import alembic_config, migrate

# what the previous release writes: it knows neither attachment_count nor picture
EQUIPMENT = text(
    "INSERT INTO equipment (id, org_id, number, manufacturer, manufacturer_key, source) "
    "VALUES (:id, :org, :number, 'WEG', 'weg', 'api')"
)
_COLUMNS = text(
    "SELECT c.table_name, c.column_name, c.data_type, c.is_nullable, c.column_default, "
    "col_description(format('%I.%I', c.table_schema, c.table_name)::regclass, "
    "c.ordinal_position) AS comment FROM information_schema.columns c "
    "WHERE c.table_schema = :s AND c.table_name::text = ANY(CAST(:tables AS text[])) "
    "ORDER BY 1, 2"
)
_CONSTRAINTS = text(
    "SELECT c.conrelid::regclass::text AS rel, c.conname, c.contype, "
    "pg_get_constraintdef(c.oid) AS def FROM pg_constraint c "
    "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = :s "
    "AND c.conrelid::regclass::text LIKE '%.equipment_attachments' ORDER BY 1, 2"
)
_INDEXES = text(
    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s "
    "AND tablename::text = ANY(CAST(:tables AS text[])) ORDER BY 1"
)
NEW = ["equipment", "equipment_attachments"]


def _catalog(connection: Connection, schema: str) -> dict[str, list[Any]]:
    def rows(query: Any) -> list[Any]:
        found = connection.execute(query, {"s": schema, "tables": NEW}).all()
        return [tuple(str(v).replace(f"{schema}.", "<schema>.") for v in row) for row in found]

    return {"columns": rows(_COLUMNS), "constraints": rows(_CONSTRAINTS), "indexes": rows(_INDEXES)}


def _of_0008(found: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """What migration 0008 adds: the two columns of ``equipment`` and the new table."""
    return {
        "columns": [
            c for c in found["columns"]
            if c[0] == "equipment_attachments" or c[1] in ("attachment_count", "picture")
        ],
        "constraints": found["constraints"],
        "indexes": [i for i in found["indexes"] if i[0].startswith("equipment_attachments")],
    }  # fmt: skip


def _declared(connection: Connection) -> dict[str, list[Any]]:
    connection.execute(text("CREATE SCHEMA declared"))
    copy = MetaData(schema="declared")
    for table in metadata.tables.values():
        table.to_metadata(copy, schema="declared")
    copy.create_all(connection)
    return _catalog(connection, "declared")


def _downgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config(MIGRATIONS, "assets")
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, revision)


async def test_assets_that_exist_start_without_files_and_go_down_and_up(
    isolated_database: str,
) -> None:
    await migrate(isolated_database, "assets", MIGRATIONS, revision="0007")
    db = Database(isolated_database, "assets", pool_size=1)
    catalog = create_async_engine(async_url(isolated_database), poolclass=NullPool)
    org, old = uuid.uuid4(), uuid.uuid4()
    try:
        async with db.transaction() as conn:
            await conn.execute(EQUIPMENT, {"id": old, "org": org, "number": "EQ-2026-000001"})
        await migrate(isolated_database, "assets", MIGRATIONS)
        async with db.transaction() as conn:
            row = (
                await conn.execute(text("SELECT attachment_count, picture, version FROM equipment"))
            ).one()
            assert tuple(row) == (0, None, 1)
            # the previous release still writes assets during a rolling upgrade
            await conn.execute(
                EQUIPMENT, {"id": uuid.uuid4(), "org": org, "number": "EQ-2026-000002"}
            )
            await conn.execute(
                text(
                    "INSERT INTO equipment_attachments (id, org_id, equipment_id, filename, "
                    "kind) VALUES (:id, :org, :equipment, 'plate.jpg', 'image')"
                ),
                {"id": uuid.uuid4(), "org": org, "equipment": old},
            )
        async with catalog.begin() as conn:  # no search path: names come with their schema
            migrated = await conn.run_sync(_catalog, "assets")
            declared = await conn.run_sync(_declared)
            await conn.execute(text("DROP SCHEMA declared CASCADE"))
        assert _of_0008(migrated) == _of_0008(declared)
        assert len(_of_0008(migrated)["columns"]) == 12
        assert any(i[0] == "equipment_attachments_images" for i in migrated["indexes"])
        async with catalog.begin() as conn:
            await conn.run_sync(_downgrade, "0007")
            assert not await conn.scalar(text("SELECT to_regclass('assets.equipment_attachments')"))
        await migrate(isolated_database, "assets", MIGRATIONS)
        async with db.transaction() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM equipment")) == 2
            assert await conn.scalar(text("SELECT sum(attachment_count) FROM equipment")) == 0
    finally:
        await db.dispose()
        await catalog.dispose()
