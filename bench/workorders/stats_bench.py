"""Latency of every stats endpoint with 1,000,000 work orders over 100,000 assets, measured as
NATS request-reply round trips to the running work-order service.

    uv run python bench/workorders/stats_bench.py                # load once, then measure
    uv run python bench/workorders/stats_bench.py --reload       # rebuild the data
    uv run python bench/workorders/stats_bench.py --orders 20000 --assets 2000 --iterations 50

The scratch database ``rivet_wo_bench`` gets its schema from the service's console script
(``rivet-workorders migrate``); the data set (``dataset.py``) is then loaded with COPY. The
service is started as ``make run`` starts it (``rivet-workorders``, see ``bench/lib/
one_service.py``: a private nats-server, the catalogue's streams declared, as their
publishers would), and each stats request of the catalogue (``rivet_contracts.workorders``) is
sent ``--iterations`` times in a row after a warm-up: request validation, role check,
transaction, queries, JSON reply and the NATS round trip; no gateway, no HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

from rivet_contracts import Identity, Role
from rivet_contracts import workorders as contract
from rivet_contracts.workorders import OPEN_STATUS_VALUES

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "lib"))
import assets_sql  # noqa: E402  (bench/lib/assets_sql.py: index drop and rebuild)
import dataset  # noqa: E402
import one_service  # noqa: E402

BIG = uuid.UUID("00000000-0000-4000-8000-00000000b16b")
NOISE = uuid.UUID("00000000-0000-4000-8000-000000000015")
SECONDARY = ("work_orders", "equipment", "fault_codes")
"""Tables whose secondary indexes are dropped for the COPY and built after it."""
OPEN_SQL = ", ".join(f"'{value}'" for value in OPEN_STATUS_VALUES)


def with_database(dsn: str, name: str) -> str:
    head, _, query = dsn.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


async def create_database(dsn: str, db: str) -> None:
    admin = await asyncpg.connect(dsn)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db):
            await admin.execute(f'CREATE DATABASE "{db}"')
    finally:
        await admin.close()


async def load(url: str, orders: int, assets: int, reload: bool) -> None:
    """The data set, unless the database already holds one of this size."""
    conn = await asyncpg.connect(url)
    try:
        loaded = await conn.fetchval(
            "SELECT count(*) FROM workorders.work_orders WHERE org_id = $1", BIG
        )
        if loaded == orders and not reload:
            print(f"using the loaded data set ({loaded:,} work orders); --reload to rebuild")
            return
        started = time.perf_counter()
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'workorders' "
            "AND tablename <> 'alembic_version'"
        )
        names = ", ".join(f"workorders.{t['tablename']}" for t in tables)
        await conn.execute(f"TRUNCATE {names}")
        indexes = await assets_sql.secondary_indexes(conn, "workorders", SECONDARY)
        await assets_sql.drop_indexes(conn, "workorders", indexes)  # COPY first, index after
        spec = [dataset.Org(BIG, assets, orders), dataset.Org(NOISE, assets // 50, orders // 50)]
        # Orders are copied before their assets (whose health needs the orders): skip the
        # foreign-key triggers for this load; the data is consistent by construction.
        await conn.execute("SET session_replication_role = replica")
        await dataset.load(conn, spec, dataset.utc_now(), seed=7)
        await conn.execute("SET session_replication_role = DEFAULT")
        print(f"loaded in {time.perf_counter() - started:.0f}s; indexing", flush=True)
        await assets_sql.create_indexes(conn, indexes)
        await conn.execute("VACUUM ANALYZE")
        print(f"ready in {time.perf_counter() - started:.0f}s", flush=True)
    finally:
        await conn.close()


async def subjects_of_the_test(url: str) -> tuple[uuid.UUID, str, dict[str, int]]:
    """The person with the most open assigned orders (the heaviest ``summary``), the worst
    asset, and the organization's sizes."""
    conn = await asyncpg.connect(url)
    try:
        user: uuid.UUID = await conn.fetchval(
            "SELECT assignee_id FROM workorders.work_orders WHERE org_id = $1 "  # noqa: S608 - literals of the enum
            f"AND status IN ({OPEN_SQL}) AND assignee_id IS NOT NULL "
            "GROUP BY assignee_id ORDER BY count(*) DESC LIMIT 1",
            BIG,
        )
        asset = str(await conn.fetchval(
            "SELECT id FROM workorders.equipment WHERE org_id = $1 ORDER BY score LIMIT 1", BIG
        ))  # fmt: skip
        sizes = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM workorders.work_orders WHERE org_id = $1) AS orders, "
            "(SELECT count(*) FROM workorders.equipment WHERE org_id = $1) AS assets",
            BIG,
        )
        return user, asset, dict(sizes)
    finally:
        await conn.close()


