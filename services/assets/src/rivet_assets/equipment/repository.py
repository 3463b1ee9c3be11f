"""Queries on equipment, its numbers and its history."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Select, and_, bindparam, case, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts.assets import SortKey

from ..tables import equipment, equipment_attachments, equipment_history, equipment_numbers

_CRITICALITY_RANK = case(
    {"critical": 4, "high": 3, "medium": 2}, value=equipment.c.criticality, else_=1
)
_SORTS: dict[SortKey, Sequence[Any]] = {
    SortKey.NUMBER: (equipment.c.number,),
    SortKey.NUMBER_DESC: (equipment.c.number.desc(),),
    SortKey.CREATED: (equipment.c.created_at, equipment.c.id),
    SortKey.CREATED_DESC: (equipment.c.created_at.desc(), equipment.c.id),
    SortKey.UPDATED_DESC: (equipment.c.updated_at.desc(), equipment.c.id),
    SortKey.MANUFACTURER: (
        equipment.c.manufacturer_key,
        equipment.c.model_norm,
        equipment.c.number,
    ),
    SortKey.CRITICALITY_DESC: (_CRITICALITY_RANK.desc(), equipment.c.number),
    SortKey.LOCATION: (equipment.c.location, equipment.c.number),
}


async def lock_key(conn: AsyncConnection, *parts: object) -> None:
    """Serialize create-or-match calls about the same serial (or make and model) in one
    organization until the transaction ends: two simultaneous creates then see each other."""
    key = "|".join(str(p) for p in parts)
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key})


async def next_number(conn: AsyncConnection, org_id: UUID, year: int) -> int:
    """The next equipment number of the year, never reused (the row lock orders concurrent
    creates of one organization)."""
    query = (
        pg_insert(equipment_numbers)
        .values(org_id=org_id, year=year, last=1)
        .on_conflict_do_update(
            index_elements=["org_id", "year"], set_={"last": equipment_numbers.c.last + 1}
        )
        .returning(equipment_numbers.c.last)
    )
    value: int = (await conn.execute(query)).scalar_one()
    return value


async def number_at_least(conn: AsyncConnection, org_id: UUID, year: int, sequence: int) -> None:
    """Move the year's counter to ``sequence`` unless it is past it already (a number kept by
    an import): the next ``next_number`` is above every number in use."""
    query = (
        pg_insert(equipment_numbers)
        .values(org_id=org_id, year=year, last=sequence)
        .on_conflict_do_update(
            index_elements=["org_id", "year"],
            set_={"last": func.greatest(equipment_numbers.c.last, sequence)},
        )
    )
    await conn.execute(query)


async def insert_equipment(conn: AsyncConnection, values: dict[str, Any]) -> RowMapping:
    query = insert(equipment).values(**values).returning(*equipment.c)
    return (await conn.execute(query)).mappings().one()


# The lookups of every read and create are built once: building a statement per call and
# computing its cache key cost as much CPU as running it (bench/gateway, docs/performance.md).
_BY_KEY = {
    name: select(equipment).where(
        equipment.c.org_id == bindparam("org_id"), equipment.c[name] == bindparam("key")
    )
    for name in ("id", "number", "serial_norm")
}


async def _by(conn: AsyncConnection, column: str, org_id: UUID, key: object) -> RowMapping | None:
    params = {"org_id": org_id, "key": key}
    return (await conn.execute(_BY_KEY[column], params)).mappings().first()


async def by_id(conn: AsyncConnection, org_id: UUID, equipment_id: UUID) -> RowMapping | None:
    return await _by(conn, "id", org_id, equipment_id)


async def by_number(conn: AsyncConnection, org_id: UUID, number: str) -> RowMapping | None:
    return await _by(conn, "number", org_id, number)


async def by_serial(conn: AsyncConnection, org_id: UUID, serial_norm: str) -> RowMapping | None:
    return await _by(conn, "serial_norm", org_id, serial_norm)


async def same_brand(
    conn: AsyncConnection, org_id: UUID, manufacturer_key: str, model_norm: str, limit: int = 50
) -> list[RowMapping]:
    """Assets of the same make whose model looks alike, most alike first (trigram distance on
    the normalized model; the caller scores them precisely)."""
    query = (
        select(equipment)
        .where(
            equipment.c.org_id == org_id,
            equipment.c.manufacturer_key == manufacturer_key,
            equipment.c.model_norm.is_not(None),
        )
        .order_by(func.similarity(equipment.c.model_norm, model_norm).desc(), equipment.c.number)
        .limit(limit)
    )
    return list((await conn.execute(query)).mappings().all())


async def update_equipment(
    conn: AsyncConnection, org_id: UUID, equipment_id: UUID, version: int, values: dict[str, Any]
) -> RowMapping | None:
    """Apply ``values`` if the row is still at ``version``; None when someone changed it."""
    query = (
        update(equipment)
        .where(
            equipment.c.org_id == org_id,
            equipment.c.id == equipment_id,
            equipment.c.version == version,
        )
        .values(**values, version=equipment.c.version + 1, updated_at=func.now())
        .returning(*equipment.c)
    )
    return (await conn.execute(query)).mappings().first()


async def ancestor_ids(conn: AsyncConnection, equipment_id: UUID) -> list[UUID]:
    """The asset's chain of parents, nearest first (bounded, in case of bad data)."""
    query = text(
        "WITH RECURSIVE up(id, parent_id, depth) AS ("
        " SELECT id, parent_id, 0 FROM equipment WHERE id = :id"
        " UNION ALL SELECT e.id, e.parent_id, up.depth + 1 FROM equipment e"
        " JOIN up ON e.id = up.parent_id WHERE up.depth < 64)"
        " SELECT id FROM up WHERE depth > 0 ORDER BY depth"
    )
    return [row[0] for row in (await conn.execute(query, {"id": equipment_id})).all()]


