"""The bare baseline's typo-tolerant equipment search: its own copy of the algorithm and SQL.

The baseline must do the same work as the assets service for ``GET /api/equipment/search/
fuzzy`` - the same statements against the same tables, the same ranking in Python - so that
the benchmark prices only what it leaves out (gateway hop, NATS, service runtime, SQLAlchemy).
This file is that work written out for the baseline: probes and pigeonhole keys of the query,
the dictionary, serial, number and model-row lookups, then coverage ranking with rapidfuzz
(design: docs/search.md). It imports nothing of the service; the benchmark compares the first
answers of both sides field by field before measuring, so a drift between this copy and the
service shows up as a warning (``same_answers``).

Unqualified table names resolve through the connection's ``search_path = assets, public``
(``levenshtein_less_equal`` is fuzzystrmatch's, in ``public``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any
from uuid import UUID

import asyncpg
import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from rivet_contracts import brands as catalogue

MIN_SCORE = 20.0
"""Hits explaining less of the query than this (percent of its characters) are dropped."""

# --- normal forms and pigeonhole keys -------------------------------------------------------

MIN_SEG_LEN = 6
TAU = 2
_WORD_SPLIT = re.compile(r"[\s/,;|]+")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]+")


def norm(value: str | None) -> str:
    return _NOT_ALNUM.sub("", (value or "").upper())


def split_words(query: str) -> list[str]:
    return [w for w in (norm(x) for x in _WORD_SPLIT.split(query)) if w]


def runs(words: Sequence[str], longest: int = 3) -> list[tuple[int, int, str]]:
    out = []
    for i in range(len(words)):
        for j in range(i + 1, min(len(words), i + longest) + 1):
            out.append((i, j, "".join(words[i:j])))
    return out


def _deletes2(text: str) -> set[str]:
    one = {text[:i] + text[i + 1 :] for i in range(len(text))}
    return {text} | one | {x[:i] + x[i + 1 :] for x in one for i in range(len(x))}


@lru_cache(maxsize=8192)
def query_keys(probe: str, tau: int = TAU) -> frozenset[str]:
    n = len(probe)
    keys: set[str] = set()
    if n < MIN_SEG_LEN + tau:
        keys.update(f"d.{x}" for x in _deletes2(probe) if x)
    for length in range(max(1, n - tau), n + tau + 1):
        if length < MIN_SEG_LEN:
            continue
        d = n - length
        a = length // 3
        starts = (0, a, 2 * a)
        lens = (a, a, length - 2 * a)
        for shift in range(max(-tau, d - tau), min(tau, d + tau) + 1):
            variants: list[tuple[str, tuple[int, ...]]] = [(probe, (0, 1, 2))]
            for boundary, pair in ((a, (0, 1)), (2 * a, (1, 2))):
                x = boundary + shift
                if 1 <= x < n:
                    swapped = probe[: x - 1] + probe[x] + probe[x - 1] + probe[x + 1 :]
                    variants.append((swapped, pair))
            for text, segs in variants:
                for i in segs:
                    pos = starts[i] + shift
                    if pos >= 0 and pos + lens[i] <= n:
                        keys.add(f"{length}.{i}.{text[pos : pos + lens[i]]}")
    return frozenset(keys)


def edit_budget(lengths: Any) -> Any:
    n = np.asarray(lengths)
    return np.where(n <= 2, 0, np.where(n <= 4, 1, np.where(n <= 9, 2, 3)))


def is_code(text: str) -> bool:
    return len(text) >= 3 and any(c.isdigit() for c in text)


# --- brands (the shared catalogue) ------------------------------------------------------------


@cache
def brand_aliases(manufacturer: str) -> tuple[str, ...]:
    out = dict.fromkeys([norm(manufacturer)])
    for alias in catalogue.BRANDS.get(manufacturer, ()):
        out[norm(alias)] = None
    return tuple(x for x in out if x)


@cache
def brand_words(manufacturer: str) -> tuple[str, ...]:
    out: dict[str, None] = {}
    for name in (manufacturer, *catalogue.BRANDS.get(manufacturer, ())):
        for w in catalogue.normalize(name).split():
            if len(w) > 1:
                out[w] = None
    return tuple(out)


def canonical_keys(text: str) -> list[str]:
    name = catalogue.canonical(text)
    return [catalogue.normalize(name).lower()] if name else []


# --- planning -----------------------------------------------------------------------------

MAX_MODELS = 12
MAX_CODE_LEN = 24
MAX_CODE_PROBES = 10
MAX_SERIAL_PROBES = 3
LOCATION_MIN_SIMILARITY = 0.75
BRAND_BONUS = 0.05
_NUMBER = re.compile(r"^(?:EQ)?(\d{4})(\d{6})$")


@dataclass
class Plan:
    words: list[str]
    runs: list[tuple[int, int, str]]
    compact: str
    code_probes: list[str]
    serial_probes: list[str]
    numbers: list[str]
    code_keys: list[str] = field(default_factory=list)
    serial_keys: list[str] = field(default_factory=list)


def plan(query: str) -> Plan | None:
    words = split_words(query)
    if not words:
        return None
    segs = runs(words)
    compact = "".join(words)
    chunks = [c for c in (norm(x) for x in query.split()) if c]
    by_length = [x for n in (1, 2, 3, 4) for i, j, x in runs(words, 4) if j - i == n]
    code_probes = list(
        dict.fromkeys(
            x for x in [compact, *chunks, *by_length] if is_code(x) and len(x) <= MAX_CODE_LEN
        )
    )[:MAX_CODE_PROBES]
    serial_probes = [x for x in code_probes if x == compact or (len(x) >= 5 and x in words)]
    serial_probes = serial_probes[:MAX_SERIAL_PROBES]
    numbers = []
    for text in dict.fromkeys([*(s for _, _, s in segs), compact]):
        if m := _NUMBER.match(text):
            numbers.append(f"EQ-{m.group(1)}-{m.group(2)}")
    p = Plan(words, segs, compact, code_probes, serial_probes, numbers)
    p.code_keys = sorted(set().union(*(query_keys(x) for x in code_probes)))
    p.serial_keys = sorted(set().union(*(query_keys(x) for x in serial_probes)))
    return p


@dataclass
class Choice:
    models: list[tuple[str, str]]
    locations: list[str]
    brands: set[str]


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def choose(p: Plan, terms: Sequence[Mapping[Any, Any]]) -> Choice:
    seg_text = list(dict.fromkeys(s for _, _, s in p.runs if len(s) >= 2))
    brand_keys: set[str] = set()
    for s in seg_text:
        brand_keys.update(canonical_keys(s))
    if not terms:
        return Choice([], [], brand_keys)
    probes = seg_text + ([p.compact] if p.compact not in seg_text else [])
    names: list[str] = []
    owner: list[int] = []
    for ti, t in enumerate(terms):
        forms = brand_aliases(t["display"]) if t["kind"] == "b" else (t["norm"],)
        for form in forms or (t["norm"],):
            names.append(form)
            owner.append(ti)
    dist = process.cdist(probes, names, scorer=OSA.distance, workers=1, dtype=np.int32)
    plen = np.array([len(x) for x in probes])[:, None]
    nlen = np.array([len(x) for x in names])[None, :]
    budget = edit_budget(np.minimum(plen, nlen))
    sim_names = np.where(dist <= budget, 1.0 - dist / np.maximum(plen, nlen), 0.0)
    own = np.array(owner)
    sim_terms = np.zeros((len(probes), len(terms)))
    np.maximum.at(sim_terms.T, own, sim_names.T)
    kinds = np.array([t["kind"] for t in terms])
    keep_loc = np.zeros(len(terms), dtype=bool)
    loc_start: dict[int, int] = {}
    is_loc = kinds == "l"
    if is_loc.any():
        lsim = np.where(is_loc[None, :], sim_terms, 0.0)
        best_sim = lsim.max(axis=1)
        explained = np.round(best_sim * np.array([len(x) for x in probes]), 6)
        span = {x: (i, j) for i, j, x in reversed(p.runs)}
        used: set[int] = set()
        for pi in sorted(range(len(probes)), key=lambda k: (-explained[k], -best_sim[k])):
            ij = span.get(probes[pi])
            if ij is None:
                continue
            row = lsim[pi]
            b = row.max()
            if b < LOCATION_MIN_SIMILARITY or used.intersection(range(*ij)):
                continue
            best_cols = np.nonzero(row >= b - 1e-9)[0]
            if len(best_cols) > 2:
                continue
            keep_loc[best_cols] = True
            for col in best_cols:
                loc_start.setdefault(int(col), ij[0])
            used.update(range(*ij))
    sim = sim_terms.max(axis=0)
    models: dict[tuple[str, str], float] = {}
    locations: dict[str, int] = {}
    for ti, t in enumerate(terms):
        if sim[ti] <= 0:
            continue
        kind = t["kind"]
        if kind == "m":
            key = (t["norm"], t["brand"])
            models[key] = max(models.get(key, 0.0), float(sim[ti]))
        elif kind == "b":
            brand_keys.add(t["brand"])
        elif kind == "l" and keep_loc[ti]:
            locations[t["display"]] = loc_start[ti]
    ranked = sorted(
        models.items(),
        key=lambda kv: (-(kv[1] + (BRAND_BONUS if kv[0][1] in brand_keys else 0.0)), kv[0][0]),
    )
    return Choice(
        [k for k, _ in ranked[:MAX_MODELS]],
        sorted(locations, key=locations.__getitem__),
        brand_keys,
    )


def location_patterns(locations: Sequence[str]) -> tuple[list[str], list[str]]:
    any_of = [f"%{_like(d)}%" for d in locations]
    all_of = ["%" + "%".join(_like(d) for d in locations) + "%"] if len(locations) > 1 else []
    return any_of, all_of


# --- SQL ----------------------------------------------------------------------------------

SERIAL_K = 60
ROWS_PER_MODEL_LOC = 10
ROWS_PER_MODEL = 4
FEW_MODELS = 8
MAX_DICT = 5000
MAX_EDITS_SQL = 4
COLUMNS = (
    "e.id, e.number, e.manufacturer, e.manufacturer_key, e.model, e.model_norm, e.serial,"
    " e.serial_norm, e.location, e.name"
)
_LEV = "(SELECT min(levenshtein_less_equal({col}, p, {m})) FROM unnest($3::text[]) AS p)"
TERMS = f"""
    SELECT t.kind, t.norm, t.brand, t.display FROM equipment_term t
     WHERE t.org_id = $1 AND t.kind = 'm' AND t.norm IN (
        SELECT x.norm FROM (SELECT DISTINCT tk.norm FROM equipment_term_key tk
                             WHERE tk.org_id = $1 AND tk.k = ANY($2::text[])) x
         WHERE {_LEV.format(col="x.norm", m=MAX_EDITS_SQL)} <= {MAX_EDITS_SQL})
    UNION ALL
    (SELECT kind, norm, brand, display FROM equipment_term
      WHERE org_id = $1 AND kind IN ('b', 'l') LIMIT {MAX_DICT})
