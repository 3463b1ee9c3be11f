"""Benchmark of the assets service's search, on the real code path.

A database of its own per size (``rivet_search_bench_100k``, ``..._1m``), schema ``assets``
created by the service's migrations: 0001, then ``N`` generated assets in one organization
(plus 20k in a noise organization) loaded with COPY, then 0002 (which backfills the search
index - its duration is printed). Queries go through ``rivet_assets.search.service.search``
with a ``UnitOfWork`` on a pooled connection, one transaction per query, exactly as the RPC
handler calls it (the full ``EquipmentView``s included).

    uv run python bench/search/search_bench.py --rows 100000 --throughput 2000
    uv run python bench/search/search_bench.py --rows 1000000

``--throughput N`` (on a fresh load) measures create-or-match: ``N`` single creates through
``equipment.service.create_or_match`` (one transaction each) before 0002 - no search index
kept - and ``N`` more after it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).parent))
import gen

from rivet_assets.equipment import service as equipment_service
from rivet_assets.main import MIGRATIONS
from rivet_assets.matching import normalize
from rivet_assets.search import index as search_index
from rivet_assets.search import service as search_service
from rivet_assets.settings import AssetsSettings
from rivet_assets.state import AssetsState
from rivet_contracts.assets import CreateEquipment, Source
from rivet_contracts.identity import Role
from rivet_runtime import UnitOfWork
from rivet_runtime.db import Database, async_url
from rivet_runtime.migrations import alembic_config

ORG = uuid.UUID("00000000-0000-4000-8000-000000000001")
NOISE_ORG = uuid.UUID("00000000-0000-4000-8000-000000000002")
NOISE_ROWS = 20_000
FAMILIES = ("full", "model", "serial")
COLUMNS = ["id", "org_id", "number", "manufacturer", "manufacturer_key", "model", "model_norm",
           "serial", "serial_norm", "location", "source"]  # fmt: skip


def with_db(url: str, name: str) -> str:
    head, _, query = url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


async def upgrade(url: str, revision: str) -> float:
    """Apply the service's migrations up to ``revision``; seconds taken."""
    engine = create_async_engine(async_url(url), poolclass=NullPool)

    def run(conn: Connection) -> None:
        cfg = alembic_config(MIGRATIONS, "assets")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)

    t = time.perf_counter()
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SET maintenance_work_mem = '512MB'"))
            await conn.execute(text("CREATE SCHEMA IF NOT EXISTS assets"))
            await conn.run_sync(run)
            await conn.commit()
    finally:
        await engine.dispose()
    return time.perf_counter() - t


_CANON: dict[str, tuple[str, str]] = {}


def canon(brand: str) -> tuple[str, str]:
    if brand not in _CANON:
        _CANON[brand] = normalize.manufacturer(brand)
    return _CANON[brand]


def record(r: gen.Row) -> tuple[Any, ...]:
    manufacturer, key = canon(r.manufacturer)
    return (r.id, r.org_id, r.number, manufacturer, key, r.model, normalize.code(r.model),
            r.serial, normalize.code(r.serial), r.location, "import")  # fmt: skip


async def load(url: str, rows: list[gen.Row], noise: list[gen.Row]) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS assets CASCADE")
    finally:
        await conn.close()
    print(f"  migrations to 0001: {await upgrade(url, '0001'):.1f}s", flush=True)
    conn = await asyncpg.connect(url)
    try:
        t = time.perf_counter()
        await conn.copy_records_to_table(
            "equipment", schema_name="assets", columns=COLUMNS,
            records=[record(r) for r in rows + noise],
        )  # fmt: skip
        print(f"  COPY {len(rows) + len(noise)} rows: {time.perf_counter() - t:.1f}s", flush=True)
        # numbers for new creates continue after the loaded ones
        await conn.execute("""
            INSERT INTO assets.equipment_numbers (org_id, year, last)
            SELECT org_id, split_part(number, '-', 2)::int, max(split_part(number, '-', 3)::int)
              FROM assets.equipment GROUP BY 1, 2""")  # fmt: skip
        await conn.execute("VACUUM ANALYZE assets.equipment")
    finally:
        await conn.close()


