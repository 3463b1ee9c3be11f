"""Benchmark of the assets service's search, through its public request (NATS request-reply).

A database of its own per size (``rivet_search_bench_100k``, ``..._1m``). Its schema ``assets``
is made by the service's console script (``rivet-assets migrate``); ``N`` generated assets in one
organization (plus 20k in a noise organization) are loaded with COPY in the service's stored
form and the search index is filled with the statements of the search migration's backfill
(``bench/lib/assets_sql.py``; its duration is printed). Then ``rivet-assets`` is started as
``make run`` starts it (``bench/lib/one_service.py``: a private nats-server, the catalogue's
streams declared) and every query is one ``rpc.assets.search`` request with the catalogue's
``SearchEquipment``, timed from send to reply: request validation, role check, transaction, all
round trips to PostgreSQL, ranking, the full ``EquipmentView``s, JSON and NATS.

    uv run python bench/search/search_bench.py --rows 100000 --throughput 2000
    uv run python bench/search/search_bench.py --rows 1000000

``--throughput N`` (on a fresh load) measures create-or-match: ``N`` single
``rpc.assets.create`` requests (one transaction each), half as sent (the matching rules run),
half with ``create_anyway``.
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

from rivet_contracts import Identity, Role
from rivet_contracts import assets as contract

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "lib"))
import assets_sql  # noqa: E402  (bench/lib/assets_sql.py)
import gen  # noqa: E402
import one_service  # noqa: E402

ORG = uuid.UUID("00000000-0000-4000-8000-000000000001")
NOISE_ORG = uuid.UUID("00000000-0000-4000-8000-000000000002")
NOISE_ROWS = 20_000
FAMILIES = ("full", "model", "serial")
CALLER = Identity(user_id=uuid.UUID("00000000-0000-4000-8000-0000000000b1"), org_id=ORG,
                  role=Role.ADMIN)  # fmt: skip


def with_db(url: str, name: str) -> str:
    head, _, query = url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


canon = assets_sql.manufacturer
code = assets_sql.code


def record(r: gen.Row) -> tuple[Any, ...]:
    return assets_sql.equipment_record(
        r.id, r.org_id, r.number, r.manufacturer, r.model, r.serial, r.location
    )


async def load(url: str, rows: list[gen.Row], noise: list[gen.Row]) -> float:
    """Empty the schema's tables, COPY the rows, fill the search index; seconds of the fill."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET maintenance_work_mem = '512MB'")
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'assets' "
            "AND tablename <> 'alembic_version'"
        )
        await conn.execute(
            "TRUNCATE " + ", ".join(f"assets.{t['tablename']}" for t in tables) + " CASCADE"
        )
        indexes = await assets_sql.secondary_indexes(conn, "assets", assets_sql.SEARCH_TABLES)
        await assets_sql.drop_indexes(conn, "assets", indexes)  # COPY first, index after
        t = time.perf_counter()
        await assets_sql.copy_equipment(conn, [record(r) for r in rows + noise])
        print(f"  COPY {len(rows) + len(noise)} rows: {time.perf_counter() - t:.1f}s", flush=True)
        await assets_sql.continue_numbers(conn)  # numbers of new creates follow the loaded ones
        t = time.perf_counter()
        await assets_sql.fill_search_index(conn)
        await assets_sql.create_indexes(conn, indexes)
        fill = time.perf_counter() - t
        print(f"  search index (the migration's backfill) and indexes: {fill:.1f}s", flush=True)
        await assets_sql.vacuum_search_tables(conn)
        return fill
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
        sn = code(t.serial)
        return lambda r: code(r.serial) == sn
    mn = code(t.model)
    brand = canon(t.manufacturer)[1]
    if q.family == "model":
        return lambda r: code(r.model) == mn
    want = (q.loc_part or "").lower()

    def full(r: gen.Row) -> bool:
        if canon(r.manufacturer)[1] != brand or code(r.model) != mn:
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
    svc: one_service.Running,
    queries: list[gen.Query],
    warm: list[gen.Query],
    by_id: dict[uuid.UUID, gen.Row],
    show_misses: int,
) -> dict[str, Any]:
    async with svc.caller(CALLER) as caller:
        return await _run_queries(svc, caller, queries, warm, by_id, show_misses)


