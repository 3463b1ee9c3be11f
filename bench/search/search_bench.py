"""Benchmark of the assets service's search, through its public request (NATS request-reply) and,
with ``--gateway``, through the gateway's HTTP route as well.

A database of its own per size and data shape (``rivet_search_bench_100k``, ``..._1m``,
``..._100k_b``). Its schema ``assets`` is made by the service's console script
(``rivet-assets migrate``); ``N`` generated assets in one organization (plus 20k in a noise
organization) are loaded with COPY in the service's stored form and the search index is filled
with the statements of the search migrations' backfill (``bench/lib/assets_sql.py``; its
duration is printed). Then ``rivet-assets`` is started as ``make run`` starts it
(``bench/lib/one_service.py``: a private nats-server, the catalogue's streams declared) and
every query is one ``rpc.assets.search`` request with the catalogue's ``SearchEquipment``, timed
from send to reply: request validation, role check, transaction, all round trips to PostgreSQL,
ranking, the full ``EquipmentView``s, JSON and NATS. With ``--gateway``, ``rivet-gateway`` runs
in front of it (``bench/lib/gateway_front.py``) and every query is also sent as
``GET /api/equipment/search/fuzzy`` (the two paths alternate which goes first).

Query families (README): today's full names, model codes and serials; a brand, a brand alias,
a place, a brand and a place, an equipment type, brand + type + place (measured by first-page
precision); whole nameplate lines, what the nameplate scanner read, the first characters typed
(recall@10 and hit@1).

    uv run python bench/search/search_bench.py --rows 100000 --gateway
    uv run python bench/search/search_bench.py --rows 1000000
    uv run python bench/search/search_bench.py --rows 100000 --shape b
    uv run python bench/search/search_bench.py --after-import 20000 --gateway

``--after-import N``: a fresh database, ``N`` assets imported through the real import path (a
CSV posted to the gateway's ``POST /api/equipment/import``, create-or-match row by row in the
service's import job), then the query families at once, without any manual VACUUM; then the
same queries again after a ``VACUUM ANALYZE``. ``--throughput N`` (on a fresh load) measures
create-or-match: ``N`` single ``rpc.assets.create`` requests (one transaction each), half as
sent (the matching rules run), half with ``create_anyway``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from rivet_contracts import Identity, Role, brands
from rivet_contracts import assets as contract
from rivet_devstack.processes import cpu_seconds

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "lib"))
import assets_sql  # noqa: E402  (bench/lib/assets_sql.py)
import gateway_front  # noqa: E402  (bench/lib/gateway_front.py)
import gen  # noqa: E402
import one_service  # noqa: E402

ORG = uuid.UUID("00000000-0000-4000-8000-000000000001")
NOISE_ORG = uuid.UUID("00000000-0000-4000-8000-000000000002")
NOISE_ROWS = 20_000
DATA_VERSION = 2
"""Bump when the loaded data's shape changes (2: equipment types, change times): a kept
database of another version is loaded again."""
OLD_FAMILIES = ("full", "model", "serial")
RECALL_FAMILIES = (*OLD_FAMILIES, *gen.ROW_FAMILIES)
FAMILIES = (*OLD_FAMILIES, "nameplate", "scan", "prefix", *gen.FACET_FAMILIES)
LIMIT = 10
CALLER = Identity(user_id=uuid.UUID("00000000-0000-4000-8000-0000000000b1"), org_id=ORG,
                  role=Role.ADMIN)  # fmt: skip


def with_db(url: str, name: str) -> str:
    head, _, query = url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


canon = assets_sql.manufacturer
code = assets_sql.code
norm = gen.norm_code


def record(r: gen.Row) -> tuple[Any, ...]:
    return assets_sql.equipment_record(
        r.id, r.org_id, r.number, r.manufacturer, r.model, r.serial, r.location,
        equipment_type=r.equipment_type, updated_at=r.updated_at,
    )  # fmt: skip


# --- data ---------------------------------------------------------------------------------


async def load(url: str, rows: list[gen.Row], noise: list[gen.Row], meta: dict[str, Any]) -> float:
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
        await conn.execute("DROP SCHEMA IF EXISTS bench_search CASCADE")
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
        print(f"  search index (the migrations' backfill) and indexes: {fill:.1f}s", flush=True)
        await assets_sql.vacuum_search_tables(conn)
        await conn.execute("CREATE SCHEMA bench_search")
        await conn.execute("CREATE TABLE bench_search.meta (value jsonb NOT NULL)")
        await conn.execute("INSERT INTO bench_search.meta VALUES ($1::jsonb)", json.dumps(meta))
        return fill
    finally:
        await conn.close()


async def is_loaded(url: str, meta: dict[str, Any]) -> bool:
    """The database holds this data set (version, shape, size, seed)."""
    conn = await asyncpg.connect(url)
    try:
        if not await conn.fetchval("SELECT to_regclass('bench_search.meta') IS NOT NULL"):
            return False
        kept = await conn.fetchval("SELECT value FROM bench_search.meta")
        return bool(json.loads(kept) == meta)
    finally:
        await conn.close()


async def org_rows(url: str) -> dict[uuid.UUID, gen.Row]:
    """The organization's rows as stored (created ones included): anything else is a leak."""
    conn = await asyncpg.connect(url)
    try:
        got = await conn.fetch(
            "SELECT id, number, manufacturer, model, serial, location, equipment_type,"
            " updated_at FROM assets.equipment WHERE org_id = $1 ORDER BY number", ORG,
        )  # fmt: skip
    finally:
        await conn.close()
    return {r["id"]: gen.Row(r["id"], ORG, r["number"], r["manufacturer"], r["model"] or "",
                             r["serial"] or "", r["location"] or "", r["equipment_type"] or "",
                             r["updated_at"]) for r in got}  # fmt: skip