def aliases_known_to_catalogue() -> tuple[dict[str, list[str]], list[str]]:
    """The generator's aliases that the service's brand catalogue maps to the stored brand
    (others are a catalogue matter, not a search one); and the dropped ones."""
    kept: dict[str, list[str]] = {}
    dropped = []
    for b in gen.BRANDS:
        key = canon(b.name)[1]
        kept[b.name] = [a for a in b.aliases if canon(a)[1] == key]
        dropped += [a for a in b.aliases if canon(a)[1] != key]
    return kept, dropped


def relevant(q: gen.Query):
    t = q.target
    if q.family == "serial":
        sn = normalize.code(t.serial)
        return lambda r: normalize.code(r.serial) == sn
    mn = normalize.code(t.model)
    brand = canon(t.manufacturer)[1]
    if q.family == "model":
        return lambda r: normalize.code(r.model) == mn
    want = (q.loc_part or "").lower()

    def full(r: gen.Row) -> bool:
        if canon(r.manufacturer)[1] != brand or normalize.code(r.model) != mn:
            return False
        if not want:
            return True
        segs = [x.lower() for x in r.location.split(" / ")]
        return want in (" ".join(segs[-2:]), segs[-1])

    return full


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


async def run_queries(
    db: Database,
    queries: list[gen.Query],
    warm: list[gen.Query],
    by_id: dict[uuid.UUID, gen.Row],
    show_misses: int,
) -> dict[str, Any]:
    async def one(q: str) -> list[uuid.UUID]:
        async with db.transaction() as conn:
            uow: UnitOfWork[Any] = UnitOfWork(state=None, schema="assets", connection=conn)
            result = await search_service.search(uow, ORG, q, 10)
        return [h.equipment.id for h in result.items]

    for q in warm:
        await one(q.text)
    res: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "lat": [],
            "cpu": [],
            "hit": 0,
            "hit1": 0,
            "n": 0,
            "k": {1: [0, 0], 2: [0, 0]},
            "leak": 0,
        }
    )
    misses = defaultdict(list)
    for q in queries:
        rel = relevant(q)
        t, cpu = time.perf_counter(), time.process_time()
        ids = await one(q.text)
        dt = (time.perf_counter() - t) * 1000
        d = res[q.family]
        d["lat"].append(dt)
        d["cpu"].append((time.process_time() - cpu) * 1000)
        d["n"] += 1
        rows = [by_id.get(i) for i in ids]
        d["leak"] += sum(1 for r in rows if r is None)
        hit = any(r is not None and rel(r) for r in rows[:10])
        d["hit"] += hit
        d["hit1"] += bool(rows and rows[0] is not None and rel(rows[0]))
        d["k"][q.k][0] += hit
        d["k"][q.k][1] += 1
        if not hit:
            misses[q.family].append((q, rows[:3]))
    out = {}
    print(f"\n{'family':7s} {'n':>4s} {'p50ms':>7s} {'p99ms':>7s} {'max':>7s} {'rec@10':>7s} "
          f"{'k=1':>6s} {'k=2':>6s} {'hit@1':>6s} leaks  client CPU ms p50/p99")  # fmt: skip
    for fam in FAMILIES:
        d = res[fam]
        row = {
            "n": d["n"], "p50": round(statistics.median(d["lat"]), 2),
            "p99": round(pct(d["lat"], 99), 2), "max": round(max(d["lat"]), 2),
            "client_cpu_p50": round(statistics.median(d["cpu"]), 2),
            "client_cpu_p99": round(pct(d["cpu"], 99), 2),
            "recall10": round(d["hit"] / d["n"], 4), "hit1": round(d["hit1"] / d["n"], 4),
            "recall10_k1": round(d["k"][1][0] / max(1, d["k"][1][1]), 4),
            "recall10_k2": round(d["k"][2][0] / max(1, d["k"][2][1]), 4), "leaks": d["leak"],
        }  # fmt: skip
        out[fam] = row
        print(f"{fam:7s} {row['n']:4d} {row['p50']:7.1f} {row['p99']:7.1f} {row['max']:7.1f} "
              f"{row['recall10']:7.3f} {row['recall10_k1']:6.3f} {row['recall10_k2']:6.3f} "
              f"{row['hit1']:6.3f} {row['leaks']:5d}  "
              f"{row['client_cpu_p50']:.1f}/{row['client_cpu_p99']:.1f}")  # fmt: skip
    for fam in FAMILIES:
        for q, top in misses[fam][:show_misses]:
            t = q.target
            got = [f"{r.manufacturer}|{r.model}|{r.serial}|{r.location}" if r else "LEAK"
                   for r in top]  # fmt: skip
            print(f"  MISS {fam} k={q.k} {q.text!r} <- {t.manufacturer} | {t.model} | {t.serial}"
                  f" | {t.location}\n       got {got}")  # fmt: skip
    return out


