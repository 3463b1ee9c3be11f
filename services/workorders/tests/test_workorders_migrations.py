"""Migration 0002 on a populated schema: timeline entries get ids of their own, the entries of
every organization keep their order, the previous release can still write, and an event from
before the upgrade still names its entry. Migrations 0005 and 0006 (idempotency keys,
checklists, plans) and 0007 (overdue announcements) on orders that exist, down and up again,
building what ``tables.py`` declares."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from rivet_contracts.workorders import TimelineEntry, WorkOrderCommented, legacy_entry_id
from rivet_runtime.db import Database, async_url
from rivet_runtime.migrations import alembic_config, migrate
from rivet_workorders.main import MIGRATIONS
from rivet_workorders.orders import repository as repo
from rivet_workorders.tables import metadata

T0 = datetime(2026, 11, 1, tzinfo=UTC)


async def _upgrade_to(url: str, revision: str) -> None:
    await migrate(url, "workorders", MIGRATIONS, revision=revision)


ORDER = text(
    "INSERT INTO work_orders (id, org_id, number, equipment_id, title, priority, status, "
    "work_type, source, due_at, created_at, updated_at, status_changed_at) VALUES "
    "(:id, :org, :number, :equipment, 'job', 'low', 'open', 'corrective', 'api', :at, :at, :at, "
    ":at)"
)
# what the previous release writes: no entry_id (it does not know the column)
ENTRY = text(
    "INSERT INTO timeline (work_order_id, org_id, at, kind, body) "
    "VALUES (:order, :org, :at, 'comment', :body) RETURNING id"
)


async def test_migration_gives_timeline_entries_ids_of_their_own(isolated_database: str) -> None:
    await _upgrade_to(isolated_database, "0001")
    db = Database(isolated_database, "workorders", pool_size=1)
    orgs = [uuid.uuid4(), uuid.uuid4()]
    orders = {org: uuid.uuid4() for org in orgs}
    old: dict[int, tuple[uuid.UUID, str]] = {}
    try:
        async with db.transaction() as conn:
            for n, org in enumerate(orgs):
                equipment = uuid.uuid4()
                await conn.execute(
                    text(
                        "INSERT INTO equipment (id, org_id, number, manufacturer, criticality, "
                        "status, version) VALUES (:id, :org, 'EQ-2026-000001', 'WEG', 'medium', "
                        "'in_service', 1)"
                    ),
                    {"id": equipment, "org": org},
                )
                params = {"number": f"WO-2026-00000{n}", "equipment": equipment, "at": T0}
                await conn.execute(ORDER, {"id": orders[org], "org": org, **params})
            for i in range(6):  # the two organizations' entries interleaved
                org = orgs[i % 2]
                params = {"order": orders[org], "org": org, "body": f"note {i}"}
                got = await conn.scalar(ENTRY, {**params, "at": T0 + timedelta(minutes=i)})
                old[int(got)] = (org, f"note {i}")
        await migrate(isolated_database, "workorders", MIGRATIONS)
        await migrate(isolated_database, "workorders", MIGRATIONS)  # a second run changes nothing
        async with db.transaction() as conn:
            version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
            assert version == "0009"  # the head
            # existing entries: the id the contract gives their old integer id
            rows = (await conn.execute(text("SELECT id, entry_id, body FROM timeline"))).all()
            assert {r.id: r.entry_id for r in rows} == {i: legacy_entry_id(i) for i in old}
            assert {r.body for r in rows} == {body for _, body in old.values()}
            # the previous release (no entry_id in its insert) and this one both get random ids
            fresh = []
            for org in orgs:
                params = {"order": orders[org], "org": org, "at": T0 + timedelta(hours=1)}
                internal = await conn.scalar(ENTRY, {**params, "body": "after"})
                fresh.append(
                    await conn.scalar(
                        text("SELECT entry_id FROM timeline WHERE id = :id"), {"id": internal}
                    )
                )
            assert all(isinstance(f, uuid.UUID) and f.version == 4 for f in fresh)
            assert len(set(fresh)) == 2
            # each timeline is still read in the internal order straight from its index
            index = await conn.scalar(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'timeline_work_order_idx'")
            )
            assert index.endswith("(work_order_id, id)")
            await conn.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table here
            plan = json.dumps(
                await conn.scalar(
                    text(
                        "EXPLAIN (FORMAT JSON) SELECT entry_id FROM timeline "
                        "WHERE work_order_id = :order ORDER BY id"
                    ),
                    {"order": orders[orgs[0]]},
                )
            )
            assert "timeline_work_order_idx" in plan
            assert '"Sort"' not in plan
            entries = (
                await conn.execute(
                    text(
                        "SELECT entry_id, body FROM timeline WHERE work_order_id = :order "
                        "ORDER BY id"
                    ),
                    {"order": orders[orgs[0]]},
                )
            ).all()
            assert [e.body for e in entries] == ["note 0", "note 2", "note 4", "after"]
    finally:
        await db.dispose()


def test_ids_from_before_the_upgrade_name_the_migrated_entries() -> None:
    """A ``wo.commented`` event published before the upgrade (and a reply of the previous
    release) carries the old integer id: it is read as the id the migration gave that entry."""
    snapshot = {
        "work_order_id": str(uuid.uuid4()),
        "number": "WO-2026-000001",
        "title": "job",
        "status": "open",
        "priority": "low",
        "work_type": "corrective",
        "equipment_id": str(uuid.uuid4()),
        "equipment_number": "EQ-2026-000001",
        "due_at": T0.isoformat(),
        "created_at": T0.isoformat(),
        "version": 1,
    }
    body = {"author_id": None, "body": "hello"}
    event = WorkOrderCommented.model_validate_json(json.dumps(snapshot | body | {"comment_id": 41}))
    assert event.comment_id == legacy_entry_id(41)
    new = uuid.uuid4()
    assert (
        WorkOrderCommented.model_validate(snapshot | body | {"comment_id": str(new)}).comment_id
        == new
    )
    entry = {"at": T0.isoformat(), "kind": "comment", "author_id": None, "author_name": None}
    entry |= {"channel": "api"}
    assert TimelineEntry.model_validate_json(json.dumps(entry | {"id": 41})).id == legacy_entry_id(
        41
    )
    # the contract's schema shows a UUID only
    schema = TimelineEntry.model_json_schema()["properties"]["id"]
    assert (schema["type"], schema["format"]) == ("string", "uuid")
    assert len({legacy_entry_id(i) for i in range(10_000)}) == 10_000


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
    "AND c.conrelid::regclass::text LIKE '%.checklist_items' ORDER BY 1, 2"
)
_INDEXES = text(
    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s "
    "AND tablename::text = ANY(CAST(:tables AS text[])) ORDER BY 1"
)
NEW = ["checklist_items", "work_orders"]


def _catalog(connection: Connection, schema: str) -> dict[str, list[Any]]:
    def rows(query: Any) -> list[Any]:
        found = connection.execute(query, {"s": schema, "tables": NEW}).all()
        return [tuple(str(v).replace(f"{schema}.", "<schema>.") for v in row) for row in found]

    return {"columns": rows(_COLUMNS), "constraints": rows(_CONSTRAINTS), "indexes": rows(_INDEXES)}


def _declared(connection: Connection) -> dict[str, list[Any]]:
    connection.execute(text("CREATE SCHEMA declared"))
    copy = MetaData(schema="declared")
    for table in metadata.tables.values():
        table.to_metadata(copy, schema="declared")
    copy.create_all(connection)
    return _catalog(connection, "declared")


def _downgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config(MIGRATIONS, "workorders")
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, revision)


async def test_checklists_plans_and_keys_come_to_orders_that_exist(isolated_database: str) -> None:
    await _upgrade_to(isolated_database, "0004")
    db = Database(isolated_database, "workorders", pool_size=1)
    catalog = create_async_engine(async_url(isolated_database), poolclass=NullPool)
    org, order, equipment = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    try:
        async with db.transaction() as conn:
            await conn.execute(
                text(
                    "INSERT INTO equipment (id, org_id, number, manufacturer, criticality, "
                    "status, version) VALUES (:id, :org, 'EQ-2026-000001', 'WEG', 'medium', "
                    "'in_service', 1)"
                ),
                {"id": equipment, "org": org},
            )
            params = {"number": "WO-2026-000001", "equipment": equipment, "at": T0}
            await conn.execute(ORDER, {"id": order, "org": org, **params})
        await migrate(isolated_database, "workorders", MIGRATIONS)
        async with db.transaction() as conn:
            row = (
                await conn.execute(
                    text("SELECT plan_id, idempotency_key, request_hash FROM work_orders")
                )
            ).one()
            assert tuple(row) == (None, None, None)
            assert await conn.scalar(text("SELECT count(*) FROM checklist_items")) == 0
        async with catalog.begin() as conn:  # no search path: names come with their schema
            migrated = await conn.run_sync(_catalog, "workorders")
            declared = await conn.run_sync(_declared)
            await conn.execute(text("DROP SCHEMA declared CASCADE"))
        assert migrated == declared
        assert any("checklist_items_order_position_key" in i[0] for i in migrated["indexes"])
        key_index = [i[1] for i in migrated["indexes"] if i[0] == "work_orders_org_idempotency_key"]
        assert len(key_index) == 1
        assert key_index[0].endswith("WHERE (idempotency_key IS NOT NULL)")
        # Keys are unique per organization; orders without one are many.

        async def keyed(n: int, who: uuid.UUID, key: str | None) -> None:
            async with db.transaction() as conn:
                params = {"number": f"WO-2026-0000{n:02d}", "equipment": equipment, "at": T0}
                new = uuid.uuid4()
                await conn.execute(ORDER, {"id": new, "org": who, **params})
                await conn.execute(
                    text("UPDATE work_orders SET idempotency_key = :k WHERE id = :id"),
                    {"k": key, "id": new},
                )

        for n, (who, key) in enumerate([(org, None), (org, "k"), (uuid.uuid4(), "k")], start=10):
            await keyed(n, who, key)
        with pytest.raises(IntegrityError, match="work_orders_org_idempotency_key"):
            await keyed(20, org, "k")
        # Down to 0004 and up again.
        async with catalog.begin() as conn:
            await conn.run_sync(_downgrade, "0004")
            assert not await conn.scalar(text("SELECT to_regclass('workorders.checklist_items')"))
        await migrate(isolated_database, "workorders", MIGRATIONS)
        async with db.transaction() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM work_orders")) == 4
    finally:
        await db.dispose()
        await catalog.dispose()


async def test_orders_overdue_before_the_upgrade_are_not_announced(isolated_database: str) -> None:
    await _upgrade_to(isolated_database, "0006")
    db = Database(isolated_database, "workorders", pool_size=1)
    catalog = create_async_engine(async_url(isolated_database), poolclass=NullPool)
    org, equipment = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    orders = {name: uuid.uuid4() for name in ("late", "closed", "ahead")}
    try:
        async with db.transaction() as conn:
            await conn.execute(
                text(
                    "INSERT INTO equipment (id, org_id, number, manufacturer, criticality, "
                    "status, version) VALUES (:id, :org, 'EQ-2026-000001', 'WEG', 'medium', "
                    "'in_service', 1)"
                ),
                {"id": equipment, "org": org},
            )
            for n, (name, due) in enumerate(
                [
                    ("late", now - timedelta(days=2)),
                    ("closed", now - timedelta(days=2)),
                    ("ahead", now + timedelta(days=2)),
                ],
                start=1,
            ):
                params = {"number": f"WO-2026-00000{n}", "equipment": equipment, "at": due}
                await conn.execute(ORDER, {"id": orders[name], "org": org, **params})
            await conn.execute(
                text("UPDATE work_orders SET status = 'completed' WHERE id = :id"),
                {"id": orders["closed"]},
            )
        await migrate(isolated_database, "workorders", MIGRATIONS)
        read = text("SELECT id, due_at, overdue_announced_for FROM work_orders")
        async with db.transaction() as conn:
            marked = {
                row.id: row.overdue_announced_for == row.due_at for row in await conn.execute(read)
            }
            assert marked == {orders["late"]: True, orders["closed"]: False, orders["ahead"]: False}
            # what the overdue job will announce once the open order ahead falls due
            claimed = await repo.claim_overdue(conn, now + timedelta(days=3), 10)
            assert [row["id"] for row in claimed] == [orders["ahead"]]
            assert await repo.claim_overdue(conn, now + timedelta(days=3), 10) == []
        async with catalog.begin() as conn:
            await conn.run_sync(_downgrade, "0006")
        await migrate(isolated_database, "workorders", MIGRATIONS)
    finally:
        await db.dispose()
        await catalog.dispose()