def calls(asset: str) -> list[tuple[str, Any, Any]]:
    """(label, spec, request) for every stats endpoint and the variants worth timing."""
    return [
        ("overview", contract.STATS_OVERVIEW, contract.StatsOverviewQuery()),
        ("equipment-health (20 worst)", contract.STATS_EQUIPMENT_HEALTH,
         contract.EquipmentHealthQuery()),
        ("equipment-health (200 worst)", contract.STATS_EQUIPMENT_HEALTH,
         contract.EquipmentHealthQuery(limit=200)),
        ("equipment-health (one asset)", contract.STATS_EQUIPMENT_HEALTH,
         contract.EquipmentHealthQuery(equipment_id=asset)),
        ("work-order-trends?days=30", contract.STATS_TRENDS, contract.TrendsQuery(days=30)),
        ("work-order-trends?days=365", contract.STATS_TRENDS, contract.TrendsQuery(days=365)),
        ("summary (busiest person)", contract.STATS_SUMMARY, contract.SummaryQuery()),
        ("kpis?days=90", contract.STATS_KPIS, contract.KpiQuery(days=90)),
        ("kpis?days=365", contract.STATS_KPIS, contract.KpiQuery(days=365)),
    ]  # fmt: skip


async def time_calls(
    call: Callable[[], Awaitable[Any]], iterations: int
) -> tuple[float, float, list[float]]:
    for _ in range(max(10, iterations // 10)):
        await call()
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return statistics.median(samples), p99, samples


async def measure(
    svc: one_service.Running, identity: Identity, iterations: int, asset: str
) -> None:
    print(f"\nNATS request-reply to rivet-workorders ({iterations} calls each after warm-up):")
    async with svc.caller(identity) as caller:
        for label, spec, request in calls(asset):
            spec.reply.model_validate_json(await caller.raw(spec.subject, caller.body(request)))
            body = caller.body(request)

            async def call(subject: str = spec.subject, body: bytes = body) -> bytes:
                return await caller.raw(subject, body)

            cpu0 = svc.cpu()
            p50, p99, samples = await time_calls(call, iterations)
            cpu_ms = (svc.cpu() - cpu0) * 1000 / (len(samples) + max(10, iterations // 10))
            report(label, p50, p99, cpu_ms)


def report(label: str, p50: float, p99: float, cpu_ms: float) -> None:
    flag = "" if p99 <= 50 else "   <-- above the 50 ms target"
    print(f"  {label:<30} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   service CPU "
          f"{cpu_ms:5.1f} ms/request{flag}", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="rivet_wo_bench")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--rpc", action="store_true", help=argparse.SUPPRESS)  # now the default
    args = parser.parse_args()
    asyncio.run(create_database(args.dsn, args.database))
    url = with_database(args.dsn, args.database)
    print(f"schema: rivet-workorders migrate ({one_service.migrate('workorders', url):.1f}s)")
    asyncio.run(load(url, args.orders, args.assets, args.reload))
    user, asset, sizes = asyncio.run(subjects_of_the_test(url))
    print(f"organization under test: {sizes['orders']:,} work orders, {sizes['assets']:,} assets")
    identity = Identity(user_id=user, org_id=BIG, role=Role.TECHNICIAN)
    with one_service.running("workorders", url) as svc:
        waited = svc.settle()
        loads = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"rivet-workorders up and idle after {waited:.1f}s of start-up work; "
              f"load average {loads} on {os.cpu_count()} cores")  # fmt: skip
        asyncio.run(measure(svc, identity, args.iterations, asset))
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
