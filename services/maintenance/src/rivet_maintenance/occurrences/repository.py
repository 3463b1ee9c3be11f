"""Occurrences: what is stored and how it is read.

An occurrence is inserted under its key (``schedule.keys``) with the id ``key_uuid(key)``; a
second insert of the same key, from another scheduler replica or a retried pass, inserts nothing
and says so, which is what makes one work order per occurrence. Which occurrence is due, and
what its status becomes, is decided by the caller.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from ..schedule.keys import key_uuid
from ..tables import occurrences
from ..vocabulary import ACTIVE_OCCURRENCES, OccurrenceStatus


@dataclass(frozen=True)
class NewOccurrence:
    org_id: UUID
    plan_id: UUID
    key: str
    due_at: datetime | None = None
    opens_at: datetime | None = None
    deadline_at: datetime | None = None
    threshold: Decimal | None = None
    excursion: int | None = None
    status: OccurrenceStatus = OccurrenceStatus.OPENING


@dataclass(frozen=True)
class OccurrenceRecord:
    id: UUID
    org_id: UUID
    plan_id: UUID
    key: str
    due_at: datetime | None
    opens_at: datetime | None
    deadline_at: datetime | None
    threshold: Decimal | None
    excursion: int | None
    status: OccurrenceStatus
    work_order_id: UUID | None
    created_at: datetime
    opened_at: datetime | None
    completed_at: datetime | None
    completed_reading: Decimal | None

    @classmethod
    def of_row(cls, row: RowMapping) -> "OccurrenceRecord":
        return cls(
            id=row["id"],
            org_id=row["org_id"],
            plan_id=row["plan_id"],
            key=row["key"],
            due_at=row["due_at"],
            opens_at=row["opens_at"],
            deadline_at=row["deadline_at"],
            threshold=row["threshold"],
            excursion=row["excursion"],
            status=OccurrenceStatus(row["status"]),
            work_order_id=row["work_order_id"],
            created_at=row["created_at"],
            opened_at=row["opened_at"],
            completed_at=row["completed_at"],
            completed_reading=row["completed_reading"],
        )


def _one(row: RowMapping | None) -> OccurrenceRecord | None:
    return OccurrenceRecord.of_row(row) if row is not None else None


async def insert_occurrence(
    conn: AsyncConnection, new: NewOccurrence, at: datetime
) -> OccurrenceRecord | None:
    """Insert the occurrence; None when its key is stored already (it is someone else's)."""
    statement = (
        insert(occurrences)
        .values(
            id=key_uuid(new.key),
            org_id=new.org_id,
            plan_id=new.plan_id,
            key=new.key,
            due_at=new.due_at,
            opens_at=new.opens_at,
            deadline_at=new.deadline_at,
            threshold=new.threshold,
            excursion=new.excursion,
            status=new.status.value,
            created_at=at,
        )
        .on_conflict_do_nothing()
        .returning(*occurrences.c)
    )
    return _one((await conn.execute(statement)).mappings().one_or_none())


async def get_by_key(conn: AsyncConnection, key: str) -> OccurrenceRecord | None:
    query = select(occurrences).where(occurrences.c.key == key)
    return _one((await conn.execute(query)).mappings().one_or_none())


async def get_by_work_order(conn: AsyncConnection, work_order_id: UUID) -> OccurrenceRecord | None:
    """The occurrence a work order was opened for (its events name the order only)."""
    query = select(occurrences).where(occurrences.c.work_order_id == work_order_id)
    return _one((await conn.execute(query)).mappings().one_or_none())


async def store_opened(
    conn: AsyncConnection, occurrence_id: UUID, work_order_id: UUID, at: datetime
) -> None:
    """The occurrence's order is open."""
    await conn.execute(
        update(occurrences)
        .where(occurrences.c.id == occurrence_id)
        .values(
            status=OccurrenceStatus.OPEN.value,
            work_order_id=work_order_id,
            opened_at=at,
        )
    )


async def store_status(
    conn: AsyncConnection,
    occurrence_id: UUID,
    status: OccurrenceStatus,
    *,
    completed_at: datetime | None = None,
    completed_reading: Decimal | None = None,
) -> None:
    """Another status; a completion also records when and, for a meter plan, the counter."""
    await conn.execute(
        update(occurrences)
        .where(occurrences.c.id == occurrence_id)
        .values(
            status=status.value,
            completed_at=completed_at,
            completed_reading=completed_reading,
        )
    )


async def latest_of_plan(conn: AsyncConnection, plan_id: UUID) -> OccurrenceRecord | None:
    """The plan's newest occurrence (the one a floating plan's next is counted from)."""
    query = (
        select(occurrences)
        .where(occurrences.c.plan_id == plan_id)
        .order_by(occurrences.c.created_at.desc(), occurrences.c.id.desc())
        .limit(1)
    )
    return _one((await conn.execute(query)).mappings().one_or_none())


async def of_plan(
    conn: AsyncConnection, org_id: UUID, plan_id: UUID, *, limit: int = 50
) -> list[OccurrenceRecord]:
    """The plan's occurrences, newest first."""
    query = (
        select(occurrences)
        .where(occurrences.c.org_id == org_id, occurrences.c.plan_id == plan_id)
        .order_by(occurrences.c.created_at.desc(), occurrences.c.id.desc())
        .limit(limit)
    )
    return [OccurrenceRecord.of_row(row) for row in (await conn.execute(query)).mappings()]


async def active_due_before(
    conn: AsyncConnection, org_id: UUID, at: datetime, *, limit: int = 200
) -> list[OccurrenceRecord]:
    """Occurrences whose order is being opened or open and whose due instant is before ``at``,
    the earliest first: what the overdue list is made from."""
    query = (
        select(occurrences)
        .where(
            occurrences.c.org_id == org_id,
            occurrences.c.status.in_([status.value for status in ACTIVE_OCCURRENCES]),
            occurrences.c.due_at < at,
        )
        .order_by(occurrences.c.due_at, occurrences.c.key)
        .limit(limit)
    )
    return [OccurrenceRecord.of_row(row) for row in (await conn.execute(query)).mappings()]


async def due_between(
    conn: AsyncConnection, org_id: UUID, start: datetime, end: datetime
) -> list[OccurrenceRecord]:
    """Occurrences due in ``[start, end)`` whatever their status: what PM compliance counts."""
    query = (
        select(occurrences)
        .where(
            occurrences.c.org_id == org_id,
            occurrences.c.due_at >= start,
            occurrences.c.due_at < end,
        )
        .order_by(occurrences.c.due_at, occurrences.c.key)
    )
    return [OccurrenceRecord.of_row(row) for row in (await conn.execute(query)).mappings()]