async def _run_queries(
    svc: one_service.Running,
    caller: one_service.Caller,
    queries: list[gen.Query],
    warm: list[gen.Query],
    by_id: dict[uuid.UUID, gen.Row],
    show_misses: int,
) -> dict[str, Any]:
    async def one(q: str) -> tuple[float, list[uuid.UUID]]:
        body = caller.body(contract.SearchEquipment(query=q, limit=10))
        t = time.perf_counter()
        reply = await caller.raw(contract.SEARCH.subject, body)
        dt = (time.perf_counter() - t) * 1000
        result = contract.SearchResult.model_validate_json(reply)
        return dt, [h.equipment.id for h in result.items]

    for q in warm:
        await one(q.text)
    res: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"lat": [], "cpu": 0.0, "hit": 0, "hit1": 0, "n": 0, "k": {1: [0, 0], 2: [0, 0]},
                 "leak": 0}
    )  # fmt: skip
    misses = defaultdict(list)
    for q in queries:
        rel = relevant(q)
        cpu = svc.cpu()
        dt, ids = await one(q.text)
        d = res[q.family]
        d["lat"].append(dt)
        d["cpu"] += svc.cpu() - cpu
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
          f"{'k=1':>6s} {'k=2':>6s} {'hit@1':>6s} leaks  service CPU ms/query")  # fmt: skip
    for fam in FAMILIES:
        d = res[fam]
        row = {
            "n": d["n"], "p50": round(statistics.median(d["lat"]), 2),
            "p99": round(pct(d["lat"], 99), 2), "max": round(max(d["lat"]), 2),
            "service_cpu_ms": round(d["cpu"] * 1000 / d["n"], 2),
            "recall10": round(d["hit"] / d["n"], 4), "hit1": round(d["hit1"] / d["n"], 4),
            "recall10_k1": round(d["k"][1][0] / max(1, d["k"][1][1]), 4),
            "recall10_k2": round(d["k"][2][0] / max(1, d["k"][2][1]), 4), "leaks": d["leak"],
        }  # fmt: skip
        out[fam] = row
        print(f"{fam:7s} {row['n']:4d} {row['p50']:7.1f} {row['p99']:7.1f} {row['max']:7.1f} "
              f"{row['recall10']:7.3f} {row['recall10_k1']:6.3f} {row['recall10_k2']:6.3f} "
              f"{row['hit1']:6.3f} {row['leaks']:5d}  {row['service_cpu_ms']:.1f}")  # fmt: skip
    for fam in FAMILIES:
        for q, top in misses[fam][:show_misses]:
            t = q.target
            got = [f"{r.manufacturer}|{r.model}|{r.serial}|{r.location}" if r else "LEAK"
                   for r in top]  # fmt: skip
            print(f"  MISS {fam} k={q.k} {q.text!r} <- {t.manufacturer} | {t.model} | {t.serial}"
                  f" | {t.location}\n       got {got}")  # fmt: skip
    return out


