"""Search queries (raw asyncpg on the request's own transaction: this is a hot path).

Unqualified names resolve through the connection's ``search_path = assets, public``
(``levenshtein_less_equal`` comes from fuzzystrmatch in ``public``). Every query is scoped to
one organization.
"""

from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import equipment
from .planner import Facets

SERIAL_K = 60
"""Verified serial candidates kept, closest (Levenshtein) first."""
ROWS_PER_MODEL_LOC = 10
ROWS_PER_MODEL = 4
FEW_MODELS = 8
"""Above this many chosen models, fewer rows per model (6 and 3)."""
MAX_DICT = 5000
"""Brand and location terms fetched per query (matched in Python)."""
MAX_EDITS_SQL = 4
"""Levenshtein bound of the SQL verification: two OSA edits (a transposition is two)."""

COLUMNS = (
    "e.id, e.number, e.manufacturer, e.manufacturer_key, e.model, e.model_norm, e.serial,"
    " e.serial_norm, e.location, e.name, e.equipment_type, e.updated_at"
)
MAX_PREFIX_MODELS = 20
"""Model terms fetched for the start of a code (search as you type)."""
TYPE_NORM = "regexp_replace(upper(e.equipment_type), '[^0-9A-Z]+', '', 'g')"
"""The expression of ``equipment_org_type_recent_idx`` (migration 0005)."""
_LEV = "(SELECT min(levenshtein_less_equal({col}, p, {m})) FROM unnest($3::text[]) AS p)"

TERMS = f"""
    SELECT t.kind, t.norm, t.brand, t.display FROM equipment_term t
     WHERE t.org_id = $1 AND t.kind = 'm' AND t.norm IN (
        SELECT x.norm FROM (SELECT DISTINCT tk.norm FROM equipment_term_key tk
                             WHERE tk.org_id = $1 AND tk.k = ANY($2::text[])) x
         WHERE {_LEV.format(col="x.norm", m=MAX_EDITS_SQL)} <= {MAX_EDITS_SQL})
    UNION ALL
    (SELECT kind, norm, brand, display FROM equipment_term
      WHERE org_id = $1 AND kind IN ('b', 'l', 't') LIMIT {MAX_DICT})
    UNION ALL
    (SELECT kind, norm, brand, display FROM equipment_term
      WHERE org_id = $1 AND kind = 'm' AND norm >= $4 AND norm < $5 AND starts_with(norm, $4)
      LIMIT {MAX_PREFIX_MODELS})
"""  # noqa: S608


SERIALS = f"""
    SELECT {COLUMNS} FROM (
        SELECT c.id, c.miss, min(c.miss) OVER () AS best FROM (
            SELECT d.id, min(d.dist - length(d.probe)) AS miss FROM (
                SELECT x.id, x.probe,
                       levenshtein_less_equal(x.serial_norm, x.probe, {MAX_EDITS_SQL}) AS dist
                  FROM (SELECT DISTINCT k.id, k.serial_norm, q.probe
                          FROM unnest($2::text[], $3::text[]) AS q(k, probe)
                          JOIN equipment_serial_key k ON k.org_id = $1 AND k.k = q.k) x
            ) d
            WHERE d.dist <= {MAX_EDITS_SQL}
            GROUP BY d.id ORDER BY 2 LIMIT {SERIAL_K}
        ) c
    ) c
    JOIN equipment e ON e.id = c.id AND e.org_id = $1
    WHERE c.miss <= c.best + 2
"""  # noqa: S608
"""Serials sharing a key with a probe, each verified against the probes whose keys it shares
(``levenshtein_less_equal`` once per candidate and probe, on the index-only scan of
``equipment_serial_key``). Kept: within MAX_EDITS_SQL of a probe, the SERIAL_K that leave the
fewest query characters unexplained (distance minus the probe's length: a whole chunk two
edits away beats one of its words one edit away from some shorter serial), and within 2 of the
best (an exact or one-typo match does not drag its whole production batch along).
Parameters: $1 the organization, $2 the keys, $3 the probe of each key."""


