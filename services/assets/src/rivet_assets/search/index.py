"""Keeps the search index current, in the transaction that inserts or updates an asset.

Called from ``equipment.service`` (application-side, not triggers: one extra statement per
insert, and no hot rows - dictionary terms are inserted with ``ON CONFLICT DO NOTHING`` and
never updated, so writers only wait on each other for a term that neither has committed yet).
Terms no asset uses any more are harmless (a model without rows yields no candidates);
``purge_terms`` removes them.
"""

from collections.abc import Container, Mapping, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from .keys import code_keys, norm

SEARCH_FIELDS = frozenset(
    {"manufacturer", "manufacturer_key", "model", "model_norm", "location", "equipment_type"}
)

# One round trip: serial keys, dictionary terms (sorted, so concurrent writers lock in the
# same order) and the model term's keys.
_ADD = text(
    """
    WITH serial_keys AS (
        INSERT INTO equipment_serial_key (org_id, k, serial_norm, id)
        SELECT CAST(:org_id AS uuid), k, CAST(:serial_norm AS text), CAST(:id AS uuid)
        FROM unnest(CAST(:serial_keys AS text[])) AS k
    ), terms AS (
        INSERT INTO equipment_term (org_id, kind, norm, brand, display)
        SELECT CAST(:org_id AS uuid), t.kind, t.norm, t.brand, t.display
        FROM unnest(CAST(:kinds AS text[]), CAST(:norms AS text[]), CAST(:brands AS text[]),
                    CAST(:displays AS text[])) AS t(kind, norm, brand, display)
        ORDER BY t.kind, t.norm, t.brand
        ON CONFLICT DO NOTHING
    )
    INSERT INTO equipment_term_key (org_id, k, norm)
    SELECT CAST(:org_id AS uuid), k, CAST(:model_norm AS text)
    FROM unnest(CAST(:model_keys AS text[])) AS k ORDER BY k
    ON CONFLICT DO NOTHING
    """
)
_DROP_SERIAL = text(
    "DELETE FROM equipment_serial_key WHERE org_id = :org_id AND id = :id"
    " AND k = ANY(CAST(:keys AS text[]))"
)
_SERIAL_OF = text("SELECT serial_norm FROM equipment WHERE org_id = :org_id AND id = :id")


def terms(row: Mapping[Any, Any]) -> list[tuple[str, str, str, str]]:
    """Dictionary entries ``(kind, norm, brand, display)`` of an asset."""
    out: dict[tuple[str, str, str], str] = {}
    brand_key = row["manufacturer_key"] or ""
    if row["model_norm"]:
        out["m", row["model_norm"], brand_key] = row["model"] or row["model_norm"]
    if brand := norm(row["manufacturer"]):
        out["b", brand, brand_key] = row["manufacturer"]
    if kind := norm(row["equipment_type"]):
        out["t", kind, ""] = " ".join((row["equipment_type"] or "").split())
    for segment in (row["location"] or "").split("/"):
        if seg := norm(segment):
            out.setdefault(("l", seg, ""), " ".join(segment.split()))
    return sorted((k, n, b, d) for (k, n, b), d in out.items())


async def _add(
    conn: AsyncConnection, row: Mapping[Any, Any], *, serial: bool, dictionary: bool
) -> None:
    entries = terms(row) if dictionary else []
    model_norm = row["model_norm"] if dictionary else None
    await conn.execute(
        _ADD,
        {
            "org_id": row["org_id"],
            "id": row["id"],
            "serial_norm": row["serial_norm"],
            "serial_keys": code_keys(row["serial_norm"] or "") if serial else [],
            "kinds": [e[0] for e in entries],
            "norms": [e[1] for e in entries],
            "brands": [e[2] for e in entries],
            "displays": [e[3] for e in entries],
            "model_norm": model_norm,
            "model_keys": code_keys(model_norm) if model_norm else [],
        },
    )


async def add(conn: AsyncConnection, row: Mapping[Any, Any]) -> None:
    """Index a new asset (``row``: the inserted row, all columns)."""
    await _add(conn, row, serial=True, dictionary=True)


async def serial_before(
    conn: AsyncConnection, org_id: UUID, equipment_id: UUID, values: Mapping[Any, Any]
) -> str | None:
    """Before an update: the serial the index holds for the asset, if ``values`` change it."""
    if "serial_norm" not in values:
        return None
    found = await conn.scalar(_SERIAL_OF, {"org_id": org_id, "id": equipment_id})
    return str(found) if found else None


async def update(
    conn: AsyncConnection, row: Mapping[Any, Any], values: Mapping[Any, Any], old_serial: str | None
) -> None:
    """After an update (``row``: the updated row): re-key a changed serial, add new terms."""
    serial = "serial_norm" in values and old_serial != row["serial_norm"]
    if serial and old_serial:
        await conn.execute(
            _DROP_SERIAL, {"org_id": row["org_id"], "id": row["id"], "keys": code_keys(old_serial)}
        )
    dictionary = not SEARCH_FIELDS.isdisjoint(values)
    if serial or dictionary:
        await _add(conn, row, serial=serial, dictionary=dictionary)


