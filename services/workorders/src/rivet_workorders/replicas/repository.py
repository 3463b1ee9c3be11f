"""Replicas of equipment (from the assets service) and users (from auth): what is stored and
how it is read. The rules of replicating an asset (versions, counts, health) are in
``replicate``."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts import refs
from rivet_contracts.assets import EquipmentSnapshot, EquipmentView

from ..sums import add_rows
from ..tables import equipment, equipment_counts, users


@dataclass(frozen=True)
class EquipmentRecord:
    """What the replica keeps of an asset, from an event or from an assets reply."""

    id: UUID
    number: str
    name: str | None
    manufacturer: str
    model: str | None
    serial: str | None
    location: str | None
    criticality: str
    status: str
    version: int

    @classmethod
    def of_event(cls, data: EquipmentSnapshot) -> "EquipmentRecord":
        return cls(
            data.equipment_id,
            data.number,
            data.name,
            data.manufacturer,
            data.model,
            data.serial,
            data.location,
            data.criticality.value,
            data.status.value,
            data.version,
        )

    @classmethod
    def of_view(cls, view: EquipmentView) -> "EquipmentRecord":
        return cls(
            view.id,
            view.number,
            view.name,
            view.manufacturer,
            view.model,
            view.serial,
            view.location,
            view.criticality.value,
            view.status.value,
            view.version,
        )

    def columns(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "name": self.name,
            "manufacturer": self.manufacturer,
            "model": self.model,
            "serial": self.serial,
            "location": self.location,
            "criticality": self.criticality,
            "status": self.status,
            "version": self.version,
        }


_INSERT_EQUIPMENT = (
    insert(equipment)
    .on_conflict_do_nothing(index_elements=[equipment.c.id])
    .returning(equipment.c.id)
)
_LOCK_EQUIPMENT = (
    select(equipment).where(equipment.c.id == bindparam("id_")).with_for_update(key_share=True)
)


async def insert_equipment(
    conn: AsyncConnection, org_id: UUID, record: EquipmentRecord, now: datetime
) -> bool:
    """Insert the asset with a fresh score of 100; False if it was there already."""
    inserted = await conn.execute(
        _INSERT_EQUIPMENT,
        {"id": record.id, "org_id": org_id, "score": 100, "scored_at": now, **record.columns()},
    )
    return inserted.first() is not None


async def lock_equipment(conn: AsyncConnection, equipment_id: UUID) -> RowMapping:
    return (await conn.execute(_LOCK_EQUIPMENT, {"id_": equipment_id})).mappings().one()


async def update_equipment(conn: AsyncConnection, record: EquipmentRecord, now: datetime) -> None:
    await conn.execute(
        update(equipment)
        .where(equipment.c.id == record.id)
        .values(replicated_at=now, **record.columns())
    )


async def add_counts(
    conn: AsyncConnection, org_id: UUID, changes: dict[tuple[str, str], int]
) -> None:
    """Add to the asset counts per (manufacturer, status)."""
    rows = [
        {"org_id": org_id, "manufacturer": m, "status": s, "assets": n}
        for (m, s), n in sorted(changes.items())
    ]
    await add_rows(conn, equipment_counts, ("org_id", "manufacturer", "status"), rows)


_EQUIPMENT_BY_NUMBER = (
    select(equipment)
    .where(equipment.c.org_id == bindparam("org_id"), equipment.c.number == bindparam("ref"))
    .limit(1)
)
_EQUIPMENT_BY_ID = (
    select(equipment)
    .where(equipment.c.org_id == bindparam("org_id"), equipment.c.id == bindparam("ref"))
    .limit(1)
)


async def find_equipment(conn: AsyncConnection, org_id: UUID, ref: str) -> RowMapping | None:
    """A replicated asset of ``org_id`` by id or EQ-number (None if unknown or malformed)."""
    try:
        key = refs.parse_ref(ref, refs.EQUIPMENT_PREFIX)
    except ValueError:
        return None
    query = _EQUIPMENT_BY_ID if isinstance(key, UUID) else _EQUIPMENT_BY_NUMBER
    return (await conn.execute(query, {"org_id": org_id, "ref": key})).mappings().first()


async def replicate_user(
    conn: AsyncConnection,
    user_id: UUID,
    org_id: UUID,
    full_name: str,
    email: str,
    role: str,
    *,
    as_of: datetime | None = None,
    active: bool = True,
) -> None:
    """Insert or refresh a member; a row already changed by a later event keeps that."""
    values = {
        "org_id": org_id, "full_name": full_name, "email": email, "role": role,
        "active": active, "as_of": as_of,
    }  # fmt: skip
    query = insert(users).values(id=user_id, **values)
    newer = or_(users.c.as_of.is_(None), query.excluded.as_of.is_(None),
                users.c.as_of < query.excluded.as_of)  # fmt: skip
    await conn.execute(
        query.on_conflict_do_update(index_elements=[users.c.id], set_=values, where=newer)
    )


async def change_user(conn: AsyncConnection, user_id: UUID, as_of: datetime, **values: Any) -> None:
    """Apply a later change (role, active) unless the row holds a newer one."""
    await conn.execute(
        update(users)
        .where(users.c.id == user_id, or_(users.c.as_of.is_(None), users.c.as_of < as_of))
        .values(**values, as_of=as_of)
    )


async def find_user(conn: AsyncConnection, org_id: UUID, user_id: UUID) -> RowMapping | None:
    query = select(users).where(users.c.id == user_id, users.c.org_id == org_id)
    return (await conn.execute(query)).mappings().first()
