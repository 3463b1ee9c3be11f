# ruff: noqa
# Archived prototype (see ../README.md): kept to reproduce the s1-s5 comparison.
"""Fuzzy equipment search benchmark.

    python bench/search/search_bench.py --rows 100000 \
        --dsn postgresql://postgres@127.0.0.1:5432/rivet_search_lab

Loads N rows (one big organisation, plus a small second organisation as noise that must
never leak into results) into schema lab_<N> (reused if already loaded; --reload to
rebuild), then runs three query families (full names, model codes, serials), each query
with exactly 1 or 2 real typos plus cosmetic changes, against every strategy and prints
p50/p99 latency (ms, one client, warm cache) and recall@10 / hit@1 per family.

Relevance: a result is relevant when it matches what the query names: for serial queries
the row with that serial; for model queries any row of that model; for full-name queries
any row with that manufacturer and model (and, when the query contains location words,
whose location contains them).  Thousands of rows can share a model, so "the target row in
the top 10" is only well-defined for serials; for the other families we count any
equivalent row.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import asyncpg
import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import gen
import search_sql

ORG = uuid.UUID("00000000-0000-4000-8000-000000000001")
NOISE_ORG = uuid.UUID("00000000-0000-4000-8000-000000000002")
NOISE_ROWS = 20000

BASE_TABLE = """
CREATE TABLE {s}.equipment (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL,
    number       text NOT NULL,
    manufacturer text NOT NULL DEFAULT '',
    model        text NOT NULL DEFAULT '',
    serial       text NOT NULL DEFAULT '',
    location     text NOT NULL DEFAULT ''
)"""

# Indexes only the alternative strategies need (the final design's come from search_sql.ddl)
ALT_DDL = [
    # S1/S2: one concatenated text column, trigram GIN (the designs measured before)
    """ALTER TABLE {s}.equipment ADD COLUMN IF NOT EXISTS search_text text GENERATED ALWAYS AS
       (lower(number || ' ' || manufacturer || ' ' || model || ' ' || serial || ' ' || location)) STORED""",
    "CREATE INDEX IF NOT EXISTS eq_text_gin ON {s}.equipment USING gin (search_text gin_trgm_ops)",
    # S3: per-field trigram GIN on the rows (single column: a btree_gin (org_id, ...) composite
    # was measured slower, GIN has to merge the org_id posting list of 1M entries)
    "CREATE INDEX IF NOT EXISTS eq_serial_gin1 ON {s}.equipment USING gin (serial_norm gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS eq_model_gin1 ON {s}.equipment USING gin (model_norm gin_trgm_ops)",
    # S4: per-field GiST KNN on the rows.  Expression lower(..) (a no-op for pg_trgm) keeps
    # the planner from using these GiSTs for S3's `%` queries.
    "CREATE INDEX IF NOT EXISTS eq_serial_gist_l ON {s}.equipment USING gist (lower(serial_norm) gist_trgm_ops(siglen=64))",
    "CREATE INDEX IF NOT EXISTS eq_model_gist_l ON {s}.equipment USING gist (lower(model_norm) gist_trgm_ops(siglen=64))",
]
OBSOLETE = [
    "equipment_serial_trgm",
    "eq_model_gist",
    "eq_model_gin",
    "eq_serial_gin",
    "eq_serial_keys",
    "equipment_term_trgm",
    "equipment_term_keys",
    "term_gin",
    "term_gist_m",
]

COLS = "e.id, e.number, e.manufacturer, e.model, e.serial, e.location"


# --------------------------------------------------------------------------------------
# strategies: async fn(conn, schema, query) -> list of ids (top 10)
# --------------------------------------------------------------------------------------


async def s1_concat_sim(conn, s, q, limit=10):
    """pg_trgm `%` on one concatenated column + GIN, ordered by similarity."""
    rows = await conn.fetch(
        f"SELECT id FROM {s}.equipment WHERE org_id=$1 AND search_text % $2 "
        f"ORDER BY similarity(search_text, $2) DESC LIMIT $3",
        ORG,
        q.lower(),
        limit,
    )
    return [r[0] for r in rows]


async def s2_concat_wordsim(conn, s, q, limit=10):
    """pg_trgm `%>` (word similarity) on the concatenated column + GIN."""
    rows = await conn.fetch(
        f"SELECT id FROM {s}.equipment WHERE org_id=$1 AND search_text %> $2 "
        f"ORDER BY $2 <<-> search_text LIMIT $3",
        ORG,
        q.lower(),
        limit,
    )
    return [r[0] for r in rows]


def _probes(q):
    words = search_sql.split_words(q)
    segs = list(dict.fromkeys(x for _, _, x in search_sql.query_segments(words) if len(x) >= 3))
    compact = "".join(words)
    return compact, list(dict.fromkeys([compact] + segs))


async def _rerank(conn, s, q, sql, args, limit):
    cands = {}
    for r in await conn.fetch(sql, *args):
        cands.setdefault(r["id"], search_sql._Cand(*r))
    return [i for i, _ in search_sql.rank(q, list(cands.values()), limit)]


async def s3_field_gin(conn, s, q, limit=10):
    """Per-field trigram GIN on the rows: serial_norm % probe, model_norm % probe (probes =
    glued query + every 1..3-word run), LIMIT 30 per field and probe, UNION, rapidfuzz rerank."""
    compact, probes = _probes(q)
    sql = f"""
      SELECT {COLS} FROM unnest($2::text[]) p(q) CROSS JOIN LATERAL (
        (SELECT * FROM {s}.equipment e WHERE e.org_id=$1 AND e.serial_norm % p.q
          ORDER BY similarity(e.serial_norm, p.q) DESC LIMIT 30)
        UNION ALL
        (SELECT * FROM {s}.equipment e WHERE e.org_id=$1 AND e.model_norm % p.q
          ORDER BY similarity(e.model_norm, p.q) DESC LIMIT 30)) e"""
    return await _rerank(conn, s, q, sql, (ORG, probes), limit)


async def s4_field_gist_knn(conn, s, q, limit=10):
    """Per-field GiST KNN on the rows: ORDER BY serial_norm <-> probe / model_norm <-> probe
    LIMIT 30 per probe, UNION, rapidfuzz rerank."""
    compact, probes = _probes(q)
    sql = f"""
      SELECT {COLS} FROM unnest($2::text[]) p(q) CROSS JOIN LATERAL (
        (SELECT * FROM {s}.equipment e WHERE e.org_id=$1 ORDER BY lower(e.serial_norm) <-> lower(p.q) LIMIT 30)
        UNION ALL
        (SELECT * FROM {s}.equipment e WHERE e.org_id=$1 ORDER BY lower(e.model_norm) <-> lower(p.q) LIMIT 30)) e"""
    return await _rerank(conn, s, q, sql, (ORG, probes), limit)


async def s5_final(conn, s, q, limit=10):
    """Final: pigeonhole code keys (serial rows, model dictionary) + brand/location
    dictionary + B-tree row fetch + rapidfuzz coverage rerank (search_sql.search)."""
    return [i for i, _ in await search_sql.search(conn, ORG, q, limit, schema=s)]


STRATEGIES = {
    "s1": ("concat text, GIN, % similarity", s1_concat_sim),
    "s2": ("concat text, GIN, %> word_similarity", s2_concat_wordsim),
    "s3": ("per-field GIN % on rows + rerank", s3_field_gin),
    "s4": ("per-field GiST KNN <-> on rows + rerank", s4_field_gist_knn),
    "s5": ("FINAL pigeonhole keys + term dict + rerank", s5_final),
}

# --------------------------------------------------------------------------------------
# load
# --------------------------------------------------------------------------------------


async def table_exists(conn, s):
    return await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{s}.equipment")


async def load(conn, s, rows, noise, with_alt=True, log=print):
    await conn.execute(f"DROP SCHEMA IF EXISTS {s} CASCADE")
    await conn.execute(f"CREATE SCHEMA {s}")
    await conn.execute(BASE_TABLE.format(s=s))
    stats = {}
    t = time.perf_counter()
    # final design's DDL first (generated columns + trigger must exist before COPY)
    final = search_sql.ddl(s)
    idx_stmts = [x for x in final if x.lstrip().upper().startswith("CREATE INDEX")]
    for x in final:
        if x not in idx_stmts:
            await conn.execute(x)
    if with_alt:
        await conn.execute(ALT_DDL[0].format(s=s))
    stats["ddl_s"] = time.perf_counter() - t
    t = time.perf_counter()
    recs = [
        (r.id, r.org_id, r.number, r.manufacturer, r.model, r.serial, r.location)
        for r in rows + noise
    ]
    await conn.copy_records_to_table(
        "equipment",
        schema_name=s,
        records=recs,
        columns=["id", "org_id", "number", "manufacturer", "model", "serial", "location"],
    )
    stats["copy_s"] = time.perf_counter() - t
    log(f"  COPY {len(recs)} rows (with term trigger): {stats['copy_s']:.1f}s")
    idx = list(idx_stmts)
    if with_alt:
        idx += [x.format(s=s) for x in ALT_DDL[1:]]
    await conn.execute("SET maintenance_work_mem = '1GB'")
    for x in idx:
        t = time.perf_counter()
        await conn.execute(x)
        dt = time.perf_counter() - t
        name = x.split("EXISTS")[1].split()[0]
        stats[f"build:{name}"] = dt
        log(f"  {name}: {dt:.1f}s")
    t = time.perf_counter()
    await conn.execute(f"VACUUM ANALYZE {s}.equipment")
    await conn.execute(f"VACUUM ANALYZE {s}.equipment_term")
    await conn.execute(f"VACUUM ANALYZE {s}.equipment_serial_key")
    await conn.execute(f"VACUUM ANALYZE {s}.equipment_term_key")
    stats["vacuum_s"] = time.perf_counter() - t
    return stats


async def migrate(conn, s, with_alt=True, log=print):
    """Bring an already loaded schema to the current DDL (idempotent)."""
    for name in OBSOLETE:
        await conn.execute(f"DROP INDEX IF EXISTS {s}.{name}")
    await conn.execute("SET maintenance_work_mem = '1GB'")
    for x in search_sql.ddl(s) + ([x.format(s=s) for x in ALT_DDL] if with_alt else []):
        t = time.perf_counter()
        await conn.execute(x)
        if time.perf_counter() - t > 1:
            log(f"  migrate: {x.split(chr(10))[0][:70]}: {time.perf_counter() - t:.1f}s")
    if not await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {s}.equipment_term_key)"):
        await conn.execute(search_sql.backfill_term_keys_sql(s))
        await conn.execute(f"VACUUM ANALYZE {s}.equipment_term_key")
    if not await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {s}.equipment_serial_key)"):
        t = time.perf_counter()
        await conn.execute(search_sql.backfill_serial_keys_sql(s))
        log(f"  backfill serial keys: {time.perf_counter() - t:.1f}s")
        await conn.execute(f"VACUUM ANALYZE {s}.equipment_serial_key")
    await conn.execute(f"ANALYZE {s}.equipment_term")


async def sizes(conn, s):
    rows = await conn.fetch(
        """
        SELECT c.relname, pg_relation_size(c.oid) AS bytes, c.relkind
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'i') ORDER BY 2 DESC""",
        s,
    )
    return [(r["relname"], r["bytes"]) for r in rows]


# --------------------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------------------


def relevant_fn(q: gen.Query):
    t = q.target
    if q.family == "serial":
        sn = gen.norm_code(t.serial)
        return lambda r: gen.norm_code(r.serial) == sn
    mn = gen.norm_code(t.model)
    if q.family == "model":
        return lambda r: gen.norm_code(r.model) == mn
    segs = [x.lower() for x in (q.loc_part.split(" ") if q.loc_part else [])]
    if q.loc_part:
        # loc_part is 1 or 2 trailing path segments joined by a space
        tsegs = [x.lower() for x in t.location.split(" / ")]
        want = q.loc_part.lower()
        ok_tail = want in (" ".join(tsegs[-2:]), tsegs[-1])

        def f(r):
            if r.manufacturer != t.manufacturer or gen.norm_code(r.model) != mn:
                return False
            rs = [x.lower() for x in r.location.split(" / ")]
            return want in (" ".join(rs[-2:]), rs[-1]) or (not ok_tail)

        return f
    del segs
    return lambda r: r.manufacturer == t.manufacturer and gen.norm_code(r.model) == mn


def oracle(queries, rows, log=print):
    """Ceiling: for model/serial queries, how many *other* distinct values are strictly
    closer (OSA) to the normalised query than the target's value."""
    serials = list({gen.norm_code(r.serial) for r in rows})
    models = list({gen.norm_code(r.model) for r in rows})
    out = {}
    for fam, vals in (("serial", serials), ("model", models)):
        qs = [q for q in queries if q.family == fam]
        if not qs:
            continue
        qn = [gen.norm_code(q.text) for q in qs]
        tgt = [gen.norm_code(q.target.serial if fam == "serial" else q.target.model) for q in qs]
        closer = []
        for a, tv in zip(qn, tgt):
            d = process.cdist([a], vals, scorer=OSA.distance, workers=2, dtype=np.int32)[0]
            dt = OSA.distance(a, tv)
            closer.append(int((d < dt).sum()))
        out[fam] = {
            "exact_other": sum(1 for a, tv in zip(qn, tgt) if a != tv and a in set(vals)),
            "closer_ge1": sum(1 for c in closer if c >= 1),
            "closer_ge10": sum(1 for c in closer if c >= 10),
            "n": len(qs),
        }
    return out


