# ruff: noqa
# Archived prototype, superseded by services/assets/src/rivet_assets/search (see ../README.md).
"""Typo-tolerant equipment search for the assets service (PostgreSQL + pg_trgm + rapidfuzz).

Design (see bench/search/README.md for the measurements behind every choice):

* Normalised code columns on ``equipment`` (generated, stored):
  ``serial_norm`` / ``model_norm`` = upper-case, everything but [0-9A-Z] stripped, so
  "6ES7 214-1AG40-0XB0", "6es72141ag400xb0" and "6ES7-214-1AG40-0XB0" are one key.
* Codes are found by *pigeonhole keys*, not trigrams: a stored code of length L >= 6 is
  cut into 3 segments and indexed under "L.i.segment"; a code within 2 edits of the query
  keeps at least one segment intact, at a position the edit budget bounds, so the query
  side enumerates ~100-150 keys (PassJoin-style windows, plus swapped-boundary variants for
  transpositions) and looks them up exactly in a B-tree.  Codes < 6 chars use a delete-2
  neighbourhood (SymSpell) instead.  Candidates are verified in SQL with
  fuzzystrmatch's levenshtein_less_equal on an index-only scan.
    - serials (~unique per row): key table ``equipment_serial_key`` (3 rows per asset),
      covering B-tree (org_id, k) INCLUDE (serial_norm, id).
    - models (tens of thousands of distinct values per million rows): the per-org term
      dictionary ``equipment_term`` (+ keys in ``equipment_term_key``); rows of the chosen
      models come from a B-tree on (org_id, model_norm, location), rows in the locations
      the query names first.
  Both are maintained by statement-level triggers with transition tables (COPY included).
* Brands and location segments (a few hundred per org) come from the same dictionary and
  are matched in Python; brand aliases from BRAND_ALIASES.
* Every query word and every run of up to three adjacent words, glued ("6es7 214-1ag40",
  "siemensg120c"), is a probe.  Candidates (<= ~150 rows) are re-ranked in Python with
  rapidfuzz: a "coverage" score = how much of the query (in characters) is explained by
  some token of the row (brand/alias, model, serial, number, location segment), OSA
  (Damerau) similarity per token with length-dependent edit budgets, best segmentation of
  the query by dynamic programming; small diversity penalty for repeated (brand, model).

Public API:
    ddl(schema) -> list[str]                  columns, function, indexes, term table, triggers
    backfill_terms_sql / backfill_term_keys_sql / backfill_serial_keys_sql(schema) -> str
                                              fill dictionary/key tables for existing rows
    purge_terms_sql(schema) -> str            drop dictionary terms no row uses any more
    async search(conn, org_id, query, limit=10, schema="assets") -> list[(id, score)]
    search_norm(s) / split_words(s) / query_segments(words)  normalisation helpers
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

# --------------------------------------------------------------------------------------
# Normalisation (must match the SQL function search_norm)
# --------------------------------------------------------------------------------------

_NON_ALNUM = re.compile(r"[^0-9A-Za-z]+")
_WORD_SPLIT = re.compile(r"[\s/,;|]+")


def search_norm(s: str) -> str:
    """Upper-case, drop everything except ASCII letters and digits."""
    return _NON_ALNUM.sub("", s).upper()


def split_words(q: str) -> list[str]:
    """Query words: split on whitespace and path/list separators (dashes and dots stay
    inside a word, they are part of codes)."""
    return [w for w in (search_norm(x) for x in _WORD_SPLIT.split(q)) if w]


def query_segments(words: Sequence[str], max_n: int = 3) -> list[tuple[int, int, str]]:
    """All runs of 1..max_n adjacent words, glued: (start, end_exclusive, text)."""
    out = []
    for i in range(len(words)):
        for j in range(i + 1, min(len(words), i + max_n) + 1):
            out.append((i, j, "".join(words[i:j])))
    return out


# Brand aliases people type.  The assets service stores the canonical brand; this map is
# its canonicalisation catalogue (extend it there).  Keys: canonical brand.
BRAND_ALIASES: dict[str, list[str]] = {
    "Siemens": ["Siemens AG", "SIE"],
    "ABB": ["Asea Brown Boveri"],
    "WEG": ["WEG Motors"],
    "Baldor": ["Baldor-Reliance", "Reliance"],
    "Allen-Bradley": ["AB", "Rockwell", "Rockwell Automation"],
    "Rockwell Automation": ["RA", "Rockwell", "Allen-Bradley"],
    "Schneider Electric": ["Schneider", "Telemecanique", "Square D"],
    "Danfoss": ["Danfoss Drives", "VLT"],
    "SEW-Eurodrive": ["SEW", "SEW Eurodrive"],
    "Grundfos": ["Grundfos Pumps"],
    "Emerson": ["Emerson Process", "Rosemount"],
    "Yaskawa": ["Yaskawa Electric"],
    "Mitsubishi Electric": ["Mitsubishi", "MELSEC"],
    "Eaton": ["Cutler-Hammer", "Moeller"],
    "Lenze": ["Lenze Drives"],
    "Nord": ["NORD Drivesystems", "Getriebebau Nord"],
    "Sulzer": ["Sulzer Pumps"],
    "KSB": ["KSB Pumps"],
    "Flowserve": ["Flowserve Pumps", "Durco"],
    "Atlas Copco": ["AtlasCopco", "Atlas"],
    "Ingersoll Rand": ["Ingersoll-Rand", "IR"],
    "Kaeser": ["Kaeser Kompressoren"],
    "SMC": ["SMC Pneumatics"],
    "Parker": ["Parker Hannifin"],
    "Bosch Rexroth": ["Rexroth", "Bosch"],
    "Endress+Hauser": ["Endress Hauser", "E+H", "EH"],
    "Phoenix Contact": ["Phoenix"],
    "Weidmuller": ["Weidmüller"],
    "Vacon": ["Danfoss Vacon"],
    "Regal Rexnord": ["Rexnord", "Falk"],
    "Alfa Laval": ["AlfaLaval"],
}


# --------------------------------------------------------------------------------------
# DDL
# --------------------------------------------------------------------------------------


def ddl(schema: str = "assets", table: str = "equipment") -> list[str]:
    """Statements that add the search machinery to an existing ``{schema}.{table}`` with
    columns id uuid, org_id uuid, number, manufacturer, model, serial, location (text).
    Idempotent.  Run CREATE INDEX CONCURRENTLY variants by hand on a live big table."""
    s, t = schema, table
    return [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE EXTENSION IF NOT EXISTS btree_gist",
        "CREATE EXTENSION IF NOT EXISTS fuzzystrmatch",
        f"""CREATE OR REPLACE FUNCTION {s}.search_norm(t text) RETURNS text
            LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
            RETURN upper(regexp_replace(t, '[^0-9A-Za-z]+', '', 'g'))""",
        # pigeonhole keys: "<len>.<segment>.<text>" for the 3 segments of a code (>= 6 chars;
        # one segment survives any 2 edits), delete-1 neighbourhood "d.<text>" for short codes
        f"""CREATE OR REPLACE FUNCTION {s}.search_code_keys(t text) RETURNS text[]
            LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
            RETURN CASE WHEN length(t) < {MIN_SEG_LEN} THEN ARRAY(
                SELECT DISTINCT 'd.' || x FROM (
                  SELECT t AS x
                  UNION ALL
                  SELECT overlay(t PLACING '' FROM i FOR 1) FROM generate_series(1, length(t)) i
                  UNION ALL
                  SELECT overlay(overlay(t PLACING '' FROM j FOR 1) PLACING '' FROM i FOR 1)
                    FROM generate_series(1, length(t)) i, generate_series(i + 1, length(t)) j) d
                WHERE x <> '')
              ELSE ARRAY[
              length(t) || '.0.' || substr(t, 1, length(t) / 3),
              length(t) || '.1.' || substr(t, length(t) / 3 + 1, length(t) / 3),
              length(t) || '.2.' || substr(t, 2 * (length(t) / 3) + 1)] END""",
        f"""ALTER TABLE {s}.{t}
            ADD COLUMN IF NOT EXISTS serial_norm text
                GENERATED ALWAYS AS ({s}.search_norm(coalesce(serial, ''))) STORED,
            ADD COLUMN IF NOT EXISTS model_norm text
                GENERATED ALWAYS AS ({s}.search_norm(coalesce(model, ''))) STORED""",
        # serial: pigeonhole keys (see search_code_keys) in a covering B-tree, so the
        # candidates of a query are verified with an index-only scan + levenshtein
        f"""CREATE TABLE IF NOT EXISTS {s}.{t}_serial_key (
              org_id      uuid NOT NULL,
              k           text NOT NULL,
              serial_norm text NOT NULL,
              id          uuid NOT NULL)""",
        f"""CREATE INDEX IF NOT EXISTS {t}_serial_key_k
            ON {s}.{t}_serial_key (org_id, k) INCLUDE (serial_norm, id)""",
        # model rows, preferring named locations (index-only scan on the filter)
        f"""CREATE INDEX IF NOT EXISTS {t}_model_loc
            ON {s}.{t} (org_id, model_norm, location) INCLUDE (manufacturer)""",
        f"CREATE INDEX IF NOT EXISTS {t}_number ON {s}.{t} (org_id, number)",
        # term dictionary
        f"""CREATE TABLE IF NOT EXISTS {s}.{t}_term (
              org_id  uuid NOT NULL,
              kind    text NOT NULL,          -- m model, b brand, l location segment
              norm    text NOT NULL,          -- search_norm(display)
              brand   text NOT NULL DEFAULT '',  -- for kind m: the manufacturer
              display text NOT NULL,
              PRIMARY KEY (org_id, kind, norm, brand))""",
        f"""CREATE TABLE IF NOT EXISTS {s}.{t}_term_key (
              org_id uuid NOT NULL,
              k      text NOT NULL,
              norm   text NOT NULL,
              PRIMARY KEY (org_id, k, norm))""",
        f"""CREATE OR REPLACE FUNCTION {s}.{t}_term_sync() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
              INSERT INTO {s}.{t}_term (org_id, kind, norm, brand, display)
              SELECT DISTINCT ON (org_id, kind, norm, brand) org_id, kind, norm, brand, display
              FROM (
                SELECT org_id, 'm' AS kind, model_norm AS norm,
                       coalesce(manufacturer, '') AS brand, model AS display
                  FROM new_rows WHERE model_norm <> ''
                UNION ALL
                SELECT org_id, 'b', {s}.search_norm(manufacturer), '', manufacturer
                  FROM new_rows WHERE {s}.search_norm(coalesce(manufacturer, '')) <> ''
                UNION ALL
                SELECT n.org_id, 'l', {s}.search_norm(seg), '', btrim(seg)
                  FROM new_rows n, unnest(string_to_array(n.location, '/')) AS seg
                 WHERE {s}.search_norm(seg) <> ''
              ) x
              ON CONFLICT DO NOTHING;
              INSERT INTO {s}.{t}_term_key (org_id, k, norm)
              SELECT DISTINCT n.org_id, k, n.model_norm
                FROM new_rows n, unnest({s}.search_code_keys(n.model_norm)) AS k
               WHERE n.model_norm <> ''
              ON CONFLICT DO NOTHING;
              RETURN NULL;
            END $$""",
        f"DROP TRIGGER IF EXISTS {t}_term_ins ON {s}.{t}",
        f"""CREATE TRIGGER {t}_term_ins AFTER INSERT ON {s}.{t}
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION {s}.{t}_term_sync()""",
        f"""CREATE OR REPLACE FUNCTION {s}.{t}_serial_key_ins() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
              INSERT INTO {s}.{t}_serial_key (org_id, k, serial_norm, id)
              SELECT n.org_id, k, n.serial_norm, n.id
                FROM new_rows n, unnest({s}.search_code_keys(n.serial_norm)) AS k
               WHERE n.serial_norm <> '';
              RETURN NULL;
            END $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.{t}_serial_key_del() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
              DELETE FROM {s}.{t}_serial_key sk
               USING old_rows o, unnest({s}.search_code_keys(o.serial_norm)) AS k
               WHERE sk.org_id = o.org_id AND sk.k = k AND sk.id = o.id;
              RETURN NULL;
            END $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.{t}_serial_key_upd() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
              DELETE FROM {s}.{t}_serial_key sk
               USING old_rows o JOIN new_rows n ON n.id = o.id,
                     unnest({s}.search_code_keys(o.serial_norm)) AS k
               WHERE (o.serial_norm, o.org_id) IS DISTINCT FROM (n.serial_norm, n.org_id)
                 AND sk.org_id = o.org_id AND sk.k = k AND sk.id = o.id;
              INSERT INTO {s}.{t}_serial_key (org_id, k, serial_norm, id)
              SELECT n.org_id, k, n.serial_norm, n.id
                FROM new_rows n JOIN old_rows o ON o.id = n.id,
                     unnest({s}.search_code_keys(n.serial_norm)) AS k
               WHERE (o.serial_norm, o.org_id) IS DISTINCT FROM (n.serial_norm, n.org_id)
                 AND n.serial_norm <> '';
              RETURN NULL;
            END $$""",
        f"DROP TRIGGER IF EXISTS {t}_serial_key_ins ON {s}.{t}",
        f"""CREATE TRIGGER {t}_serial_key_ins AFTER INSERT ON {s}.{t}
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION {s}.{t}_serial_key_ins()""",
        f"DROP TRIGGER IF EXISTS {t}_serial_key_del ON {s}.{t}",
        f"""CREATE TRIGGER {t}_serial_key_del AFTER DELETE ON {s}.{t}
            REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION {s}.{t}_serial_key_del()""",
        f"DROP TRIGGER IF EXISTS {t}_serial_key_upd ON {s}.{t}",
        f"""CREATE TRIGGER {t}_serial_key_upd AFTER UPDATE ON {s}.{t}
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION {s}.{t}_serial_key_upd()""",
        f"DROP TRIGGER IF EXISTS {t}_term_upd ON {s}.{t}",
        f"""CREATE TRIGGER {t}_term_upd AFTER UPDATE ON {s}.{t}
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION {s}.{t}_term_sync()""",
    ]


def backfill_terms_sql(schema: str = "assets", table: str = "equipment") -> str:
    """Fill the dictionary for rows that existed before the trigger (or after bulk loads
    with the trigger disabled).  Stale terms (all rows deleted/changed) are harmless; purge
    them periodically with purge_terms_sql()."""
    s, t = schema, table
    return f"""
        INSERT INTO {s}.{t}_term (org_id, kind, norm, brand, display)
        SELECT DISTINCT ON (org_id, kind, norm, brand) org_id, kind, norm, brand, display FROM (
          SELECT org_id, 'm' AS kind, model_norm AS norm, coalesce(manufacturer,'') AS brand,
                 model AS display FROM {s}.{t} WHERE model_norm <> ''
          UNION ALL
          SELECT org_id, 'b', {s}.search_norm(manufacturer), '', manufacturer
            FROM {s}.{t} WHERE {s}.search_norm(coalesce(manufacturer,'')) <> ''
          UNION ALL
          SELECT DISTINCT n.org_id, 'l', {s}.search_norm(seg), '', btrim(seg)
            FROM (SELECT DISTINCT org_id, location FROM {s}.{t}) n,
                 unnest(string_to_array(n.location, '/')) AS seg
           WHERE {s}.search_norm(seg) <> ''
        ) x ON CONFLICT DO NOTHING"""


def backfill_term_keys_sql(schema: str = "assets", table: str = "equipment") -> str:
    s, t = schema, table
    return f"""
        INSERT INTO {s}.{t}_term_key (org_id, k, norm)
        SELECT DISTINCT m.org_id, k, m.norm
          FROM {s}.{t}_term m, unnest({s}.search_code_keys(m.norm)) AS k
         WHERE m.kind = 'm'
        ON CONFLICT DO NOTHING"""


def backfill_serial_keys_sql(schema: str = "assets", table: str = "equipment") -> str:
    s, t = schema, table
    return f"""
        INSERT INTO {s}.{t}_serial_key (org_id, k, serial_norm, id)
        SELECT e.org_id, k, e.serial_norm, e.id
          FROM {s}.{t} e, unnest({s}.search_code_keys(e.serial_norm)) AS k
         WHERE e.serial_norm <> ''"""


def purge_terms_sql(schema: str = "assets", table: str = "equipment") -> str:
    s, t = schema, table
    return f"""
        DELETE FROM {s}.{t}_term k WHERE
          (k.kind = 'm' AND NOT EXISTS (SELECT 1 FROM {s}.{t} e WHERE e.org_id = k.org_id
               AND e.model_norm = k.norm AND coalesce(e.manufacturer,'') = k.brand))
          OR (k.kind = 'b' AND NOT EXISTS (SELECT 1 FROM {s}.{t} e WHERE e.org_id = k.org_id
               AND {s}.search_norm(e.manufacturer) = k.norm))"""


# --------------------------------------------------------------------------------------
# Query
# --------------------------------------------------------------------------------------

MIN_SEG_LEN = 6  # codes shorter than this get delete-2 neighbourhood keys
TAU = 2  # edit budget the pigeonhole keys guarantee (Levenshtein; +adjacent swaps)
MAX_MODELS = 8  # model terms whose rows are fetched
MAX_CODE_LEN = 24  # longer probes are not codes
MAX_CODE_PROBES = 8
ROWS_PER_MODEL_LOC = 10
ROWS_PER_MODEL = 4
SERIAL_K = 20  # verified serial candidates kept
MAX_DICT = 5000  # brand + location segments fetched per query (matched in Python)


def _sql(schema: str, table: str) -> dict[str, str]:
    s, t = schema, table
    cols = "e.id, e.number, e.manufacturer, e.model, e.serial, e.location"
    # Levenshtein counts a transposition as 2, so the SQL pre-filter is looser than the
    # OSA budget applied in Python (_allowed_edits)
    lev = (
        "(SELECT min(levenshtein_less_equal(x.norm, p, 4) - CASE WHEN length(p) <= 4 THEN 2"
        " WHEN length(p) <= 9 THEN 1 ELSE 0 END) FROM unnest($3::text[]) AS p)"
    )
    return {
        # model terms through the pigeonhole keys (verified), plus the org's brands and
        # location segments (small; matched in Python)
        "terms": f"""
            SELECT m.kind, m.norm, m.brand, m.display FROM {s}.{t}_term m
             WHERE m.org_id = $1 AND m.kind = 'm' AND m.norm IN (
                SELECT x.norm FROM (SELECT DISTINCT tk.norm FROM {s}.{t}_term_key tk
                                     WHERE tk.org_id = $1 AND tk.k = ANY($2::text[])) x
                 WHERE {lev} <= {2 * TAU})
            UNION ALL
            (SELECT kind, norm, brand, display FROM {s}.{t}_term
              WHERE org_id = $1 AND kind IN ('b', 'l') LIMIT {MAX_DICT})""",
        "serial": f"""
            SELECT {cols} FROM (
                SELECT x.id, {lev.replace("x.norm", "x.serial_norm")} AS d
                  FROM (SELECT DISTINCT k.id, k.serial_norm FROM {s}.{t}_serial_key k
                         WHERE k.org_id = $1 AND k.k = ANY($2::text[])) x
                 ORDER BY 2 LIMIT {SERIAL_K}) c
            JOIN {s}.{t} e ON e.id = c.id
            WHERE c.d <= {2 * TAU}""",
        "rows": f"""
            SELECT {cols}
            FROM unnest($2::text[], $3::text[]) AS m(model_norm, brand)
            CROSS JOIN LATERAL (
                (SELECT e.* FROM {s}.{t} e
                  WHERE e.org_id = $1 AND e.model_norm = m.model_norm
                    AND e.manufacturer = m.brand AND e.location ILIKE ANY($5::text[])
                  LIMIT {ROWS_PER_MODEL_LOC})
                UNION ALL
                (SELECT e.* FROM {s}.{t} e
                  WHERE e.org_id = $1 AND e.model_norm = m.model_norm
                    AND e.manufacturer = m.brand AND e.location ILIKE ANY($4::text[])
                  LIMIT {ROWS_PER_MODEL_LOC})
                UNION ALL
                (SELECT e.* FROM {s}.{t} e
                  WHERE e.org_id = $1 AND e.model_norm = m.model_norm
                    AND e.manufacturer = m.brand
                  LIMIT {ROWS_PER_MODEL})
            ) e""",
        "number": f"""
            SELECT {cols} FROM {s}.{t} e
            WHERE e.org_id = $1 AND e.number = ANY($2::text[])""",
    }


_SQL_CACHE: dict[tuple[str, str], dict[str, str]] = {}

_NUMBER_RE = re.compile(r"^(?:EQ)?(\d{4})(\d{6})$")


def _deletes2(t: str) -> set[str]:
    d1 = {t[:i] + t[i + 1 :] for i in range(len(t))}
    return {t} | d1 | {x[:i] + x[i + 1 :] for x in d1 for i in range(len(x))}


def code_keys(t: str) -> list[str]:
    """Data-side pigeonhole keys (mirror of SQL search_code_keys): length + index + text of
    each of 3 segments.  A string within TAU=2 edits of t keeps one segment intact."""
    n = len(t)
    if n < MIN_SEG_LEN:
        return sorted(f"d.{x}" for x in _deletes2(t) if x)
    a = n // 3
    return [f"{n}.0.{t[:a]}", f"{n}.1.{t[a : 2 * a]}", f"{n}.2.{t[2 * a :]}"]


def query_code_keys(q: str, tau: int = TAU) -> set[str]:
    """Every key a stored code within ``tau`` edits of ``q`` can have: for each possible
    stored length L and segment i, the substrings of q at the shifts allowed by the edit
    budget (PassJoin-style position windows).  Adjacent swaps across a segment boundary
    (a transposition damages two segments) are covered by also trying q with the two chars
    at the boundary swapped."""
    n = len(q)
    keys: set[str] = set()
    if n < MIN_SEG_LEN + tau:  # stored codes shorter than MIN_SEG_LEN: delete-2 neighbourhood
        keys.update(f"d.{x}" for x in _deletes2(q) if x)
    for L in range(max(1, n - tau), n + tau + 1):
        if L < MIN_SEG_LEN:
            continue
        d = n - L
        a = L // 3
        starts = (0, a, 2 * a)
        lens = (a, a, L - 2 * a)
        for sh in range(max(-tau, d - tau), min(tau, d + tau) + 1):
            variants: list[tuple[str, tuple[int, ...]]] = [(q, (0, 1, 2))]
            for b, segs in ((a, (0, 1)), (2 * a, (1, 2))):
                x = b + sh
                if 1 <= x < n:
                    variants.append((q[: x - 1] + q[x] + q[x - 1] + q[x + 1 :], segs))
            for v, segs in variants:
                for i in segs:
                    pos = starts[i] + sh
                    if 0 <= pos and pos + lens[i] <= n:
                        keys.add(f"{L}.{i}.{v[pos : pos + lens[i]]}")
    return keys


def _allowed_edits(n: int) -> int:
    if n <= 2:
        return 0
    if n <= 4:
        return 1
    if n <= 9:
        return 2
    return 3


def _is_code(s: str) -> bool:
    return len(s) >= 3 and any(c.isdigit() for c in s)


@dataclass
class _Cand:
    id: uuid.UUID
    number: str
    manufacturer: str
    model: str
    serial: str
    location: str


def _row_tokens(c: _Cand, alias_norm: dict[str, list[str]]) -> list[str]:
    toks: list[str] = []
    b = search_norm(c.manufacturer)
    if b:
        toks.append(b)
        toks += [w for w in split_words(c.manufacturer) if len(w) > 1 and w != b]
        toks += alias_norm.get(c.manufacturer, [])
    m = search_norm(c.model)
    if m:
        toks.append(m)
        toks += [w for w in split_words(c.model.replace("-", " ")) if len(w) > 1 and w != m]
        if b:
            toks.append(b + m)
    sn = search_norm(c.serial)
    if sn:
        toks.append(sn)
    num = search_norm(c.number)
    if num:
        toks += [num, num[2:], num[-6:]]
    for seg in c.location.split("/"):
        sg = search_norm(seg)
        if sg:
            toks.append(sg)
            toks += [w for w in split_words(seg) if len(w) > 1 and w != sg]
    return toks


def rank(
    query: str, cands: Sequence[_Cand], limit: int, alias_norm: dict[str, list[str]] | None = None
) -> list[tuple[Any, float]]:
    """Coverage score in [0, 100]: best segmentation of the query words into runs of 1..3
    words, each run matched (OSA similarity, within an edit budget) to one row token."""
    if not cands:
        return []
    if alias_norm is None:
        alias_norm = _ALIAS_NORM
    words = split_words(query)
    if not words:
        return []
    segs = query_segments(words)
    total = sum(len(w) for w in words)
    row_toks = [_row_tokens(c, alias_norm) for c in cands]
    vocab: dict[str, int] = {}
    for toks in row_toks:
        for tk in toks:
            vocab.setdefault(tk, len(vocab))
    vlist = list(vocab)
    seg_txt = [s for _, _, s in segs]
    # edit distances segments x tokens in one C call
    dist = process.cdist(seg_txt, vlist, scorer=OSA.distance, workers=1, dtype=np.int32)
    seg_len = np.array([len(s) for s in seg_txt], dtype=np.float64)
    tok_len = np.array([len(t) for t in vlist], dtype=np.float64)
    budget = np.array([_allowed_edits(len(s)) for s in seg_txt])[:, None]
    maxlen = np.maximum(seg_len[:, None], tok_len[None, :])
    gain = np.where(dist <= budget, seg_len[:, None] * (1.0 - dist / maxlen), 0.0)
    # prefix matches ("G120" for "G120C"): the segment is a prefix of a token
    n_w = len(words)
    seg_index = {(i, j): k for k, (i, j, _) in enumerate(segs)}
    out = []
    for ci, toks in enumerate(row_toks):
        cols = [vocab[t] for t in toks]
        g = gain[:, cols].max(axis=1)  # best gain per segment for this row
        best = [0.0] * (n_w + 1)
        for j in range(1, n_w + 1):
            b = best[j - 1]
            for i in range(max(0, j - 3), j):
                v = best[i] + g[seg_index[(i, j)]]
                if v > b:
                    b = v
            best[j] = b
        out.append((best[n_w] / total * 100.0, ci))
    # stable order: score desc, then equipment number (deterministic)
    out.sort(key=lambda x: (-x[0], cands[x[1]].number))
    # diversity: the k-th row of an identical (brand, model) group loses 0.5 point per
    # earlier sibling, so close-but-different models are not pushed off the page
    seen: dict[tuple[str, str], int] = {}
    rescored = []
    for sc, ci in out:
        c = cands[ci]
        key = (c.manufacturer, search_norm(c.model))
        k = seen.get(key, 0)
        seen[key] = k + 1
        rescored.append((sc - 0.5 * k, sc, ci))
    rescored.sort(key=lambda x: (-x[0], cands[x[2]].number))
    return [(cands[ci].id, round(sc, 2)) for _, sc, ci in rescored[:limit]]


_ALIAS_NORM = {k: [search_norm(a) for a in v] for k, v in BRAND_ALIASES.items()}
_ALIAS_TO_BRAND: dict[str, list[str]] = {}
for _b, _als in BRAND_ALIASES.items():
    for _a in [_b] + _als:
        _ALIAS_TO_BRAND.setdefault(search_norm(_a), []).append(_b)


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search(
    conn,
    org_id: uuid.UUID,
    query: str,
    limit: int = 10,
    schema: str = "assets",
    table: str = "equipment",
    debug: dict | None = None,
) -> list[tuple[Any, float]]:
    """Typo-tolerant search scoped to one organisation. Returns [(id, score 0..100)]."""
    sql = _SQL_CACHE.get((schema, table))
    if sql is None:
        sql = _SQL_CACHE[(schema, table)] = _sql(schema, table)
    words = split_words(query)
    if not words:
        return []
    segs = query_segments(words)
    seg_txt = list(dict.fromkeys(s for _, _, s in segs if len(s) >= 2))
    compact = "".join(words)
    # ---- 1. code-like probes (glued query, code-like words and runs) -> pigeonhole keys
    runs = [x for n in (1, 2, 3) for i, j, x in segs if j - i == n]
    code_probes = list(
        dict.fromkeys(x for x in [compact] + runs if _is_code(x) and len(x) <= MAX_CODE_LEN)
    )[:MAX_CODE_PROBES]
    keys: set[str] = set()
    for x in code_probes:
        keys |= query_code_keys(x)
    key_list = sorted(keys)
    terms = await conn.fetch(sql["terms"], org_id, key_list, code_probes)
    # ---- 2. serials through the pigeonhole key table (whole query + code-like words)
    ser_probes = [x for x in code_probes if len(x) >= 5 and (x == compact or x in words)][:3]
    cands: dict[Any, _Cand] = {}
    if ser_probes:
        skeys = sorted(set().union(*(query_code_keys(x) for x in ser_probes)))
        for r in await conn.fetch(sql["serial"], org_id, skeys, ser_probes):
            cands[r["id"]] = _Cand(*r)
    # ---- 3. equipment numbers typed exactly ("EQ-2026-000123", "2026000123")
    nums = []
    for s in seg_txt + [compact]:
        m = _NUMBER_RE.match(s)
        if m:
            nums.append(f"EQ-{m.group(1)}-{m.group(2)}")
    if nums:
        for r in await conn.fetch(sql["number"], org_id, nums):
            cands[r["id"]] = _Cand(*r)
    # ---- 4. choose model terms / location segments with rapidfuzz, fetch their rows
    m_terms: dict[tuple[str, str], float] = {}
    loc_terms: dict[str, float] = {}
    loc_norm: dict[str, str] = {}
    brands_in_query: set[str] = set()
    for s in seg_txt:
        for b in _ALIAS_TO_BRAND.get(s, []):
            brands_in_query.add(b)
    if terms:
        probes = seg_txt + ([compact] if compact not in seg_txt else [])
        norms = [r["norm"] for r in terms]
        dist = process.cdist(probes, norms, scorer=OSA.distance, workers=1, dtype=np.int32)
        plen = np.array([len(x) for x in probes])[:, None]
        nlen = np.array([len(x) for x in norms])[None, :]
        budget = np.vectorize(_allowed_edits)(np.minimum(plen, nlen))
        simm = np.where(dist <= budget, 1.0 - dist / np.maximum(plen, nlen), 0.0)
        sim = simm.max(axis=0)
        # location segments: greedy, longest query run first; a run names the segment it
        # matches best (ties <= 2), and its words can't be re-used by shorter runs, so
        # "chiller room" beats "room"~"Roof" and "mcc 2" beats "mcc"~"MCC 1"
        is_loc = np.array([r["kind"] == "l" for r in terms])
        keep = np.zeros(len(terms), dtype=bool)
        if is_loc.any():
            lsim = np.where(is_loc[None, :], simm, 0.0)
            span = {x: (i, j) for i, j, x in reversed(segs)}
            used: set[int] = set()
            for pi in sorted(range(len(probes)), key=lambda k: -len(probes[k])):
                ij = span.get(probes[pi])
                if ij is None:
                    continue
                row = lsim[pi]
                b = row.max()
                if b < 0.75 or used.intersection(range(*ij)):
                    continue
                best_cols = np.nonzero(row >= b - 1e-9)[0]
                if len(best_cols) > 2:
                    continue
                keep[best_cols] = True
                used.update(range(*ij))
            sim = np.where(is_loc & ~keep, 0.0, sim)
        for r, best in zip(terms, sim):
            if best <= 0:
                continue
            kind, norm, brand, display = r["kind"], r["norm"], r["brand"], r["display"]
            if kind == "m":
                m_terms[(norm, brand)] = max(m_terms.get((norm, brand), 0), float(best))
            elif kind == "l":
                loc_terms[display] = max(loc_terms.get(display, 0), float(best))
                loc_norm[display] = norm
            elif kind == "b":
                brands_in_query.add(display)
    ranked_models = sorted(
        m_terms.items(),
        key=lambda kv: (-(kv[1] + (0.05 if kv[0][1] in brands_in_query else 0)), kv[0][0]),
    )[:MAX_MODELS]
    if ranked_models:
        # all named segments in query order first ("%Line 9%Dryer%"), then any of them
        pos = {
            d: min((compact.find(loc_norm[d]) % (len(compact) + 1)), len(compact))
            for d in loc_terms
        }
        ordered = sorted(loc_terms, key=lambda d: pos[d])
        locs = [f"%{_like_escape(d)}%" for d in ordered]
        all_pat = (
            ["%" + "%".join(_like_escape(d) for d in ordered) + "%"] if len(ordered) > 1 else []
        )
        rows = await conn.fetch(
            sql["rows"],
            org_id,
            [k[0] for k, _ in ranked_models],
            [k[1] for k, _ in ranked_models],
            locs,
            all_pat,
        )
        for r in rows:
            cands.setdefault(r["id"], _Cand(*r))
    if debug is not None:
        debug.update(
            n_terms=len(terms),
            n_cands=len(cands),
            models=ranked_models,
            locs=list(loc_terms),
            brands=sorted(brands_in_query),
            code_probes=code_probes,
            ser_probes=ser_probes,
            n_keys=len(key_list),
        )
    return rank(query, list(cands.values()), limit)