def aliases_known_to_catalogue() -> tuple[dict[str, list[str]], list[str]]:
    """The generator's aliases that the service's brand catalogue maps to the stored brand
    (others are a catalogue matter, not a search one), by generator brand; and the dropped
    ones."""
    kept: dict[str, list[str]] = {}
    dropped = []
    for b in gen.BRANDS:
        key = canon(b.name)[1]
        kept[b.name] = [a for a in b.aliases if canon(a)[1] == key]
        dropped += [a for a in b.aliases if canon(a)[1] != key]
    return kept, dropped


def aliases_by_stored_brand(kept: dict[str, list[str]]) -> dict[str, list[str]]:
    """Stored brand -> the names people type for it: the generator's known aliases first (as
    people spell them: "AB", "Rockwell"), then the catalogue's (``rivet_contracts.brands``)."""
    out: dict[str, list[str]] = defaultdict(list)
    for b in gen.BRANDS:
        stored = canon(b.name)[0]
        if stored != b.name:
            out[stored].append(b.name)
        out[stored] += kept[b.name]
    for name, forms in brands.BRANDS.items():
        out[name] += [f.title() for f in forms]
    return out


def queries_for(
    seed: int, families: tuple[str, ...], per_family: int, gen_rows: list[gen.Row],
    stored: list[gen.Row], kept: dict[str, list[str]], facets: gen.Facets, shape: str,
) -> list[gen.Query]:  # fmt: skip
    """Today's families from the generated rows (as before), the others from the stored rows."""
    rng = random.Random(seed)
    out = [q for q in gen.make_queries(rng, gen_rows, per_family, kept, cap_typos=shape != "a")
           if q.family in families]  # fmt: skip
    new = tuple(f for f in families if f not in OLD_FAMILIES)
    out += gen.make_family_queries(random.Random(seed + 1), stored, per_family, facets, new)
    return out


# --- relevance ------------------------------------------------------------------------------


@cache
def brand_key(name: str) -> str:
    return canon(name)[1]


@cache
def brand_tokens(stored: str) -> tuple[str, ...]:
    """Normal forms of a stored brand, its catalogue aliases and their words."""
    out: set[str] = set()
    for form in (stored, *brands.BRANDS.get(stored, ())):
        out.add(norm(form))
        out.update(norm(w) for w in form.replace("-", " ").split())
    return tuple(x for x in out if x)


@cache
def text_tokens(value: str, path: bool) -> tuple[str, ...]:
    """A location's segments (or a type, a model) and their words, in normal form."""
    out: set[str] = set()
    for part in gen.segments(value) if path else [value]:
        out.add(norm(part))
        out.update(norm(w) for w in part.replace("-", " ").replace("/", " ").split())
    return tuple(x for x in out if x)