# For each chosen (model, brand): rows in all the named locations first, then in any of them,
# then a few without condition. Ids come from an index-only scan of
# equipment_search_model_idx; only the chosen rows are read from the table.
MODEL_ROWS = f"""
    SELECT {COLUMNS} FROM (
        SELECT DISTINCT r.id
        FROM unnest($2::text[], $3::text[]) AS m(model_norm, brand)
        CROSS JOIN LATERAL (
            (SELECT e.id FROM equipment e
              WHERE e.org_id = $1 AND e.manufacturer_key = m.brand
                AND e.model_norm = m.model_norm AND cardinality($5::text[]) > 0
                AND e.facets @> $5::text[]
              LIMIT $6)
            UNION ALL
            (SELECT e.id FROM equipment e
              WHERE e.org_id = $1 AND e.manufacturer_key = m.brand
                AND e.model_norm = m.model_norm AND e.facets && $4::text[]
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


FACET_SCAN = 2000
"""Newest rows of the driving facet read before asking the GIN index for rare combinations."""


@lru_cache(maxsize=64)
def facet_sql(drive: str, groups: int, capped: bool) -> str:
    """Ids of the newest assets of the named brands (``drive`` "b") or types ("t") that also
    have the other facets, then the rows. Parameters: $1 the organization, then the driving
    values (brand keys or types in normal form, unless ``drive`` is ""), then one list of facet
    tokens per group that must hold (``equipment.facets && group``), the limit and with
    ``capped`` the rows read.

    ``capped``: the brand (else the type, else the organization) drives, in the order of its
    recency index; only its ``FACET_SCAN`` newest rows are read and filtered, which answers
    every query whose facets are not rare together (the newest matches are among them).
    Uncapped, with groups: the GIN index ``equipment_facets_idx`` finds the rows that have every
    group (materialized, so PostgreSQL cannot walk a recency index through them instead), and
    the newest are sorted out."""
    arg = iter(range(2, 100))
    values = f"${next(arg)}::text[]" if drive else ""
    g = [f"${next(arg)}::text[]" for _ in range(groups)]
    limit = f"${next(arg)}"
    scan = f"${next(arg)}" if capped else ""
    order = "ORDER BY e.updated_at DESC, e.id DESC"
    if groups and not capped:
        having = " AND ".join(f"e.facets && {x}" for x in g)
        return f"""
        WITH hits AS MATERIALIZED (
            SELECT e.id, e.updated_at FROM equipment e WHERE e.org_id = $1 AND {having}
        )
        SELECT {COLUMNS} FROM (SELECT e.id FROM hits e {order} LIMIT {limit}) c
        JOIN equipment e ON e.id = c.id AND e.org_id = $1
        """  # noqa: S608
    outer = f"unnest({values}) AS f(v)" if drive else ""
    on = {"b": " AND e.manufacturer_key = f.v", "t": f" AND {TYPE_NORM} = f.v", "": ""}[drive]
    if groups:
        having = " AND ".join(f"s.facets && {x}" for x in g)
        inner = (
            "SELECT s.id, s.updated_at FROM ("  # noqa: S608
            " SELECT e.id, e.updated_at, e.facets FROM equipment e"
            f" WHERE e.org_id = $1{on} ORDER BY e.updated_at DESC LIMIT {scan}) s"
            f" WHERE {having} ORDER BY s.updated_at DESC, s.id DESC LIMIT {limit}"
        )
    else:
        inner = (
            f"SELECT e.id, e.updated_at FROM equipment e WHERE e.org_id = $1{on}"  # noqa: S608
            f" {order} LIMIT {limit}"
        )
    ids = inner
    if outer:
        ids = f"SELECT r.id, r.updated_at FROM {outer} CROSS JOIN LATERAL ({inner}) r"  # noqa: S608
    return f"""
    SELECT {COLUMNS} FROM (
        SELECT c.id, c.updated_at FROM ({ids}) c ORDER BY c.updated_at DESC, c.id DESC
        LIMIT {limit}
    ) c
    JOIN equipment e ON e.id = c.id AND e.org_id = $1
    """  # noqa: S608


NUMBERS = f"SELECT {COLUMNS} FROM equipment e WHERE e.org_id = $1 AND e.number = ANY($2::text[])"  # noqa: S608


async def driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn`` (same transaction)."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def terms(
    db: Any, org_id: UUID, keys: Sequence[str], probes: Sequence[str], prefix: str | None
) -> list[Any]:
    """Model terms near the code probes or starting with ``prefix``, and every brand, location
    segment and type of the organization (the dictionary, matched in Python)."""
    low, high = (prefix, _after_prefix(prefix)) if prefix else (None, None)
    return list(await db.fetch(TERMS, org_id, keys, probes, low, high))


def _after_prefix(prefix: str) -> str:
    """The least string above every string that starts with ``prefix`` (normal forms are
    ASCII letters and digits)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


async def serials(db: Any, org_id: UUID, keys: Sequence[tuple[str, str]]) -> list[Any]:
    """Rows whose serial is within two edits of a probe; ``keys``: (key, probe) pairs."""
    return list(await db.fetch(SERIALS, org_id, [k for k, _ in keys], [p for _, p in keys]))


async def numbers(db: Any, org_id: UUID, numbers: Sequence[str]) -> list[Any]:
    return list(await db.fetch(NUMBERS, org_id, numbers))


async def model_rows(
    db: Any,
    org_id: UUID,
    models: Sequence[tuple[str, str]],
    any_location: Sequence[str],
    all_locations: Sequence[str],
) -> list[Any]:
    return list(
        await db.fetch(
            MODEL_ROWS,
            org_id,
            [m for m, _ in models],
            [b for _, b in models],
            list(any_location),
            list(all_locations),
            ROWS_PER_MODEL_LOC if len(models) <= FEW_MODELS else 6,
            ROWS_PER_MODEL if len(models) <= FEW_MODELS else 3,
        )
    )


async def facet_rows(db: Any, org_id: UUID, facets: Facets, limit: int) -> list[Any]:
    """The ``limit`` most recently changed assets that have all of ``facets``: from the driving
    facet's newest rows when they hold that many, else from the GIN index."""
    groups = facets.groups()
    drive, values = ("b", facets.brands) if facets.brands else ("t", facets.types)
    named = [list(values)] if values else []
    drive = drive if values else ""
    if len(groups) == 1 and not facets.places:  # one brand or one type: its recency index
        return list(await db.fetch(facet_sql(drive, 0, False), org_id, *named, limit))
    capped = facet_sql(drive, len(groups), True)
    rows = await db.fetch(capped, org_id, *named, *groups, limit, FACET_SCAN)
    if len(rows) >= limit:
        return list(rows)
    # rare together: every facet through the GIN index
    return list(await db.fetch(facet_sql("", len(groups), False), org_id, *groups, limit))


async def full_rows(conn: AsyncConnection, org_id: UUID, ids: Sequence[UUID]) -> list[RowMapping]:
    """Whole rows (for ``EquipmentView``) of ``ids`` in the organization."""
    query = select(equipment).where(equipment.c.org_id == org_id, equipment.c.id.in_(ids))
    return list((await conn.execute(query)).mappings().all())
