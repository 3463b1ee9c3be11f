"""Latency of every stats endpoint's query path with 1,000,000 work orders over 100,000 assets.

    uv run python bench/workorders/stats_bench.py                # load once, then measure
    uv run python bench/workorders/stats_bench.py --reload       # rebuild the data
    uv run python bench/workorders/stats_bench.py --rpc          # also through NATS request-reply

Loads the data set (dataset.py) into a scratch database ``rivet_wo_bench`` (schema
``workorders`` created by the service's own migrations), then calls each stats function of
``rivet_workorders.stats.service`` inside a transaction, exactly as the RPC handler does, and
prints p50/p99 over ``--iterations`` sequential calls after a warm-up. With ``--rpc`` it also
starts the real service (NATS at 127.0.0.1:4222, namespace ``wobench``) and times full
request-reply round trips (validation, role check, transaction, JSON), without the gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import nats
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from rivet_contracts import Headers, Identity, Role, Rpc
from rivet_contracts import workorders as contract
from rivet_runtime import RequestContext
from rivet_runtime.db import Database
from rivet_runtime.migrations import migrate
from rivet_runtime.rpc import identity_headers
from rivet_workorders.main import MIGRATIONS, build
from rivet_workorders.settings import WorkordersSettings
from rivet_workorders.state import WorkordersState
from rivet_workorders.stats import service
from rivet_workorders.tables import OPEN_STATUS_SQL, metadata

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dataset

BIG = uuid.UUID("00000000-0000-4000-8000-00000000b16b")
NOISE = uuid.UUID("00000000-0000-4000-8000-000000000015")
SECONDARY = ("work_orders", "equipment", "fault_codes")


def with_database(dsn: str, name: str) -> str:
    return dsn.rsplit("/", 1)[0] + "/" + name


async def prepare(dsn: str, db: str, orders: int, assets: int, reload: bool) -> None:
    admin = await asyncpg.connect(dsn)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db):
            await admin.execute(f'CREATE DATABASE "{db}"')
    finally:
        await admin.close()
    url = with_database(dsn, db)
    await migrate(url, "workorders", MIGRATIONS)
    conn = await asyncpg.connect(url)
    try:
        loaded = await conn.fetchval("SELECT count(*) FROM workorders.work_orders")
        if loaded and not reload:
            print(f"using the loaded data set ({loaded:,} work orders); --reload to rebuild")
            return
        started = time.perf_counter()
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'workorders' "
            "AND tablename <> 'alembic_version'"
        )
        names = ", ".join(f"workorders.{t['tablename']}" for t in tables)
        await conn.execute(f"TRUNCATE {names}")
        indexes = [ix for t in metadata.sorted_tables if t.name in SECONDARY for ix in t.indexes]
        for index in indexes:  # COPY first, index after: much faster
            await conn.execute(f"DROP INDEX IF EXISTS workorders.{index.name}")
        spec = [dataset.Org(BIG, assets, orders), dataset.Org(NOISE, assets // 50, orders // 50)]
        # Orders are copied before their assets (whose health needs the orders): skip the
        # foreign-key triggers for this load; the data is consistent by construction.
        await conn.execute("SET session_replication_role = replica")
        await dataset.load(conn, spec, dataset.utc_now(), seed=7)
        await conn.execute("SET session_replication_role = DEFAULT")
        print(f"loaded in {time.perf_counter() - started:.0f}s; indexing")
        for index in indexes:
            await conn.execute(str(CreateIndex(index).compile(dialect=postgresql.dialect())))
        await conn.execute("VACUUM ANALYZE")
        print(f"ready in {time.perf_counter() - started:.0f}s")
    finally:
        await conn.close()


async def busiest_user(url: str) -> uuid.UUID:
    """The person with the most open assigned orders: the heaviest ``summary``."""
    conn = await asyncpg.connect(url)
    try:
        user: uuid.UUID = await conn.fetchval(
            "SELECT assignee_id FROM workorders.work_orders WHERE org_id = $1 "  # noqa: S608 - literals of the enum
            f"AND status IN ({OPEN_STATUS_SQL}) AND assignee_id IS NOT NULL "
            "GROUP BY assignee_id ORDER BY count(*) DESC LIMIT 1",
            BIG,
        )
        return user
    finally:
        await conn.close()


def calls(asset: str) -> list[tuple[str, str, Any]]:
    """(label, subject, request) for every stats endpoint and the variants worth timing."""
    return [
        ("overview", Rpc.STATS_OVERVIEW, contract.StatsOverviewQuery()),
        ("equipment-health (20 worst)", Rpc.STATS_EQUIPMENT_HEALTH,
         contract.EquipmentHealthQuery()),
        ("equipment-health (200 worst)", Rpc.STATS_EQUIPMENT_HEALTH,
         contract.EquipmentHealthQuery(limit=200)),
        ("equipment-health (one asset)", Rpc.STATS_EQUIPMENT_HEALTH,
         contract.EquipmentHealthQuery(equipment_id=asset)),
        ("work-order-trends?days=30", Rpc.STATS_TRENDS, contract.TrendsQuery(days=30)),
        ("work-order-trends?days=365", Rpc.STATS_TRENDS, contract.TrendsQuery(days=365)),
        ("summary (busiest person)", Rpc.STATS_SUMMARY, contract.SummaryQuery()),
        ("kpis?days=90", Rpc.STATS_KPIS, contract.KpiQuery(days=90)),
        ("kpis?days=365", Rpc.STATS_KPIS, contract.KpiQuery(days=365)),
    ]  # fmt: skip


FUNCTIONS: dict[str, Callable[..., Awaitable[Any]]] = {
    Rpc.STATS_OVERVIEW: service.overview,
    Rpc.STATS_EQUIPMENT_HEALTH: service.equipment_health,
    Rpc.STATS_TRENDS: service.trends,
    Rpc.STATS_SUMMARY: service.summary,
    Rpc.STATS_KPIS: service.kpis,
}


async def time_calls(
    label: str, call: Callable[[], Awaitable[Any]], iterations: int
) -> tuple[str, float, float]:
    for _ in range(max(10, iterations // 10)):
        await call()
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return label, statistics.median(samples), p99


async def measure_functions(url: str, identity: Identity, iterations: int, asset: str) -> None:
    settings = WorkordersSettings(database_url=url)
    state = WorkordersState(settings)
    db = Database(url, "workorders", pool_size=2)
    print(f"\nservice functions, one transaction each ({iterations} calls after warm-up):")
    try:
        for label, subject, request in calls(asset):
            function = FUNCTIONS[subject]

            async def call(function: Any = function, request: Any = request) -> Any:
                async with db.transaction() as conn:
                    ctx = RequestContext(
                        state=state, schema="workorders", connection=conn, identity=identity
                    )
                    return await function(ctx, request)

            report(*await time_calls(label, call, iterations))
    finally:
        await db.dispose()


async def measure_rpc(url: str, identity: Identity, iterations: int, asset: str) -> None:
    settings = WorkordersSettings(
        database_url=url, nats_namespace="wobench", log_json=False, log_level="WARNING"
    )
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("faststream").setLevel(logging.WARNING)
    runtime = build(settings)
    await runtime.start()
    nc = await nats.connect(settings.nats_url)
    headers = identity_headers(identity) | {Headers.CORRELATION_ID: "bench"}
    print(f"\nNATS request-reply to the running service ({iterations} calls after warm-up):")
    try:
        for label, subject, request in calls(asset):
            body = request.model_dump_json(exclude_unset=True).encode()

            async def call(subject: str = subject, body: bytes = body) -> Any:
                reply = await nc.request(
                    settings.subject(subject), body, timeout=5, headers=headers
                )
                assert Headers.ERROR not in (reply.headers or {}), reply.data
                return reply

            report(*await time_calls(label, call, iterations))
    finally:
        await nc.close()
        await runtime.stop()


def report(label: str, p50: float, p99: float) -> None:
    flag = "" if p99 <= 50 else "   <-- above the 50 ms target"
    print(f"  {label:<32} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms{flag}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="rivet_wo_bench")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--rpc", action="store_true", help="also time NATS request-reply")
    args = parser.parse_args()
    await prepare(args.dsn, args.database, args.orders, args.assets, args.reload)
    url = with_database(args.dsn, args.database)
    identity = Identity(user_id=await busiest_user(url), org_id=BIG, role=Role.TECHNICIAN)
    conn = await asyncpg.connect(url)
    try:
        asset = str(await conn.fetchval(
            "SELECT id FROM workorders.equipment WHERE org_id = $1 ORDER BY score LIMIT 1", BIG
        ))  # fmt: skip
        sizes = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM workorders.work_orders WHERE org_id = $1) AS orders, "
            "(SELECT count(*) FROM workorders.equipment WHERE org_id = $1) AS assets",
            BIG,
        )
    finally:
        await conn.close()
    print(f"organization under test: {sizes['orders']:,} work orders, {sizes['assets']:,} assets")
    await measure_functions(url, identity, args.iterations, asset)
    if args.rpc:
        await measure_rpc(url, identity, args.iterations, asset)


if __name__ == "__main__":
    asyncio.run(main())