def tokens_of(r: gen.Row, kind: str | None = None) -> tuple[str, ...]:
    if kind == "brand":
        return brand_tokens(r.manufacturer)
    if kind == "location":
        return text_tokens(r.location, True)
    if kind == "model":
        return text_tokens(r.model, False)
    number = norm(r.number)
    return (*brand_tokens(r.manufacturer), *text_tokens(r.location, True),
            *text_tokens(r.model, False), *text_tokens(r.equipment_type, False),
            norm(r.serial), number, number[2:], number[-6:])  # fmt: skip


def relevant(q: gen.Query) -> Callable[[gen.Row], bool]:
    """Recall families: is this row an answer to the query?"""
    t = q.target
    if q.family in ("serial", "nameplate", "scan"):  # that one asset (serials are unique)
        sn = code(t.serial)
        return lambda r: code(r.serial) == sn
    if q.family == "prefix":  # a row of the kind typed whose value starts with it
        assert isinstance(q, gen.FacetQuery)
        p, kind = q.prefix or "", q.prefix_kind
        return lambda r: any(x.startswith(p) for x in tokens_of(r, kind))
    mn = code(t.model)
    if q.family == "model":
        return lambda r: code(r.model) == mn
    brand = brand_key(t.manufacturer)
    want = (q.loc_part or "").lower()

    def full(r: gen.Row) -> bool:
        if brand_key(r.manufacturer) != brand or code(r.model) != mn:
            return False
        if not want:
            return True
        segs = [x.lower() for x in r.location.split(" / ")]
        return want in (" ".join(segs[-2:]), segs[-1])

    return full


def completes(q: gen.FacetQuery) -> Callable[[gen.Row], bool]:
    """Prefix family: the row has some value (any field) that starts with what was typed."""
    p = q.prefix or ""
    return lambda r: any(x.startswith(p) for x in tokens_of(r))


def facet_key(q: gen.FacetQuery) -> tuple[str | None, str | None, str | None]:
    return (brand_key(q.brand) if q.brand else None, norm(q.segment) if q.segment else None,
            norm(q.equipment_type) if q.equipment_type else None)  # fmt: skip


def row_facets(r: gen.Row) -> tuple[str, set[str], str]:
    return (
        brand_key(r.manufacturer),
        {norm(s) for s in gen.segments(r.location)},
        norm(r.equipment_type),
    )


def has_facets(key: tuple[str | None, str | None, str | None], r: gen.Row) -> bool:
    b, segs, t = row_facets(r)
    return (key[0] in (None, b)) and (key[1] is None or key[1] in segs) and (key[2] in (None, t))


def facet_counts(
    keys: set[tuple[str | None, str | None, str | None]], rows: list[gen.Row]
) -> Counter[tuple[str | None, str | None, str | None]]:
    """How many of the organization's assets have each facet combination asked for."""
    counts: Counter[tuple[str | None, str | None, str | None]] = Counter()
    want_b = {k[0] for k in keys}
    want_s = {k[1] for k in keys}
    want_t = {k[2] for k in keys}
    for r in rows:
        b, segs, t = row_facets(r)
        bs = [None] + ([b] if b in want_b else [])
        ss = [None] + [s for s in segs if s in want_s]
        ts = [None] + ([t] if t in want_t else [])
        for kb in bs:
            for ks in ss:
                for kt in ts:
                    if (kb, ks, kt) in keys:
                        counts[kb, ks, kt] += 1
    return counts


# --- running the queries ---------------------------------------------------------------------


@dataclass
class Page:
    ms: float
    ids: list[uuid.UUID]
    next_offset: int | None
    cpu: float = 0.0  # CPU seconds of the answering side (service, or gateway)


@dataclass
class Path_:
    """One way of asking: ``rpc.assets.search`` over NATS, or the gateway's HTTP route."""

    name: str
    ask: Callable[[str, int], Any]  # (query, offset) -> awaitable Page
    lat: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


def service_path(svc: one_service.Running, caller: one_service.Caller) -> Path_:
    async def ask(q: str, offset: int) -> Page:
        body = caller.body(contract.SearchEquipment(query=q, limit=LIMIT, offset=offset))
        cpu = svc.cpu()
        t = time.perf_counter()
        reply = await caller.raw(contract.SEARCH.subject, body)
        dt = (time.perf_counter() - t) * 1000
        result = contract.SearchResult.model_validate_json(reply)
        return Page(dt, [h.equipment.id for h in result.items], result.next_offset,
                    svc.cpu() - cpu)  # fmt: skip

    return Path_("service", ask)