async def throughput(svc: one_service.Running, rows: list[gen.Row]) -> dict[str, Any]:
    """Single ``rpc.assets.create`` requests, one after the other (one transaction and commit
    each): half as sent (the matching rules run), half with ``create_anyway`` (the bare create
    path)."""
    out: dict[str, Any] = {}
    half = len(rows) // 2
    async with svc.caller(CALLER) as caller:
        for mode, chunk in (("match", rows[:half]), ("create_anyway", rows[half:])):
            outcomes: dict[str, int] = defaultdict(int)
            cpu = svc.cpu()
            t = time.perf_counter()
            for r in chunk:
                request = contract.CreateEquipment(
                    manufacturer=r.manufacturer, model=r.model, serial=r.serial,
                    location=r.location, create_anyway=mode != "match",
                )  # fmt: skip
                result = await caller.call(contract.CREATE, request)
                outcomes[result.outcome.value] += 1
            dt = time.perf_counter() - t
            out[mode] = {
                "calls_per_s": round(len(chunk) / dt, 1),
                "ms_per_call": round(dt / len(chunk) * 1000, 2),
                "service_cpu_ms_per_call": round((svc.cpu() - cpu) * 1000 / len(chunk), 2),
                "outcomes": dict(outcomes),
            }
            print(f"  create-or-match, {mode}: {out[mode]}", flush=True)
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres",
                    help="server (any database; the bench uses its own)")  # fmt: skip
    ap.add_argument("--db", default=None, help="default rivet_search_bench_<size>")
    ap.add_argument("--queries", type=int, default=300, help="per family")
    ap.add_argument("--warm", type=int, default=60)
    ap.add_argument("--reload", action="store_true")
    ap.add_argument("--throughput", type=int, default=0, metavar="N",
                    help="create-or-match requests after the load (implies --reload)")  # fmt: skip
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--show-misses", type=int, default=0)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    size = f"{a.rows // 1000}k" if a.rows < 1_000_000 else f"{a.rows // 1_000_000}m"
    name = a.db or f"rivet_search_bench_{size}"
    url = with_db(a.dsn, name)
    asyncio.run(create_database(a.dsn, name))
    print(f"schema: rivet-assets migrate ({one_service.migrate('assets', url):.1f}s)", flush=True)
    t = time.perf_counter()
    g = gen.Generator(a.seed)
    rows = list(g.rows(a.rows, ORG))
    noise = list(g.rows(NOISE_ROWS, NOISE_ORG, start_seq=a.rows))
    extra = list(g.rows(a.throughput, ORG, start_seq=a.rows + NOISE_ROWS))
    print(f"generated {a.rows}+{NOISE_ROWS} rows in {time.perf_counter() - t:.1f}s", flush=True)
    result: dict[str, Any] = {"rows": a.rows, "database": name}
    if a.reload or a.throughput or not asyncio.run(is_loaded(url, a.rows)):
        result["search_index_fill_s"] = round(asyncio.run(load(url, rows, noise)), 1)
    sizes = asyncio.run(relation_sizes(url))
    result["sizes_mib"] = sizes
    print("  sizes (MiB):", json.dumps(sizes))
    with one_service.running("assets", url) as svc:
        print(f"rivet-assets up; idle after {svc.settle():.1f}s", flush=True)
        if a.throughput:
            result["create_or_match"] = asyncio.run(throughput(svc, extra))
        kept, dropped = aliases_known_to_catalogue()
        print(f"  query brands: aliases unknown to rivet_contracts.brands left out: {dropped}")
        queries = gen.make_queries(random.Random(a.seed + 1000), rows, a.queries, kept)
        warm = gen.make_queries(random.Random(a.seed + 2000), rows, max(1, a.warm // 3), kept)
        by_id = asyncio.run(org_rows(url))  # noise-organization ids are absent: a leak shows
        load_before = os.getloadavg()[0]
        result["search"] = asyncio.run(run_queries(svc, queries, warm, by_id, a.show_misses))
        result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        print(f"  load average (1 min) before/after the queries: {result['load_average']}"
              f" on {os.cpu_count()} cores")  # fmt: skip
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1, default=str))


async def create_database(dsn: str, name: str) -> None:
    admin = await asyncpg.connect(dsn)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def is_loaded(url: str, rows: int) -> bool:
    """The organization holds ``rows`` assets and the search index has keys."""
    conn = await asyncpg.connect(url)
    try:
        return bool(
            await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM assets.equipment_serial_key)"
                " AND (SELECT count(*) FROM assets.equipment WHERE org_id = $1) >= $2",
                ORG,
                rows,
            )
        )
    finally:
        await conn.close()


async def relation_sizes(url: str) -> dict[str, float]:
    conn = await asyncpg.connect(url)
    try:
        sizes = await conn.fetch("""
            SELECT c.relname, pg_relation_size(c.oid) AS bytes FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'assets' AND c.relkind IN ('r', 'i')
              AND pg_relation_size(c.oid) > 1048576 ORDER BY 2 DESC""")  # fmt: skip
    finally:
        await conn.close()
    return {r["relname"]: round(r["bytes"] / 2**20, 1) for r in sizes}


if __name__ == "__main__":
    main()