"""  # noqa: S608


def _serials_sql(probes: int) -> str:
    lev = [
        f"levenshtein_less_equal(x.serial_norm, ${3 + i}, {MAX_EDITS_SQL})" for i in range(probes)
    ]
    miss = ", ".join(f"{x} - length(${3 + i})" for i, x in enumerate(lev))
    return f"""
    SELECT {COLUMNS} FROM (
        SELECT c.id, c.miss, min(c.miss) OVER () AS best FROM (
            SELECT x.id, least({miss}) AS miss
              FROM (SELECT DISTINCT k.id, k.serial_norm FROM equipment_serial_key k
                     WHERE k.org_id = $1 AND k.k = ANY($2::text[])) x
             WHERE least({", ".join(lev)}) <= {MAX_EDITS_SQL}
             ORDER BY 2 LIMIT {SERIAL_K}) c) c
    JOIN equipment e ON e.id = c.id AND e.org_id = $1
    WHERE c.miss <= c.best + 2
    """  # noqa: S608


SERIALS = {n: _serials_sql(n) for n in range(1, 4)}
MODEL_ROWS = f"""
    SELECT {COLUMNS} FROM (
        SELECT DISTINCT r.id
        FROM unnest($2::text[], $3::text[]) AS m(model_norm, brand)
        CROSS JOIN LATERAL (
            (SELECT e.id FROM equipment e
              WHERE e.org_id = $1 AND e.manufacturer_key = m.brand
                AND e.model_norm = m.model_norm AND e.location ILIKE ANY($5::text[])
              LIMIT $6)
            UNION ALL
            (SELECT e.id FROM equipment e
              WHERE e.org_id = $1 AND e.manufacturer_key = m.brand
                AND e.model_norm = m.model_norm AND e.location ILIKE ANY($4::text[])
              LIMIT $6)
            UNION ALL
            (SELECT e.id FROM equipment e
              WHERE e.org_id = $1 AND e.manufacturer_key = m.brand
                AND e.model_norm = m.model_norm
              LIMIT $7)
        ) r
    ) c
    JOIN equipment e ON e.id = c.id AND e.org_id = $1