def gateway_path(gw: gateway_front.Gateway, client: httpx.AsyncClient, token: str) -> Path_:
    headers = gw.auth(token)
    pid = {"gateway": gw.pid}

    async def ask(q: str, offset: int) -> Page:
        params: dict[str, Any] = {"query": q, "limit": LIMIT}
        if offset:
            params["offset"] = offset
        cpu = cpu_seconds(pid).get("gateway", 0.0)
        t = time.perf_counter()
        answer = await client.get("/api/equipment/search/fuzzy", params=params, headers=headers)
        dt = (time.perf_counter() - t) * 1000
        answer.raise_for_status()
        result = contract.SearchResult.model_validate_json(answer.content)
        return Page(dt, [h.equipment.id for h in result.items], result.next_offset,
                    cpu_seconds(pid).get("gateway", 0.0) - cpu)  # fmt: skip

    return Path_("gateway", ask)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


@dataclass
class Tally:
    lat: list[float] = field(default_factory=list)
    slow: list[tuple[float, str]] = field(default_factory=list)
    cpu: float = 0.0
    n: int = 0
    hit: int = 0
    hit1: int = 0
    by_k: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    leaks: int = 0
    precision: list[float] = field(default_factory=list)  # per query, page 1
    full: int = 0  # page 1 as full as the organization allows
    empty: int = 0
    page2: list[bool] = field(default_factory=list)
    page2_lat: list[float] = field(default_factory=list)
    page2_faults: Counter[str] = field(default_factory=Counter)
    misses: list[tuple[gen.Query, list[gen.Row | None], int]] = field(default_factory=list)


async def run_families(
    paths: list[Path_], queries: list[gen.Query], warm: list[gen.Query],
    by_id: dict[uuid.UUID, gen.Row], show_misses: int, label: str,
) -> dict[str, Any]:  # fmt: skip
    """Every query through every path (alternating which goes first); figures per path and
    family. The warm-up queries run first and are timed apart ("first queries")."""
    first: list[float] = []
    for i, q in enumerate(warm):
        for p in paths if i % 2 == 0 else paths[::-1]:
            page = await p.ask(q.text, 0)
            if p is paths[0]:
                first.append(page.ms)
    keys = {facet_key(q) for q in queries if isinstance(q, gen.FacetQuery) and q.family in
            gen.FACET_FAMILIES}  # fmt: skip
    counts = facet_counts(keys, list(by_id.values())) if keys else Counter()
    tallies: dict[str, dict[str, Tally]] = {p.name: defaultdict(Tally) for p in paths}
    for i, q in enumerate(queries):
        for p in paths if i % 2 == 0 else paths[::-1]:
            page = await p.ask(q.text, 0)
            d = tallies[p.name][q.family]
            d.lat.append(page.ms)
            d.slow.append((page.ms, q.text))
            d.cpu += page.cpu
            d.n += 1
            rows = [by_id.get(x) for x in page.ids]
            d.leaks += sum(1 for r in rows if r is None)
            if q.family in gen.FACET_FAMILIES:
                assert isinstance(q, gen.FacetQuery)
                key = facet_key(q)
                good = [r is not None and has_facets(key, r) for r in rows]
                d.precision.append(sum(good) / len(good) if good else 1.0)
                d.full += len(rows) == min(LIMIT, counts[key])
                d.empty += not rows
                if not all(good) or len(rows) < min(LIMIT, counts[key]):
                    d.misses.append((q, rows, counts[key]))
                # the next page: right facets, no repeats, as full as it can be, and
                # next_offset where there is more
                more = counts[key] > LIMIT
                faults = []
                if (page.next_offset == LIMIT) != more:
                    faults.append("next_offset")
                if more and page.next_offset == LIMIT:
                    nxt = await p.ask(q.text, LIMIT)
                    d.page2_lat.append(nxt.ms)
                    rows2 = [by_id.get(x) for x in nxt.ids]
                    if set(nxt.ids) & set(page.ids):
                        faults.append("repeats page 1")
                    if not all(r is not None and has_facets(key, r) for r in rows2):
                        faults.append("wrong facet")
                    if len(rows2) < min(LIMIT, counts[key] - LIMIT):
                        faults.append("short")
                d.page2_faults.update(faults)
                d.page2.append(not faults)
                continue
            rel = relevant(q)
            hit = any(r is not None and rel(r) for r in rows[:LIMIT])
            d.hit += hit
            d.hit1 += bool(rows and rows[0] is not None and rel(rows[0]))
            d.by_k[q.k][0] += hit
            d.by_k[q.k][1] += 1
            if q.family == "prefix":
                assert isinstance(q, gen.FacetQuery)
                done = completes(q)
                good = [r is not None and done(r) for r in rows]
                d.precision.append(sum(good) / len(good) if good else 0.0)
            if not hit:
                d.misses.append((q, rows[:3], 0))
    out: dict[str, Any] = {}
    for p in paths:
        out[p.name] = summarize(tallies[p.name], p.name, label)
    out["first_queries"] = {
        "n": len(first), "p50": round(statistics.median(first), 2) if first else None,
        "max": round(max(first), 2) if first else None,
        "first": round(first[0], 2) if first else None,
    }  # fmt: skip
    print(f"  first {len(first)} queries ({paths[0].name}, warm-up): "
          f"{out['first_queries']}")  # fmt: skip
    show(tallies[paths[0].name], show_misses, by_id)
    return out