def _filtered(org_id: UUID, filters: dict[str, Any]) -> Any:
    conditions = [equipment.c.org_id == org_id]
    if filters.get("manufacturer_key"):
        conditions.append(equipment.c.manufacturer_key == filters["manufacturer_key"])
    for name in ("equipment_type", "criticality", "status", "parent_id"):
        if filters.get(name) is not None:
            conditions.append(equipment.c[name] == filters[name])
    if filters.get("location"):
        prefix = filters["location"].replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
        conditions.append(equipment.c.location.like(prefix + "%", escape="\\"))
    return and_(*conditions)


async def page(
    conn: AsyncConnection,
    org_id: UUID,
    filters: dict[str, Any],
    sort: SortKey,
    limit: int,
    offset: int,
) -> tuple[list[RowMapping], int]:
    where = _filtered(org_id, filters)
    query: Select[Any] = (
        select(equipment).where(where).order_by(*_SORTS[sort]).limit(limit).offset(offset)
    )
    rows = list((await conn.execute(query)).mappings().all())
    total: int = (
        await conn.execute(select(func.count()).select_from(equipment).where(where))
    ).scalar_one()
    return rows, total


async def export_part(
    conn: AsyncConnection, org_id: UUID, filters: dict[str, Any], after: str | None, limit: int
) -> list[RowMapping]:
    """Assets in number order after ``after``, each with its parent's number."""
    parent = equipment.alias("parent")
    where = _filtered(org_id, filters)
    if after is not None:
        where = and_(where, equipment.c.number > after)
    query = (
        select(equipment, parent.c.number.label("parent_number"))
        .select_from(equipment.outerjoin(parent, parent.c.id == equipment.c.parent_id))
        .where(where)
        .order_by(equipment.c.number)
        .limit(limit)
    )
    return list((await conn.execute(query)).mappings().all())


async def add_history(
    conn: AsyncConnection,
    *,
    equipment_id: UUID,
    org_id: UUID,
    actor_id: UUID | None,
    channel: str | None,
    action: str,
    changes: dict[str, Any],
    reason: str | None = None,
) -> None:
    await conn.execute(
        insert(equipment_history).values(
            equipment_id=equipment_id,
            org_id=org_id,
            actor_id=actor_id,
            channel=channel,
            action=action,
            changes=changes,
            reason=reason,
        )
    )


async def history(
    conn: AsyncConnection, org_id: UUID, equipment_id: UUID, limit: int
) -> list[RowMapping]:
    query = (
        select(
            equipment_history.c.at,
            equipment_history.c.actor_id,
            equipment_history.c.channel,
            equipment_history.c.action,
            equipment_history.c.changes,
            equipment_history.c.reason,
        )
        .where(
            equipment_history.c.org_id == org_id, equipment_history.c.equipment_id == equipment_id
        )
        .order_by(equipment_history.c.id.desc())
        .limit(limit)
    )
    return list((await conn.execute(query)).mappings().all())


# --- attachments (the attachments service's events, as this service keeps them) -------------


async def lock_equipment(
    conn: AsyncConnection, org_id: UUID, equipment_id: UUID
) -> RowMapping | None:
    """An asset of the organization, locked until the transaction ends (its count and picture
    change one event at a time)."""
    query = (
        select(equipment)
        .where(equipment.c.org_id == org_id, equipment.c.id == equipment_id)
        .with_for_update()
    )
    return (await conn.execute(query)).mappings().first()


async def set_attachments(
    conn: AsyncConnection, equipment_id: UUID, count: int, picture: dict[str, Any] | None
) -> RowMapping:
    """The asset's attachment count and picture. Not an edit: its version stays."""
    query = (
        update(equipment)
        .where(equipment.c.id == equipment_id)
        .values(attachment_count=count, picture=picture)
        .returning(*equipment.c)
    )
    return (await conn.execute(query)).mappings().one()


async def attachment(conn: AsyncConnection, org_id: UUID, attachment_id: UUID) -> RowMapping | None:
    """What this service knows of an attachment of the organization (removed ones too)."""
    query = select(equipment_attachments).where(
        equipment_attachments.c.org_id == org_id, equipment_attachments.c.id == attachment_id
    )
    return (await conn.execute(query)).mappings().first()


async def insert_attachment(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(equipment_attachments).values(**values))


async def mark_attachment_removed(conn: AsyncConnection, attachment_id: UUID, at: Any) -> None:
    await conn.execute(
        update(equipment_attachments)
        .where(equipment_attachments.c.id == attachment_id)
        .values(removed_at=at)
    )


async def newest_image(conn: AsyncConnection, equipment_id: UUID) -> RowMapping | None:
    """The asset's most recently added image still attached."""
    a = equipment_attachments.c
    query = (
        select(equipment_attachments)
        .where(a.equipment_id == equipment_id, a.removed_at.is_(None), a.kind == "image")
        .order_by(a.added_at.desc().nulls_last(), a.id.desc())
        .limit(1)
    )
    return (await conn.execute(query)).mappings().first()