_PURGE = text(
    """
    DELETE FROM equipment_term t
    WHERE t.org_id = :org_id AND (
        (t.kind = 'm' AND NOT EXISTS (
            SELECT 1 FROM equipment e WHERE e.org_id = t.org_id
               AND e.manufacturer_key = t.brand AND e.model_norm = t.norm))
     OR (t.kind = 'b' AND NOT EXISTS (
            SELECT 1 FROM equipment e WHERE e.org_id = t.org_id AND e.manufacturer_key = t.brand))
    )
    RETURNING kind, norm
    """
)
_PURGE_KEYS = text(
    """
    DELETE FROM equipment_term_key k
    WHERE k.org_id = :org_id AND k.norm = ANY(CAST(:norms AS text[]))
      AND NOT EXISTS (SELECT 1 FROM equipment_term t
                       WHERE t.org_id = k.org_id AND t.kind = 'm' AND t.norm = k.norm)
    """
)


async def purge_terms(conn: AsyncConnection, org_id: UUID) -> int:
    """Drop model and brand terms no asset of the organization uses (maintenance; location
    segments are few and kept). Returns the number of terms removed."""
    gone = (await conn.execute(_PURGE, {"org_id": org_id})).all()
    models = [n for kind, n in gone if kind == "m"]
    if models:
        await conn.execute(_PURGE_KEYS, {"org_id": org_id, "norms": models})
    return len(gone)


# Many new assets in one round trip (the CSV import's chunks): the same rows ``add`` writes.
_ADD_MANY = text(
    """
    WITH serial_keys AS (
        INSERT INTO equipment_serial_key (org_id, k, serial_norm, id)
        SELECT CAST(:org_id AS uuid), s.k, s.serial_norm, s.id
        FROM unnest(CAST(:serial_keys AS text[]), CAST(:serial_norms AS text[]),
                    CAST(:serial_ids AS uuid[])) AS s(k, serial_norm, id)
    ), terms AS (
        INSERT INTO equipment_term (org_id, kind, norm, brand, display)
        SELECT CAST(:org_id AS uuid), t.kind, t.norm, t.brand, t.display
        FROM unnest(CAST(:kinds AS text[]), CAST(:norms AS text[]), CAST(:brands AS text[]),
                    CAST(:displays AS text[])) AS t(kind, norm, brand, display)
        ORDER BY t.kind, t.norm, t.brand
        ON CONFLICT DO NOTHING
    )
    INSERT INTO equipment_term_key (org_id, k, norm)
    SELECT CAST(:org_id AS uuid), m.k, m.norm
    FROM unnest(CAST(:model_keys AS text[]), CAST(:model_norms AS text[])) AS m(k, norm)
    ORDER BY m.k, m.norm
    ON CONFLICT DO NOTHING
    """
)


async def add_many(
    conn: AsyncConnection,
    org_id: UUID,
    rows: Sequence[Mapping[Any, Any]],
    *,
    keyed: Container[UUID] | None = None,
) -> None:
    """Index assets of one organization in one statement: what ``add`` writes for each (the
    dictionary's duplicates folded); ``keyed``: the assets whose serial is indexed (None: all),
    the others only add their dictionary terms (as ``update`` does for an unchanged serial)."""
    serial_keys: list[str] = []
    serial_norms: list[str] = []
    serial_ids: list[UUID] = []
    entries: dict[tuple[str, str, str], str] = {}
    model_keys: set[tuple[str, str]] = set()
    for row in rows:
        if (serial := row["serial_norm"]) and (keyed is None or row["id"] in keyed):
            keys = code_keys(serial)
            serial_keys += keys
            serial_norms += [serial] * len(keys)
            serial_ids += [row["id"]] * len(keys)
        for kind, norm_, brand, display in terms(row):
            entries.setdefault((kind, norm_, brand), display)
        if model := row["model_norm"]:
            model_keys.update((k, model) for k in code_keys(model))
    ordered = sorted(entries.items())
    keys_ordered = sorted(model_keys)
    await conn.execute(
        _ADD_MANY,
        {
            "org_id": org_id,
            "serial_keys": serial_keys,
            "serial_norms": serial_norms,
            "serial_ids": serial_ids,
            "kinds": [k[0] for k, _ in ordered],
            "norms": [k[1] for k, _ in ordered],
            "brands": [k[2] for k, _ in ordered],
            "displays": [d for _, d in ordered],
            "model_keys": [k for k, _ in keys_ordered],
            "model_norms": [m for _, m in keys_ordered],
        },
    )
