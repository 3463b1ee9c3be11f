"""The benchmark's data set: one organization, registered through the API, with N assets and
M historical work orders loaded with COPY into the services' own schemas (made by the services
themselves at start; this module imports no service code).

* ``assets.equipment``: rows from the search benchmark's generator (``bench/search/gen.py``:
  real brand, order-code and serial shapes, site/area/room locations), stored as the service
  stores them (canonical brand, normalized codes), plus the search index filled by the
  statements of the search migration's backfill, and the equipment-number counters
  (``bench/lib/assets_sql.py``).
* ``workorders``: the equipment replica (what ``equipment.created`` events would have built,
  health scores included), 200 technicians, M work orders over three years and the rollups,
  all computed by ``bench/workorders/dataset.py`` with the documented formulas.

The organization's admin (who calls every route) is registered through the gateway, so auth,
the user replica and the token are real. The data set is kept in database ``rivet_bench``;
``bench_bare.meta`` records its sizes and credentials so a later run reuses it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "bench" / "search"))
sys.path.insert(0, str(ROOT / "bench" / "workorders"))
sys.path.insert(0, str(ROOT / "bench" / "lib"))
import assets_sql  # noqa: E402  (bench/lib/assets_sql.py)
import dataset as wo_dataset  # noqa: E402  (bench/workorders/dataset.py)
import gen  # noqa: E402  (bench/search/gen.py)

VERSION = 1
"""Bump when the data set's shape changes: a kept database with another version is rebuilt."""
PASSWORD = "bench password 1"  # noqa: S105 - a throwaway account in a scratch database
ASSET_COLUMNS = ["id", "org_id", "number", "manufacturer", "manufacturer_key", "model",
                 "model_norm", "serial", "serial_norm", "name", "equipment_type", "location",
                 "criticality", "status", "source"]  # fmt: skip
KINDS = ("Motor", "Pump", "Drive", "Compressor", "Fan", "Gearbox", "Valve", "Conveyor")


@dataclass
class Account:
    email: str
    password: str
    org_id: uuid.UUID
    user_id: uuid.UUID
    assets: int
    orders: int


def claims(token: str) -> dict[str, Any]:
    """The payload of a JWT (no verification: our own fresh token, for its ids)."""
    part = token.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return data


def login(gateway: str, email: str, password: str) -> str:
    answer = httpx.post(
        f"{gateway}/api/auth/login", data={"username": email, "password": password}, timeout=30
    )
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


async def prepare_schema(conn: asyncpg.Connection) -> None:
    """Objects of the benchmark itself (never touched by the services)."""
    await conn.execute("CREATE SCHEMA IF NOT EXISTS bench_bare")
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS bench_bare.meta (key text PRIMARY KEY, value jsonb NOT NULL)"
    )
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS bench_bare.outbox (LIKE workorders.outbox INCLUDING ALL)"
    )
    await conn.execute("TRUNCATE bench_bare.outbox")


async def kept_account(conn: asyncpg.Connection, assets: int, orders: int) -> Account | None:
    if not await conn.fetchval("SELECT to_regclass('bench_bare.meta') IS NOT NULL"):
        return None
    raw = await conn.fetchval("SELECT value FROM bench_bare.meta WHERE key = 'dataset'")
    if raw is None:
        return None
    meta = json.loads(raw)
    if (meta.get("version"), meta.get("assets"), meta.get("orders")) != (VERSION, assets, orders):
        return None
    return Account(
        meta["email"], meta["password"], uuid.UUID(meta["org_id"]), uuid.UUID(meta["user_id"]),
        assets, orders,
    )  # fmt: skip