def summarize(tallies: dict[str, Tally], path: str, label: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    print(f"\n{label} - {path}")
    print(f"{'family':20s} {'n':>4s} {'p50ms':>7s} {'p99ms':>7s} {'max':>7s} {'rec@10':>7s} "
          f"{'hit@1':>6s} {'prec':>6s} {'full':>5s} {'page2':>5s} leaks  CPU ms/q  "
          "by k")  # fmt: skip
    for fam in FAMILIES:
        if fam not in tallies:
            continue
        d = tallies[fam]
        row: dict[str, Any] = {
            "n": d.n, "p50": round(statistics.median(d.lat), 2),
            "p99": round(pct(d.lat, 99), 2), "max": round(max(d.lat), 2),
            f"{path}_cpu_ms": round(d.cpu * 1000 / d.n, 2), "leaks": d.leaks,
            "slowest": [(round(ms, 1), text) for ms, text in sorted(d.slow, reverse=True)[:5]],
        }  # fmt: skip
        if fam in gen.FACET_FAMILIES:
            row |= {
                "precision": round(statistics.mean(d.precision), 4),
                "all_correct": round(sum(x == 1.0 for x in d.precision) / d.n, 4),
                "full_page": round(d.full / d.n, 4), "empty": d.empty,
                "page2_ok": round(sum(d.page2) / max(1, len(d.page2)), 4),
                "page2_p99": round(pct(d.page2_lat, 99), 2) if d.page2_lat else None,
                "page2_faults": dict(d.page2_faults),
            }  # fmt: skip
            quality = (f"{'':7s} {'':6s} {row['precision']:6.3f} {row['full_page']:5.2f} "
                       f"{row['page2_ok']:5.2f}")  # fmt: skip
            ks = ""
        else:
            row |= {"recall10": round(d.hit / d.n, 4), "hit1": round(d.hit1 / d.n, 4)}
            for k, (h, n) in sorted(d.by_k.items()):
                row[f"recall10_k{k}"] = round(h / n, 4)
            if d.precision:
                row["precision"] = round(statistics.mean(d.precision), 4)
            quality = (f"{row['recall10']:7.3f} {row['hit1']:6.3f} "
                       f"{row.get('precision', float('nan')):6.3f} {'':5s} {'':5s}")  # fmt: skip
            ks = " ".join(f"k={k}:{h / n:.3f}" for k, (h, n) in sorted(d.by_k.items()))
        out[fam] = row
        print(f"{fam:20s} {d.n:4d} {row['p50']:7.1f} {row['p99']:7.1f} {row['max']:7.1f} "
              f"{quality} {d.leaks:5d}  {row[f'{path}_cpu_ms']:6.1f}   {ks}")  # fmt: skip
    return out


def describe(r: gen.Row | None) -> str:
    if r is None:
        return "LEAK"
    return f"{r.manufacturer}|{r.model}|{r.serial}|{r.location}|{r.equipment_type}"


def show(tallies: dict[str, Tally], limit: int, by_id: dict[uuid.UUID, gen.Row]) -> None:
    if not limit:
        return
    serials: list[str] | None = None
    for fam in FAMILIES:
        if fam not in tallies:
            continue
        slow = sorted(tallies[fam].slow, reverse=True)[:3]
        print(f"  SLOWEST {fam}: " + ", ".join(f"{text!r} {ms:.0f} ms" for ms, text in slow))
        if tallies[fam].page2_faults:
            print(f"  PAGE 2 {fam}: {dict(tallies[fam].page2_faults)}")
        for q, rows, count in tallies[fam].misses[:limit]:
            t = q.target
            if fam in gen.FACET_FAMILIES:
                assert isinstance(q, gen.FacetQuery)
                key = facet_key(q)
                wrong = [describe(r) for r in rows if r is None or not has_facets(key, r)]
                print(f"  {'WRONG' if wrong else 'SHORT'} {fam} k={q.k} {q.text!r} wants "
                      f"{q.brand} / {q.segment} / {q.equipment_type}: {len(rows)} hits of "
                      f"{min(LIMIT, count)} possible, {len(wrong)} wrong {wrong[:3]}")  # fmt: skip
                continue
            extra = ""
            if fam == "serial":
                if serials is None:
                    serials = sorted({code(r.serial) or "" for r in by_id.values()})
                extra = f" [{closer(norm(q.text), code(t.serial) or '', serials)} closer serials]"
            print(f"  MISS {fam} k={q.k} {q.text!r} <- {describe(t)}{extra}\n"
                  f"       got {[describe(r) for r in rows]}")  # fmt: skip


def closer(query: str, target: str, values: list[str]) -> int:
    """How many other stored serials are strictly nearer to the query than the target (the
    ambiguity floor of a miss)."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    d = gen.osa(query, target)
    found = process.extract(query, values, scorer=OSA.distance, score_cutoff=d - 1,
                            limit=None)  # fmt: skip
    return sum(1 for v, _, _ in found if v != target) if d > 0 else 0


# --- create-or-match -------------------------------------------------------------------------


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
                    location=r.location, equipment_type=r.equipment_type or None,
                    create_anyway=mode != "match",
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


# --- the import path ---------------------------------------------------------------------------


def csv_of(rows: list[gen.Row]) -> bytes:
    """The rows as a spreadsheet export (the columns the import reads)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Manufacturer", "Model", "Serial", "Type", "Location"])
    for r in rows:
        writer.writerow([r.manufacturer, r.model, r.serial, r.equipment_type, r.location])
    return out.getvalue().encode()


async def import_through_gateway(
    gw: gateway_front.Gateway, token: str, data: bytes, rows: int
) -> dict[str, Any]:
    """``POST /api/equipment/import`` (answers at once with the job), then the job polled
    until done; the import's own figures."""
    headers = gw.auth(token)
    async with httpx.AsyncClient(base_url=gw.url, timeout=60) as client:
        t = time.perf_counter()
        answer = await client.post(
            "/api/equipment/import", params={"wait": 0}, headers=headers,
            files={"file": ("assets.csv", data, "text/csv")},
        )  # fmt: skip
        answer.raise_for_status()
        job = answer.json()
        shown = time.perf_counter()
        while job["status"] in ("queued", "running"):
            await asyncio.sleep(1.0)
            answer = await client.get(f"/api/equipment/import/{job['id']}",
                                      params={"rows_limit": 0}, headers=headers)  # fmt: skip
            answer.raise_for_status()
            job = answer.json()
            if time.perf_counter() - shown > 15:
                shown = time.perf_counter()
                done = job["processed_rows"]
                print(f"  import: {done}/{rows} rows, "
                      f"{done / (shown - t):.0f} rows/s", flush=True)  # fmt: skip
        seconds = time.perf_counter() - t
    figures = {k: job[k] for k in ("status", "total_rows", "processed_rows", "created", "matched",
                                   "possible_duplicates", "rejected", "error")}  # fmt: skip
    figures |= {"seconds": round(seconds, 1), "rows_per_s": round(rows / seconds, 1)}
    print(f"  import done: {figures}", flush=True)
    return figures


async def table_state(url: str) -> dict[str, Any]:
    """Whether the tables were vacuumed and analysed (the import's tidy-up) and what the planner
    knows of them."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("""
            SELECT s.relname, s.n_live_tup, s.n_dead_tup, s.last_vacuum IS NOT NULL AS vacuumed,
                   s.last_analyze IS NOT NULL AS analysed, c.reltuples::bigint AS reltuples,
                   c.relallvisible, c.relpages
              FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
             WHERE s.schemaname = 'assets' AND s.relname = ANY($1::text[])""",
            list(assets_sql.SEARCH_TABLES),
        )  # fmt: skip
    finally:
        await conn.close()
    return {r["relname"]: dict(r) for r in rows}


async def check_and_vacuum(url: str, vacuum: bool) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        checked = await assets_sql.check_index(conn, ORG)
        if vacuum:
            await assets_sql.vacuum_search_tables(conn)
        return checked
    finally:
        await conn.close()


def after_import(a: argparse.Namespace) -> dict[str, Any]:
    """A fresh database; ``a.after_import`` assets imported through the gateway; the families
    at once; then again after a manual ``VACUUM ANALYZE``."""
    name = a.db or f"rivet_search_bench_import{'' if a.shape == 'a' else '_' + a.shape}"
    url = with_db(a.dsn, name)
    asyncio.run(recreate_database(a.dsn, name))
    print(f"schema: rivet-assets migrate ({one_service.migrate('assets', url):.1f}s)", flush=True)
    g = gen.SHAPES[a.shape](a.seed)
    rows = list(g.rows(a.after_import, ORG))
    data = csv_of(rows)
    result: dict[str, Any] = {"rows": a.after_import, "shape": a.shape, "database": name,
                              "csv_bytes": len(data)}  # fmt: skip
    env = {"IMPORT_TIDY_ROWS": str(a.import_tidy_rows)} if a.import_tidy_rows else {}
    result["import_tidy_rows"] = a.import_tidy_rows or "default (1000)"
    kept, _ = aliases_known_to_catalogue()
    with one_service.running("assets", url, env) as svc, gateway_front.running(svc) as gw:
        print(f"rivet-assets and rivet-gateway up; idle after {svc.settle():.1f}s", flush=True)
        token = gw.token(CALLER)
        result["import"] = asyncio.run(import_through_gateway(gw, token, data, len(rows)))
        result["tables_after_import"] = asyncio.run(table_state(url))
        by_id = asyncio.run(org_rows(url))
        stored = list(by_id.values())
        facets = gen.Facets.of(stored, aliases_by_stored_brand(kept))
        queries = queries_for(a.seed + 1000, a.families, a.queries, rows, stored, kept, facets,
                              a.shape)  # fmt: skip
        warm = queries_for(a.seed + 2000, a.families, warm_per_family(a), rows, stored, kept,
                           facets, a.shape)  # fmt: skip
        load_before = os.getloadavg()[0]
        front = gw if a.gateway else None
        result["after_import"] = asyncio.run(
            ask_all(
                svc,
                front,
                token,
                queries,
                warm,
                by_id,
                a.show_misses,
                "right after the import (no manual VACUUM)",
            )
        )
        result["index_check"] = asyncio.run(check_and_vacuum(url, vacuum=True))
        print(f"  index written by the service vs the bench's backfill: {result['index_check']}")
        result["after_vacuum"] = asyncio.run(
            ask_all(svc, front, token, queries, warm, by_id, a.show_misses, "after VACUUM ANALYZE")
        )
        result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(f"  load average (1 min) before/after the queries: {result['load_average']}"
          f" on {os.cpu_count()} cores")  # fmt: skip
    return result


async def ask_all(
    svc: one_service.Running, gw: gateway_front.Gateway | None, token: str,
    queries: list[gen.Query], warm: list[gen.Query], by_id: dict[uuid.UUID, gen.Row],
    show_misses: int, label: str,
) -> dict[str, Any]:  # fmt: skip
    async with svc.caller(CALLER) as caller:
        paths = [service_path(svc, caller)]
        if gw is None:
            return await run_families(paths, queries, warm, by_id, show_misses, label)
        async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
            paths.append(gateway_path(gw, client, token))
            return await run_families(paths, queries, warm, by_id, show_misses, label)


def warm_per_family(a: argparse.Namespace) -> int:
    return max(1, -(-a.warm // len(a.families)))


# --- main --------------------------------------------------------------------------------------


def loaded(a: argparse.Namespace) -> dict[str, Any]:
    size = f"{a.rows // 1000}k" if a.rows < 1_000_000 else f"{a.rows // 1_000_000}m"
    name = a.db or f"rivet_search_bench_{size}{'' if a.shape == 'a' else '_' + a.shape}"
    url = with_db(a.dsn, name)
    asyncio.run(create_database(a.dsn, name))
    print(f"schema: rivet-assets migrate ({one_service.migrate('assets', url):.1f}s)", flush=True)
    t = time.perf_counter()
    g = gen.SHAPES[a.shape](a.seed)
    rows = list(g.rows(a.rows, ORG))
    noise = list(g.rows(NOISE_ROWS, NOISE_ORG, start_seq=a.rows))
    extra = list(g.rows(a.throughput, ORG, start_seq=a.rows + NOISE_ROWS))
    print(f"generated {a.rows}+{NOISE_ROWS} rows (shape {a.shape}) in "
          f"{time.perf_counter() - t:.1f}s", flush=True)  # fmt: skip
    result: dict[str, Any] = {"rows": a.rows, "shape": a.shape, "database": name}
    meta = {"version": DATA_VERSION, "rows": a.rows, "shape": a.shape, "seed": a.seed}
    if a.reload or a.throughput or not asyncio.run(is_loaded(url, meta)):
        result["search_index_fill_s"] = round(asyncio.run(load(url, rows, noise, meta)), 1)
    sizes = asyncio.run(relation_sizes(url))
    result["sizes_mib"] = sizes
    print("  sizes (MiB):", json.dumps(sizes))
    kept, dropped = aliases_known_to_catalogue()
    with (
        one_service.running("assets", url) as svc,
        gateway_front.running(svc) if a.gateway else _nothing() as gw,
    ):
        print(f"rivet-assets up; idle after {svc.settle():.1f}s", flush=True)
        if a.throughput:
            result["create_or_match"] = asyncio.run(throughput(svc, extra))
        print(f"  query brands: aliases unknown to rivet_contracts.brands left out: {dropped}")
        by_id = asyncio.run(org_rows(url))  # noise-organization ids are absent: a leak shows
        stored = list(by_id.values())
        facets = gen.Facets.of(stored, aliases_by_stored_brand(kept))
        queries = queries_for(a.seed + 1000, a.families, a.queries, rows, stored, kept,
                              facets, a.shape)  # fmt: skip
        warm = queries_for(a.seed + 2000, a.families, warm_per_family(a), rows, stored, kept,
                           facets, a.shape)  # fmt: skip
        token = gw.token(CALLER) if gw is not None else ""
        load_before = os.getloadavg()[0]
        found = asyncio.run(ask_all(svc, gw, token, queries, warm, by_id, a.show_misses,
                                    f"{a.rows} assets, shape {a.shape}"))  # fmt: skip
        result["search"] = found["service"]
        result["first_queries"] = found["first_queries"]
        if "gateway" in found:
            result["gateway_search"] = found["gateway"]
        result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        print(f"  load average (1 min) before/after the queries: {result['load_average']}"
              f" on {os.cpu_count()} cores")  # fmt: skip
    return result


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--shape", choices=sorted(gen.SHAPES), default="a",
                    help="a: real code shapes; b: other shapes (README)")  # fmt: skip
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres",
                    help="server (any database; the bench uses its own)")  # fmt: skip
    ap.add_argument("--db", default=None, help="default rivet_search_bench_<size>[_<shape>]")
    ap.add_argument("--queries", type=int, default=300, help="per family")
    ap.add_argument("--families", default=",".join(FAMILIES),
                    help=f"comma list of: {', '.join(FAMILIES)}")  # fmt: skip
    ap.add_argument("--warm", type=int, default=60)
    ap.add_argument("--gateway", action="store_true",
                    help="also every query through rivet-gateway's HTTP route")  # fmt: skip
    ap.add_argument("--after-import", type=int, default=0, metavar="N",
                    help="N assets imported through the gateway into a fresh database, then the "
                    "queries at once (and again after VACUUM ANALYZE)")  # fmt: skip
    ap.add_argument("--import-tidy-rows", type=int, default=0, metavar="N",
                    help="the service's IMPORT_TIDY_ROWS for --after-import (a huge value: an "
                    "import without its VACUUM, as before that fix)")  # fmt: skip
    ap.add_argument("--reload", action="store_true")
    ap.add_argument("--throughput", type=int, default=0, metavar="N",
                    help="create-or-match requests after the load (implies --reload)")  # fmt: skip
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--show-misses", type=int, default=0)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    a.families = tuple(f for f in FAMILIES if f in {x.strip() for x in a.families.split(",")})
    result = after_import(a) if a.after_import else loaded(a)
    result["queries_per_family"] = a.queries
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1, default=str))


async def create_database(dsn: str, name: str) -> None:
    admin = await asyncpg.connect(dsn)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def recreate_database(dsn: str, name: str) -> None:
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


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