"""  # noqa: S608
NUMBERS = f"SELECT {COLUMNS} FROM equipment e WHERE e.org_id = $1 AND e.number = ANY($2::text[])"  # noqa: S608


# --- ranking ------------------------------------------------------------------------------

SIBLING_PENALTY = 0.5
MAX_RUN = 6
_FIELD_ORDER = ("serial", "number", "model", "manufacturer", "location", "name")


@dataclass(frozen=True)
class Ranked:
    id: UUID
    score: float
    matched_on: str


@lru_cache(maxsize=4096)
def _brand_model_tokens(manufacturer: str, model: str, model_norm: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    brand = norm(manufacturer)
    if brand:
        out += [(a, "manufacturer") for a in brand_aliases(manufacturer)]
        out += [(w, "manufacturer") for w in brand_words(manufacturer) if w != brand]
    if model_norm:
        out.append((model_norm, "model"))
        parts = split_words(model.replace("-", " ").replace(".", " "))
        out += [(w, "model") for w in parts if len(w) > 1 and w != model_norm]
        if brand:
            out.append((brand + model_norm, "model"))
    return out


@lru_cache(maxsize=4096)
def _text_tokens(value: str, field: str, segments: bool) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for segment in value.split("/") if segments else [value]:
        if whole := norm(segment):
            out.append((whole, field))
            out += [(w, field) for w in split_words(segment) if len(w) > 1 and w != whole]
    return out


def _tokens(row: Mapping[Any, Any]) -> list[tuple[str, str]]:
    out = list(
        _brand_model_tokens(row["manufacturer"] or "", row["model"] or "", row["model_norm"] or "")
    )
    if row["serial_norm"]:
        out.append((row["serial_norm"], "serial"))
    number = norm(row["number"])
    if number:
        out += [(number, "number"), (number[2:], "number"), (number[-6:], "number")]
    if row["location"]:
        out += _text_tokens(row["location"], "location", True)
    if row["name"]:
        out += _text_tokens(row["name"], "name", False)
    return out


def rank(query: str, rows: Sequence[Mapping[Any, Any]], limit: int) -> list[Ranked]:
    words = split_words(query)
    if not rows or not words:
        return []
    longest = min(len(words), MAX_RUN)
    segs = runs(words, longest)
    seg_text = [s for _, _, s in segs]
    seg_index = {(i, j): k for k, (i, j, _) in enumerate(segs)}
    total = sum(len(w) for w in words)
    row_tokens = [_tokens(r) for r in rows]
    vocab: dict[str, int] = {}
    for toks in row_tokens:
        for tok, _ in toks:
            vocab.setdefault(tok, len(vocab))
    if not vocab:
        return []
    vlist = list(vocab)
    dist = process.cdist(seg_text, vlist, scorer=OSA.distance, workers=1, dtype=np.int32)
    seg_len = np.array([len(s) for s in seg_text], dtype=np.float64)[:, None]
    tok_len = np.array([len(t) for t in vlist], dtype=np.float64)[None, :]
    budget = edit_budget(seg_len)
    gain = np.where(dist <= budget, seg_len * (1.0 - dist / np.maximum(seg_len, tok_len)), 0.0)
    n = len(words)
    scored: list[tuple[float, int, str]] = []
    for ri, toks in enumerate(row_tokens):
        cols = np.fromiter((vocab[t] for t, _ in toks), dtype=np.int64, count=len(toks))
        if not len(cols):
            scored.append((0.0, ri, "number"))
            continue
        sub = gain[:, cols]
        best_col = sub.argmax(axis=1)
        g = sub[np.arange(len(segs)), best_col]
        best = [0.0] * (n + 1)
        back: list[tuple[int, int]] = [(-1, -1)] * (n + 1)
        for j in range(1, n + 1):
            best[j], back[j] = best[j - 1], (j - 1, -1)
            for i in range(max(0, j - longest), j):
                k = seg_index[(i, j)]
                v = best[i] + g[k]
                if v > best[j]:
                    best[j], back[j] = v, (i, k)
        by_field: dict[str, float] = {}
        j = n
        while j > 0:
            i, k = back[j]
            if k >= 0 and g[k] > 0:
                name = toks[int(best_col[k])][1]
                by_field[name] = by_field.get(name, 0.0) + float(g[k])
            j = i
        matched = max(_FIELD_ORDER, key=lambda f: by_field.get(f, 0.0)) if by_field else "number"
        scored.append((best[n] / total * 100.0, ri, matched))
    scored.sort(key=lambda x: (-x[0], rows[x[1]]["number"]))
    seen: dict[tuple[str, str], int] = {}
    final = []
    for score, ri, matched in scored:
        row = rows[ri]
        group = (row["manufacturer_key"] or "", row["model_norm"] or "")
        earlier = seen.get(group, 0)
        seen[group] = earlier + 1
        final.append((score - SIBLING_PENALTY * earlier, score, ri, matched))
    final.sort(key=lambda x: (-x[0], rows[x[2]]["number"]))
    return [
        Ranked(rows[ri]["id"], round(min(score, 100.0), 1), matched)
        for _, score, ri, matched in final[:limit]
    ]


# --- the search -----------------------------------------------------------------------------


async def find(conn: asyncpg.Connection, org_id: UUID, query: str, limit: int) -> list[Ranked]:
    """Ranked ids of the organization's assets for ``query``, best first."""
    p = plan(query)
    if p is None:
        return []
    cands: dict[UUID, Any] = {}
    terms = list(await conn.fetch(TERMS, org_id, p.code_keys, p.code_probes))
    if p.serial_keys:
        serial_sql = SERIALS[len(p.serial_probes)]
        for r in await conn.fetch(serial_sql, org_id, p.serial_keys, *p.serial_probes):
            cands[r["id"]] = r
    if p.numbers:
        for r in await conn.fetch(NUMBERS, org_id, p.numbers):
            cands[r["id"]] = r
    choice = choose(p, terms)
    if choice.models:
        any_of, all_of = location_patterns(choice.locations)
        few = len(choice.models) <= FEW_MODELS
        rows = await conn.fetch(
            MODEL_ROWS, org_id, [m for m, _ in choice.models], [b for _, b in choice.models],
            any_of, all_of, ROWS_PER_MODEL_LOC if few else 6, ROWS_PER_MODEL if few else 3,
        )  # fmt: skip
        for r in rows:
            cands.setdefault(r["id"], r)
    ranked = rank(query, list(cands.values()), limit)
    return [r for r in ranked if r.score >= MIN_SCORE]
