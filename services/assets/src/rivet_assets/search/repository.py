"""Search queries (raw asyncpg on the request's own transaction: this is a hot path).

Unqualified names resolve through the connection's ``search_path = assets, public``
(``levenshtein_less_equal`` comes from fuzzystrmatch in ``public``). Every query is scoped to
one organization.
"""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import equipment

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


def _serials_sql(probes: int) -> str:
    """Candidates sharing a key with one of ``probes`` probes ($3...), verified by Levenshtein
    distance (inline ``least`` of one call per probe: a subquery per row costs 3x more). Kept:
    within MAX_EDITS_SQL of a probe, the SERIAL_K that leave the fewest characters unexplained,
    and within 2 of the best (an exact or one-typo match does not drag its whole production
    batch along)."""
    lev = [
        f"levenshtein_less_equal(x.serial_norm, ${3 + i}, {MAX_EDITS_SQL})" for i in range(probes)
    ]
    # order by characters left unexplained (distance minus the probe's length), so a whole
    # chunk two edits away beats one of its words one edit away from some shorter serial
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


def _facet_rows_sql(brands: bool, types: bool, locations: bool) -> str:
    """Ids of the assets of the named brands, types and places (all that are named), most
    recently changed first, then the rows. One index range scan per brand or type
    (``equipment_org_brand_recent_idx``, ``equipment_org_type_recent_idx``); places alone go
    through ``equipment_location_trgm_idx`` or the recency index, as the planner judges.
    Parameters: $1 the organization, then the lists named (brands, types, ILIKE patterns),
    then the limit."""
    arg = iter(range(2, 6))
    b = f"${next(arg)}::text[]" if brands else ""
    t = f"${next(arg)}::text[]" if types else ""
    loc = f"${next(arg)}::text[]" if locations else ""
    limit = f"${next(arg)}"
    where = ["e.org_id = $1"]
    if types and brands:
        where.append(f"{TYPE_NORM} = ANY({t})")
    if locations:
        where.append(f"e.location ILIKE ALL({loc})")
    outer = None
    if brands:
        outer = f"unnest({b}) AS f(v)"
        where.append("e.manufacturer_key = f.v")
    elif types:
        outer = f"unnest({t}) AS f(v)"
        where.append(f"{TYPE_NORM} = f.v")
    # Only fixed fragments and parameter numbers are put together here; values are parameters.
    inner = (
        f"SELECT e.id, e.updated_at FROM equipment e WHERE {' AND '.join(where)} "  # noqa: S608
        f"ORDER BY e.updated_at DESC, e.id DESC LIMIT {limit}"
    )
    if outer:
        ids = f"SELECT r.id, r.updated_at FROM {outer} CROSS JOIN LATERAL ({inner}) r"  # noqa: S608
    else:
        ids = inner
    return f"""
    SELECT {COLUMNS} FROM (
        SELECT c.id, c.updated_at FROM ({ids}) c ORDER BY c.updated_at DESC, c.id DESC
        LIMIT {limit}
    ) c
    JOIN equipment e ON e.id = c.id AND e.org_id = $1
    """  # noqa: S608


FACET_ROWS = {
    (b, t, loc): _facet_rows_sql(b, t, loc)
    for b in (False, True)
    for t in (False, True)
    for loc in (False, True)
    if b or t or loc
}

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


async def serials(db: Any, org_id: UUID, keys: Sequence[str], probes: Sequence[str]) -> list[Any]:
    """Rows whose serial is within two edits of one of ``probes`` (at most three)."""
    return list(await db.fetch(SERIALS[len(probes)], org_id, keys, *probes))


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


async def facet_rows(
    db: Any,
    org_id: UUID,
    brands: Sequence[str],
    types: Sequence[str],
    location_patterns: Sequence[str],
    limit: int,
) -> list[Any]:
    """The ``limit`` most recently changed assets of the named brands and types in all the
    places named (``ILIKE`` patterns), whichever of the three are given."""
    named = [list(x) for x in (brands, types, location_patterns) if x]
    sql = FACET_ROWS[bool(brands), bool(types), bool(location_patterns)]
    return list(await db.fetch(sql, org_id, *named, limit))


async def full_rows(conn: AsyncConnection, org_id: UUID, ids: Sequence[UUID]) -> list[RowMapping]:
    """Whole rows (for ``EquipmentView``) of ``ids`` in the organization."""
    query = select(equipment).where(equipment.c.org_id == org_id, equipment.c.id.in_(ids))
    return list((await conn.execute(query)).mappings().all())
