"""Assets written the way the assets service stores them, with COPY and plain SQL.

The benchmarks load data sets of 100k-1M assets, far too many to create through the API in a
benchmark's set-up. So, after the service itself has made its schema (its console script:
``rivet-assets migrate``, or the service started by ``rivet_devstack``), rows are COPYed into
``assets.equipment`` in the service's stored form and the search index is filled with SQL:

* ``manufacturer`` is the canonical brand of the shared catalogue (``rivet_contracts.brands``)
  and ``manufacturer_key`` its comparison key; ``model_norm`` and ``serial_norm`` are the codes
  in upper case, letters and digits only (docs/assets.md, docs/search.md);
* ``fill_search_index`` runs the backfill statements of the schema's search migrations (0002:
  serial keys, the dictionary's models, brands and location segments, the model terms' keys;
  0005: equipment types, kind ``t``), the ones that index a populated table, with the schema's
  own ``assets.search_code_keys``: what ``search.index`` writes row by row in the service;
  ``check_index`` compares the two for an organization whose rows the service wrote.

This is a copy of the stored form, not an import of the service: if the service changes what it
stores, the search benchmark's recall (and the gateway benchmark's answer comparison) shows it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from rivet_contracts import brands

EQUIPMENT_COLUMNS = ["id", "org_id", "number", "manufacturer", "manufacturer_key", "model",
                     "model_norm", "serial", "serial_norm", "location", "source",
                     "equipment_type", "created_at", "updated_at"]  # fmt: skip
"""The columns ``equipment_record`` fills (others take their defaults)."""
SEARCH_TABLES = ("equipment", "equipment_serial_key", "equipment_term", "equipment_term_key")

_NOT_ALNUM = re.compile(r"[^0-9A-Z]+")
_CANONICAL: dict[str, tuple[str, str]] = {}


def code(value: str | None) -> str | None:
    """Serials and model codes as stored: upper case, letters and digits only."""
    if value is None:
        return None
    return _NOT_ALNUM.sub("", value.upper()) or None


def manufacturer(value: str) -> tuple[str, str]:
    """(stored name, comparison key): a known brand becomes its canonical name, an unknown one
    keeps its spelling (spaces collapsed); the key is the catalogue's normal form, lower case."""
    if value not in _CANONICAL:
        name = brands.canonical(value) or " ".join(value.split())
        _CANONICAL[value] = (name, brands.normalize(name).lower())
    return _CANONICAL[value]


def equipment_record(
    id: Any,
    org_id: Any,
    number: str,
    brand: str,
    model: str,
    serial: str,
    location: str,
    source: str = "import",
    equipment_type: str | None = None,
    updated_at: datetime | None = None,
) -> tuple[Any, ...]:
    """One ``assets.equipment`` row (``EQUIPMENT_COLUMNS``) as the service would store it
    (created and last changed at ``updated_at``, default now)."""
    name, key = manufacturer(brand)
    at = updated_at or datetime.now(UTC)
    return (id, org_id, number, name, key, model, code(model), serial, code(serial), location,
            source, equipment_type or None, at, at)  # fmt: skip