def asset_records(
    rows: Iterable[gen.Row], rng: random.Random
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows for ``assets.equipment`` and the matching ``workorders.equipment`` replica input
    (the tuple shape ``bench/workorders/dataset.py`` expects)."""
    assets, replica = [], []
    for r in rows:
        manufacturer, key = assets_sql.manufacturer(r.manufacturer)
        kind = rng.choice(KINDS)
        name = f"{kind} {r.number[-6:]}"
        criticality = wo_dataset.pick(rng, {"low": 20, "medium": 50, "high": 22, "critical": 8})
        status = wo_dataset.pick(rng, {"in_service": 95, "out_of_service": 3, "retired": 2})
        assets.append((r.id, r.org_id, r.number, manufacturer, key, r.model,
                       assets_sql.code(r.model), r.serial, assets_sql.code(r.serial), name,
                       kind.lower(), r.location, criticality, status, "import"))  # fmt: skip
        replica.append((r.id, r.org_id, r.number, name, manufacturer, r.model, r.serial,
                        r.location, criticality, status, 1))  # fmt: skip
    return assets, replica


async def load(conn: asyncpg.Connection, org_id: uuid.UUID, assets: int, orders: int) -> None:
    started = time.perf_counter()
    rng = random.Random(11)
    rows = list(gen.Generator(7).rows(assets, org_id))
    asset_rows, replica_rows = asset_records(rows, rng)
    await conn.copy_records_to_table(
        "equipment", schema_name="assets", columns=ASSET_COLUMNS, records=asset_rows
    )
    await assets_sql.continue_numbers(conn)
    await assets_sql.fill_search_index(conn)
    print(f"  assets: {assets} rows and search index in {time.perf_counter() - started:.1f}s")

    started = time.perf_counter()
    now = datetime.now(UTC)
    org = wo_dataset.Org(org_id, assets=assets, orders=orders)
    org.users = [uuid.uuid4() for _ in range(200)]
    org.asset_ids = [r[0] for r in replica_rows]
    await conn.copy_records_to_table(
        "users", schema_name="workorders", columns=("id", "org_id", "full_name", "email", "role"),
        records=[(u, org_id, f"Tech {i}", f"t{i}@bench.test", "technician")
                 for i, u in enumerate(org.users)],
    )  # fmt: skip
    totals = wo_dataset.Totals()
    history = list(wo_dataset.orders(org, now, rng, totals))  # the replica's scores need them
    await wo_dataset._copy_equipment(conn, org, replica_rows, totals, now)
    for at in range(0, len(history), 50_000):
        await wo_dataset._copy_orders(conn, history[at : at + 50_000])
    await wo_dataset._copy_rollups(conn, org, totals)
    print(
        f"  workorders: {orders} orders, replica, rollups in {time.perf_counter() - started:.1f}s"
    )
    for table in ("assets.equipment", "assets.equipment_serial_key", "assets.equipment_term",
                  "assets.equipment_term_key", "workorders.equipment", "workorders.work_orders",
                  "workorders.timeline", "workorders.users"):  # fmt: skip
        await conn.execute(f"VACUUM ANALYZE {table}")


async def wait_for_user(conn: asyncpg.Connection, user_id: uuid.UUID, within: float) -> None:
    """The admin's ``user.registered`` event has reached the work-order service's replica."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await conn.fetchval("SELECT 1 FROM workorders.users WHERE id = $1", user_id):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError("the user replica was not updated by user.registered")


async def is_kept(database_url: str, assets: int, orders: int) -> bool:
    """The database holds a data set of these sizes (else it is dropped and loaded anew)."""
    conn = await asyncpg.connect(database_url)
    try:
        return await kept_account(conn, assets, orders) is not None
    finally:
        await conn.close()


async def ensure(database_url: str, gateway: str, assets: int, orders: int) -> Account:
    """The kept data set, or a new one (registering a new organization)."""
    conn = await asyncpg.connect(database_url)
    try:
        account = await kept_account(conn, assets, orders)
        await prepare_schema(conn)
        if account is not None:
            print(f"  reusing the data set of {account.email}: {assets} assets, {orders} orders")
            return account
        tag = uuid.uuid4().hex[:8]
        email = f"bench-{tag}@example.com"
        answer = httpx.post(  # noqa: ASYNC210 - set-up, before anything is measured
            f"{gateway}/api/auth/register",
            json={"email": email, "password": PASSWORD, "full_name": "Bench Admin",
                  "organization_name": f"Bench {tag}"},
            timeout=30,
        )  # fmt: skip
        answer.raise_for_status()
        payload = claims(login(gateway, email, PASSWORD))
        account = Account(
            email, PASSWORD, uuid.UUID(payload["org"]), uuid.UUID(payload["sub"]), assets, orders
        )
        await wait_for_user(conn, account.user_id, 60)
        print(f"  loading {assets} assets and {orders} work orders for {email} ...", flush=True)
        await load(conn, account.org_id, assets, orders)
        meta = {"version": VERSION, "assets": assets, "orders": orders, "email": email,
                "password": PASSWORD, "org_id": str(account.org_id),
                "user_id": str(account.user_id)}  # fmt: skip
        await conn.execute(
            "INSERT INTO bench_bare.meta VALUES ('dataset', $1::jsonb) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            json.dumps(meta),
        )
        return account
    finally:
        await conn.close()


async def samples(
    database_url: str, org_id: uuid.UUID, n: int = 1000
) -> tuple[list[uuid.UUID], list[str]]:
    """Asset ids in service (for reads and work-order creates) and typo'd search queries
    (1 or 2 typos; full names, model codes and serials, as in the search benchmark)."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT id, number, manufacturer, model, serial, location FROM assets.equipment "
            "WHERE org_id = $1 AND status = 'in_service' AND source = 'import' "
            "ORDER BY md5(id::text) LIMIT $2",
            org_id,
            n,
        )
    finally:
        await conn.close()
    picked = [
        gen.Row(r["id"], org_id, r["number"], r["manufacturer"], r["model"] or "",
                r["serial"] or "", r["location"] or "")
        for r in rows
    ]  # fmt: skip
    queries = gen.make_queries(random.Random(5), picked, 100, brand_aliases={})
    return [r.id for r in picked], [q.text for q in queries]