INDEX_TIME = [0.0, 0]  # seconds spent in search.index.add, calls


def timed_index(add: Any) -> Any:
    async def timed(*args: Any) -> None:
        t = time.perf_counter()
        await add(*args)
        INDEX_TIME[0] += time.perf_counter() - t
        INDEX_TIME[1] += 1

    return timed


async def throughput(db: Database, rows: list[gen.Row], label: str) -> dict[str, Any]:
    """Single creates through create_or_match, one transaction (commit) each: half as sent
    (the matching rules run), half with ``create_anyway`` (the bare create path)."""
    state = AssetsState(AssetsSettings())
    who = equipment_service.Who(org_id=ORG, user_id=None, source=Source.IMPORT, role=Role.ADMIN)
    out: dict[str, Any] = {}
    half = len(rows) // 2
    for mode, chunk in (("match", rows[:half]), ("create_anyway", rows[half:])):
        outcomes: dict[str, int] = defaultdict(int)
        INDEX_TIME[:] = [0.0, 0]
        t = time.perf_counter()
        for r in chunk:
            req = CreateEquipment(manufacturer=r.manufacturer, model=r.model, serial=r.serial,
                                  location=r.location, create_anyway=mode != "match")  # fmt: skip
            async with db.transaction() as conn:
                uow: UnitOfWork[Any] = UnitOfWork(state=state, schema="assets", connection=conn)
                result = await equipment_service.create_or_match(uow, who, req)
            outcomes[result.outcome.value] += 1
        dt = time.perf_counter() - t
        out[mode] = {
            "calls_per_s": round(len(chunk) / dt, 1),
            "ms_per_call": round(dt / len(chunk) * 1000, 2),
            "index_ms_per_insert": round(INDEX_TIME[0] / max(1, INDEX_TIME[1]) * 1000, 3),
            "outcomes": dict(outcomes),
        }
        print(f"  create_or_match {label}, {mode}: {out[mode]}", flush=True)
    return out