async def run_strategy(conn, s, fn, queries, warm, by_id, timeout_s):
    for q in warm:
        try:
            await asyncio.wait_for(fn(conn, s, q.text), timeout_s)
        except TimeoutError:
            await conn.execute("SELECT pg_cancel_backend(pg_backend_pid())") if False else None
    res = defaultdict(
        lambda: {
            "lat": [],
            "hit10": 0,
            "hit1": 0,
            "n": 0,
            "k1": [0, 0],
            "k2": [0, 0],
            "timeouts": 0,
            "leak": 0,
        }
    )
    misses = defaultdict(list)
    for q in queries:
        rel = relevant_fn(q)
        t = time.perf_counter()
        try:
            ids = await fn(conn, s, q.text)
        except (TimeoutError, asyncpg.QueryCanceledError):
            ids = []
            res[q.family]["timeouts"] += 1
        dt = (time.perf_counter() - t) * 1000
        d = res[q.family]
        d["lat"].append(dt)
        d["n"] += 1
        rows = [by_id.get(i) for i in ids]
        d["leak"] += sum(1 for r in rows if r is None)
        hit = any(r is not None and rel(r) for r in rows[:10])
        d["hit10"] += hit
        d["hit1"] += bool(rows and rows[0] is not None and rel(rows[0]))
        kk = d["k1"] if q.k == 1 else d["k2"]
        kk[0] += hit
        kk[1] += 1
        if not hit:
            misses[q.family].append(q)
    return res, misses


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def insert_test(conn, n_pre: int, n_ins: int, log=print):
    """Rough write-path cost: same pre-loaded table with and without the search machinery."""
    g = gen.Generator(99)
    pre = list(g.rows(n_pre, ORG))
    ins = list(g.rows(n_ins * 3, ORG, start_seq=n_pre))
    out = {}
    for variant in ("plain", "final"):
        s = f"ins_{variant}"
        await conn.execute(f"DROP SCHEMA IF EXISTS {s} CASCADE")
        await conn.execute(f"CREATE SCHEMA {s}")
        await conn.execute(BASE_TABLE.format(s=s))
        await conn.execute(f"CREATE INDEX ON {s}.equipment (org_id, number)")
        if variant == "final":
            for x in search_sql.ddl(s):
                await conn.execute(x)
        recs = [
            (r.id, r.org_id, r.number, r.manufacturer, r.model, r.serial, r.location) for r in pre
        ]
        await conn.copy_records_to_table(
            "equipment",
            schema_name=s,
            records=recs,
            columns=["id", "org_id", "number", "manufacturer", "model", "serial", "location"],
        )
        await conn.execute(f"VACUUM ANALYZE {s}.equipment")
        chunks = [ins[i * n_ins : (i + 1) * n_ins] for i in range(3)]
        # a) single-row INSERTs, autocommit (the service's typical write)
        sql = (
            f"INSERT INTO {s}.equipment (id, org_id, number, manufacturer, model, serial, location)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7)"
        )
        t = time.perf_counter()
        for r in chunks[0]:
            await conn.execute(
                sql, r.id, r.org_id, r.number, r.manufacturer, r.model, r.serial, r.location
            )
        single = n_ins / (time.perf_counter() - t)
        # b) executemany batches of 500 in a transaction
        t = time.perf_counter()
        for i in range(0, n_ins, 500):
            async with conn.transaction():
                await conn.executemany(
                    sql,
                    [
                        (r.id, r.org_id, r.number, r.manufacturer, r.model, r.serial, r.location)
                        for r in chunks[1][i : i + 500]
                    ],
                )
        batch = n_ins / (time.perf_counter() - t)
        # c) COPY
        t = time.perf_counter()
        await conn.copy_records_to_table(
            "equipment",
            schema_name=s,
            records=[
                (r.id, r.org_id, r.number, r.manufacturer, r.model, r.serial, r.location)
                for r in chunks[2]
            ],
            columns=["id", "org_id", "number", "manufacturer", "model", "serial", "location"],
        )
        copy = n_ins / (time.perf_counter() - t)
        out[variant] = {
            "single_rows_s": round(single),
            "batch500_rows_s": round(batch),
            "copy_rows_s": round(copy),
        }
        log(f"  insert {variant}: {out[variant]}")
        await conn.execute(f"DROP SCHEMA {s} CASCADE")
    return out


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/rivet_search_lab")
    ap.add_argument("--schema", default=None)
    ap.add_argument("--queries", type=int, default=300, help="per family")
    ap.add_argument("--warm", type=int, default=60, help="warm-up queries (all families)")
    ap.add_argument("--strategies", default="s1,s2,s3,s4,s5")
    ap.add_argument(
        "--slow-queries",
        type=int,
        default=60,
        help="per family for s1-s4 (they take up to seconds per query at 1M)",
    )
    ap.add_argument("--reload", action="store_true")
    ap.add_argument("--no-alt", action="store_true", help="load only the final design's indexes")
    ap.add_argument("--oracle", action="store_true")
    ap.add_argument("--insert-test", type=int, default=0, metavar="N_PRELOADED")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", default=None, help="write results here")
    ap.add_argument("--show-misses", type=int, default=0)
    a = ap.parse_args()
    s = a.schema or (
        f"lab_{a.rows // 1000}k" if a.rows < 1_000_000 else f"lab_{a.rows // 1_000_000}m"
    )
    conn = await asyncpg.connect(a.dsn)
    await conn.execute("SET jit = off")
    result = {"rows": a.rows, "schema": s}
    t = time.perf_counter()
    g = gen.Generator(a.seed)
    rows = list(g.rows(a.rows, ORG))
    noise = list(g.rows(NOISE_ROWS, NOISE_ORG, start_seq=a.rows))
    print(f"generated {a.rows}+{NOISE_ROWS} rows in {time.perf_counter() - t:.1f}s")
    if a.reload or not await table_exists(conn, s):
        result["load"] = await load(conn, s, rows, noise, with_alt=not a.no_alt)
    else:
        await migrate(conn, s, with_alt=not a.no_alt)
    result["sizes"] = await sizes(conn, s)
    for name, b in result["sizes"]:
        print(f"  size {name:32s} {b / 2**20:8.1f} MiB")
    by_id = {r.id: r for r in rows}  # noise-org ids are deliberately absent: a leak shows
    qrng = random.Random(a.seed + 1000)
    queries = gen.make_queries(qrng, rows, a.queries)
    warm = gen.make_queries(random.Random(a.seed + 2000), rows, max(1, a.warm // 3))
    if a.oracle:
        t = time.perf_counter()
        result["oracle"] = oracle(queries, rows)
        print(f"oracle ({time.perf_counter() - t:.0f}s): {json.dumps(result['oracle'])}")
    result["strategies"] = {}
    print(
        f"\n{'strategy':52s} {'family':7s} {'n':>4s} {'p50ms':>7s} {'p99ms':>8s} "
        f"{'rec@10':>7s} {'k=1':>6s} {'k=2':>6s} {'hit@1':>6s} {'t/o':>4s}"
    )
    for key in a.strategies.split(","):
        label, fn = STRATEGIES[key]
        await conn.execute(f"SET statement_timeout = {int(a.timeout * 1000)}")
        qs = queries
        if key in ("s1", "s2", "s3", "s4"):
            per = defaultdict(list)
            for q in queries:
                if len(per[q.family]) < a.slow_queries:
                    per[q.family].append(q)
            qs = [q for v in per.values() for q in v]
        res, misses = await run_strategy(
            conn, s, fn, qs, warm[:6] if key in ("s1", "s2", "s3", "s4") else warm, by_id, a.timeout
        )
        result["strategies"][key] = {}
        for fam in ("full", "model", "serial"):
            d = res[fam]
            if not d["n"]:
                continue
            row = {
                "n": d["n"],
                "p50": round(statistics.median(d["lat"]), 2),
                "p99": round(pct(d["lat"], 99), 2),
                "max": round(max(d["lat"]), 2),
                "recall10": round(d["hit10"] / d["n"], 4),
                "hit1": round(d["hit1"] / d["n"], 4),
                "recall10_k1": round(d["k1"][0] / max(1, d["k1"][1]), 4),
                "recall10_k2": round(d["k2"][0] / max(1, d["k2"][1]), 4),
                "timeouts": d["timeouts"],
                "leaks": d["leak"],
            }
            result["strategies"][key][fam] = row
            print(
                f"{key + ' ' + label:52.52s} {fam:7s} {row['n']:4d} {row['p50']:7.1f} {row['p99']:8.1f} "
                f"{row['recall10']:7.3f} {row['recall10_k1']:6.3f} {row['recall10_k2']:6.3f} "
                f"{row['hit1']:6.3f} {row['timeouts']:4d}"
                + (f" LEAKS={row['leaks']}" if row["leaks"] else "")
            )
        if a.show_misses:
            for fam, ms in misses.items():
                for q in ms[: a.show_misses]:
                    t_ = q.target
                    print(
                        f"    MISS {key} {fam} k={q.k} {q.text!r} <- {t_.manufacturer} | {t_.model} | "
                        f"{t_.serial} | {t_.location}"
                    )
    if a.insert_test:
        result["insert"] = await insert_test(conn, a.insert_test, 5000)
    await conn.close()
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    asyncio.run(main())