async def secondary_indexes(
    conn: asyncpg.Connection, schema: str, tables: Sequence[str]
) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the indexes of ``tables`` that back no constraint (primary
    keys and unique constraints stay)."""
    rows = await conn.fetch(
        """
        SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
          FROM pg_index i
          JOIN pg_class c ON c.oid = i.indexrelid
          JOIN pg_class t ON t.oid = i.indrelid
          JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = $1 AND t.relname = ANY($2::text[])
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
         ORDER BY 1
        """,
        schema,
        list(tables),
    )
    return [(r["name"], r["definition"]) for r in rows]


async def drop_indexes(
    conn: asyncpg.Connection, schema: str, indexes: Iterable[tuple[str, str]]
) -> None:
    """Before a bulk load: COPY first and index after is several times faster."""
    for name, _ in indexes:
        await conn.execute(f'DROP INDEX IF EXISTS "{schema}"."{name}"')


async def create_indexes(conn: asyncpg.Connection, indexes: Iterable[tuple[str, str]]) -> None:
    for _, definition in indexes:
        await conn.execute(definition)


async def copy_equipment(conn: asyncpg.Connection, records: Sequence[tuple[Any, ...]]) -> None:
    await conn.copy_records_to_table(
        "equipment", schema_name="assets", columns=EQUIPMENT_COLUMNS, records=records
    )


async def continue_numbers(conn: asyncpg.Connection) -> None:
    """Equipment numbers of new assets continue after the loaded ones (``EQ-<year>-<n>``)."""
    await conn.execute("""
        INSERT INTO assets.equipment_numbers (org_id, year, last)
        SELECT org_id, split_part(number, '-', 2)::int, max(split_part(number, '-', 3)::int)
          FROM assets.equipment GROUP BY 1, 2
        ON CONFLICT (org_id, year) DO UPDATE SET last = greatest(
            assets.equipment_numbers.last, excluded.last)""")  # fmt: skip


TYPE_NORM = "regexp_replace(upper(equipment_type), '[^0-9A-Z]+', '', 'g')"
"""The normal form of a type (migration 0005's expression)."""

TERMS_SELECT = f"""
    SELECT DISTINCT ON (org_id, kind, norm, brand) org_id, kind, norm, brand, display
    FROM (
        SELECT org_id, 'm' AS kind, model_norm AS norm, manufacturer_key AS brand,
               coalesce(model, model_norm) AS display
          FROM assets.equipment WHERE model_norm IS NOT NULL AND model_norm <> '' {{org}}
        UNION ALL
        SELECT org_id, 'b', regexp_replace(upper(manufacturer), '[^0-9A-Z]+', '', 'g'),
               manufacturer_key, manufacturer
          FROM (SELECT DISTINCT org_id, manufacturer, manufacturer_key
                  FROM assets.equipment WHERE true {{org}}) b
        UNION ALL
        SELECT l.org_id, 'l', regexp_replace(upper(seg), '[^0-9A-Z]+', '', 'g'), '',
               regexp_replace(btrim(seg), '[[:space:]]+', ' ', 'g')
          FROM (SELECT DISTINCT org_id, location FROM assets.equipment
                 WHERE location IS NOT NULL {{org}}) l,
               unnest(string_to_array(l.location, '/')) AS seg
        UNION ALL
        SELECT org_id, 't', {TYPE_NORM}, '',
               regexp_replace(btrim(equipment_type), '[[:space:]]+', ' ', 'g')
          FROM assets.equipment WHERE equipment_type IS NOT NULL {{org}}
    ) t
    WHERE norm <> ''
    ORDER BY org_id, kind, norm, brand, display
"""  # noqa: S608
"""The per-organization dictionary of the rows: models (with their brand), brands, location
segments (0002) and equipment types (0005); ``{org}`` is empty or an organization filter."""

FILL_SEARCH_INDEX = (
    # serial keys: the pigeonhole keys of every stored serial
    """
    INSERT INTO assets.equipment_serial_key (org_id, k, serial_norm, id)
    SELECT e.org_id, k, e.serial_norm, e.id
      FROM assets.equipment e, unnest(assets.search_code_keys(e.serial_norm)) AS k
     WHERE e.serial_norm IS NOT NULL AND e.serial_norm <> ''
    """,
    # the per-organization dictionary: models, brands, location segments, types
    "INSERT INTO assets.equipment_term (org_id, kind, norm, brand, display)"
    + TERMS_SELECT.format(org=""),
    # keys of the model terms
    """
    INSERT INTO assets.equipment_term_key (org_id, k, norm)
    SELECT DISTINCT t.org_id, k, t.norm
      FROM assets.equipment_term t, unnest(assets.search_code_keys(t.norm)) AS k
     WHERE t.kind = 'm'
    """,
)
"""The search migrations' backfill (for a table loaded while its index tables are empty)."""


async def fill_search_index(conn: asyncpg.Connection) -> None:
    for statement in FILL_SEARCH_INDEX:
        await conn.execute(statement)


async def vacuum_search_tables(conn: asyncpg.Connection) -> None:
    """Steady state after a bulk load: autovacuum would soon do it; without a visibility map
    the index-only scans of the key tables visit the heap for every tuple."""
    for table in SEARCH_TABLES:
        await conn.execute(f"VACUUM ANALYZE assets.{table}")


async def check_index(conn: asyncpg.Connection, org_id: UUID) -> dict[str, int]:
    """For an organization whose rows the service wrote (and indexed): what the backfill above
    would write for them and the service did not, and the reverse (all zero: the bench fills the
    index as the service does)."""
    org = "AND org_id = $1"
    backfill = await conn.fetch(TERMS_SELECT.format(org=org), org_id)
    expected = {(r["kind"], r["norm"], r["brand"]) for r in backfill}
    written = await conn.fetch(
        "SELECT kind, norm, brand FROM assets.equipment_term WHERE org_id = $1", org_id
    )
    stored = {(r["kind"], r["norm"], r["brand"]) for r in written}
    keys = await conn.fetchrow(
        """
        SELECT (SELECT count(*) FROM assets.equipment e,
                       unnest(assets.search_code_keys(e.serial_norm)) AS k
                 WHERE e.org_id = $1 AND e.serial_norm <> '') AS expected,
               (SELECT count(*) FROM assets.equipment_serial_key WHERE org_id = $1) AS stored,
               (SELECT count(*) FROM (SELECT DISTINCT t.norm, k
                  FROM assets.equipment_term t, unnest(assets.search_code_keys(t.norm)) AS k
                 WHERE t.org_id = $1 AND t.kind = 'm') x) AS model_expected,
               (SELECT count(*) FROM assets.equipment_term_key WHERE org_id = $1) AS model_stored
        """,
        org_id,
    )
    out = {"terms_missing": len(expected - stored), "terms_extra": len(stored - expected)}
    for kind in "mblt":
        out[f"terms_{kind}"] = sum(1 for t in stored if t[0] == kind)
    out["serial_keys_missing"] = keys["expected"] - keys["stored"]
    out["model_keys_missing"] = keys["model_expected"] - keys["model_stored"]
    return out