async def org_rows(url: str) -> dict[uuid.UUID, gen.Row]:
    """The organization's rows as stored (created ones included): anything else is a leak."""
    conn = await asyncpg.connect(url)
    try:
        got = await conn.fetch(
            "SELECT id, number, manufacturer, model, serial, location FROM assets.equipment"
            " WHERE org_id = $1", ORG,
        )  # fmt: skip
    finally:
        await conn.close()
    return {r["id"]: gen.Row(r["id"], ORG, r["number"], r["manufacturer"], r["model"] or "",
                             r["serial"] or "", r["location"] or "") for r in got}  # fmt: skip


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres",
                    help="server (any database; the bench uses its own)")  # fmt: skip
    ap.add_argument("--db", default=None, help="default rivet_search_bench_<size>")
    ap.add_argument("--queries", type=int, default=300, help="per family")
    ap.add_argument("--warm", type=int, default=60)
    ap.add_argument("--reload", action="store_true")
    ap.add_argument("--throughput", type=int, default=0, metavar="N",
                    help="create_or_match calls before/after 0002 (implies --reload)")  # fmt: skip
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--show-misses", type=int, default=0)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    size = f"{a.rows // 1000}k" if a.rows < 1_000_000 else f"{a.rows // 1_000_000}m"
    name = a.db or f"rivet_search_bench_{size}"
    url = with_db(a.dsn, name)
    admin = await asyncpg.connect(a.dsn)
    if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
        await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    t = time.perf_counter()
    g = gen.Generator(a.seed)
    rows = list(g.rows(a.rows, ORG))
    noise = list(g.rows(NOISE_ROWS, NOISE_ORG, start_seq=a.rows))
    extra = list(g.rows(2 * a.throughput, ORG, start_seq=a.rows + NOISE_ROWS))
    print(f"generated {a.rows}+{NOISE_ROWS} rows in {time.perf_counter() - t:.1f}s", flush=True)
    result: dict[str, Any] = {"rows": a.rows, "database": name}
    conn = await asyncpg.connect(url)
    loaded = (
        await conn.fetchval(
            "SELECT to_regclass('assets.equipment_serial_key') IS NOT NULL"
            " AND (SELECT count(*) FROM assets.equipment WHERE org_id = $1) >= $2",
            ORG,
            a.rows,
        )
        if await conn.fetchval("SELECT to_regclass('assets.equipment') IS NOT NULL")
        else False
    )
    await conn.close()
    db = Database(url, "assets", pool_size=2)
    try:
        if a.reload or a.throughput or not loaded:
            await load(url, rows, noise)
            if a.throughput:
                add = search_index.add

                async def no_index(*_: Any) -> None:
                    return None

                search_index.add = no_index  # schema at 0001
                result["create_or_match_before"] = await throughput(
                    db, extra[: a.throughput], "at 0001, no search index"
                )
                search_index.add = timed_index(add)
            result["migration_0002_s"] = round(await upgrade(url, "head"), 1)
            print(f"  migration 0002 (backfill + indexes): {result['migration_0002_s']}s")
            # steady state: autovacuum would do this soon after a big backfill; without it the
            # index-only scans of the key tables visit the heap for every tuple
            c = await asyncpg.connect(url)
            for table in (
                "equipment",
                "equipment_serial_key",
                "equipment_term",
                "equipment_term_key",
            ):
                await c.execute(f"VACUUM ANALYZE assets.{table}")
            await c.close()
            if a.throughput:
                result["create_or_match_after"] = await throughput(
                    db, extra[a.throughput :], "at 0002, search index kept"
                )
        c = await asyncpg.connect(url)
        sizes = await c.fetch("""
            SELECT c.relname, pg_relation_size(c.oid) AS bytes FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'assets' AND c.relkind IN ('r', 'i')
              AND pg_relation_size(c.oid) > 1048576 ORDER BY 2 DESC""")  # fmt: skip
        await c.close()
        result["sizes_mib"] = {r["relname"]: round(r["bytes"] / 2**20, 1) for r in sizes}
        print("  sizes (MiB):", json.dumps(result["sizes_mib"]))
        kept, dropped = aliases_known_to_catalogue()
        print(f"  query brands: aliases unknown to rivet_contracts.brands left out: {dropped}")
        queries = gen.make_queries(random.Random(a.seed + 1000), rows, a.queries, kept)
        warm = gen.make_queries(random.Random(a.seed + 2000), rows, max(1, a.warm // 3), kept)
        by_id = await org_rows(url)  # noise-organization ids are absent: a leak shows
        load_before = os.getloadavg()[0]
        result["search"] = await run_queries(db, queries, warm, by_id, a.show_misses)
        result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        print(f"  load average (1 min) before/after the queries: {result['load_average']}"
              f" on {os.cpu_count()} cores")  # fmt: skip
    finally:
        await db.dispose()
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1, default=str))  # noqa: ASYNC240


if __name__ == "__main__":
    asyncio.run(main())
