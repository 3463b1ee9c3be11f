"""Occurrences: what is stored and how it is read.

An occurrence is inserted under its key (``schedule.keys``) with the id ``key_uuid(key)``; a
second insert of the same key, from another scheduler replica or a retried pass, inserts nothing
and says so, which is what makes one work order per occurrence. Which occurrence is due, and
what its status becomes, is decided by the caller.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import exists, func, or_, select, update
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
    request: dict[str, Any] | None = None
    """The work-order request (its JSON), sent unchanged until the order is open."""


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
    request: dict[str, Any] | None = None
    work_order_number: str | None = None
    on_time: bool | None = None
    attempts: int = 0
    lease_until: datetime | None = None
    last_error: str | None = None

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
            request=row["request"],
            work_order_number=row["work_order_number"],
            on_time=row["on_time"],
            attempts=row["attempts"],
            lease_until=row["lease_until"],
            last_error=row["last_error"],
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
            request=new.request,
            created_at=at,
        )
        .on_conflict_do_nothing()
        .returning(*occurrences.c)
    )
    return _one((await conn.execute(statement)).mappings().one_or_none())


async def insert_occurrences(
    conn: AsyncConnection, batch: list[NewOccurrence], at: datetime
) -> dict[str, OccurrenceRecord]:
    """Insert ``batch`` in one statement; the ones inserted, by key (a key stored already
    inserts nothing and is absent)."""
    if not batch:
        return {}
    rows = [
        {
            "id": key_uuid(new.key),
            "org_id": new.org_id,
            "plan_id": new.plan_id,
            "key": new.key,
            "due_at": new.due_at,
            "opens_at": new.opens_at,
            "deadline_at": new.deadline_at,
            "threshold": new.threshold,
            "excursion": new.excursion,
            "status": new.status.value,
            "request": new.request,
            "created_at": at,
        }
        for new in batch
    ]
    result = await conn.execute(_INSERT_MANY, rows if len(rows) > 1 else rows[0])
    found = [OccurrenceRecord.of_row(row) for row in result.mappings()]
    return {occurrence.key: occurrence for occurrence in found}


_INSERT_MANY = insert(occurrences).on_conflict_do_nothing().returning(*occurrences.c)
"""Executed with a list of rows (built once: a multi-row ``values`` is compiled every time)."""


async def plans_with_active(conn: AsyncConnection, plan_ids: list[UUID]) -> set[UUID]:
    """Which of these plans have an occurrence being opened or open (``has_active`` for
    several plans)."""
    if not plan_ids:
        return set()
    query = (
        select(occurrences.c.plan_id)
        .where(
            occurrences.c.plan_id.in_(plan_ids),
            occurrences.c.status.in_([status.value for status in ACTIVE_OCCURRENCES]),
        )
        .distinct()
    )
    return {row[0] for row in await conn.execute(query)}


async def get_by_key(conn: AsyncConnection, key: str) -> OccurrenceRecord | None:
    query = select(occurrences).where(occurrences.c.key == key)
    return _one((await conn.execute(query)).mappings().one_or_none())


async def get_by_work_order(conn: AsyncConnection, work_order_id: UUID) -> OccurrenceRecord | None:
    """The occurrence a work order was opened for (its events name the order only)."""
    query = select(occurrences).where(occurrences.c.work_order_id == work_order_id)
    return _one((await conn.execute(query)).mappings().one_or_none())


async def store_opened(
    conn: AsyncConnection,
    occurrence_id: UUID,
    work_order_id: UUID,
    at: datetime,
    number: str | None = None,
) -> bool:
    """The occurrence's order is open; False when it was not being opened any more (another
    replica stored the same order first)."""
    result = await conn.execute(
        update(occurrences)
        .where(
            occurrences.c.id == occurrence_id,
            occurrences.c.status == OccurrenceStatus.OPENING.value,
        )
        .values(
            status=OccurrenceStatus.OPEN.value,
            work_order_id=work_order_id,
            work_order_number=number,
            opened_at=at,
            lease_until=None,
            last_error=None,
        )
    )
    return bool(result.rowcount)


async def claim_opening(
    conn: AsyncConnection, lease_seconds: float, limit: int
) -> list[OccurrenceRecord]:
    """Occurrences whose order is to be opened and that no one holds, oldest first, each held
    for ``lease_seconds`` (by the database's clock) and counted as an attempt; other replicas
    skip the rows while this transaction runs and the held ones until the lease ends."""
    free = or_(occurrences.c.lease_until.is_(None), occurrences.c.lease_until <= func.now())
    pending = (
        select(occurrences.c.id)
        .where(occurrences.c.status == OccurrenceStatus.OPENING.value, free)
        .order_by(occurrences.c.created_at, occurrences.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(occurrences)
        .where(occurrences.c.id.in_(pending))
        .values(
            lease_until=func.now() + timedelta(seconds=lease_seconds),
            attempts=occurrences.c.attempts + 1,
        )
        .returning(*occurrences.c)
    )
    found = [OccurrenceRecord.of_row(row) for row in (await conn.execute(statement)).mappings()]
    return sorted(found, key=lambda o: (o.created_at, str(o.id)))


async def store_failure(
    conn: AsyncConnection, occurrence_id: UUID, error: str, retry_seconds: float
) -> None:
    """The request for its order failed: keep why, and try again in ``retry_seconds``."""
    await conn.execute(
        update(occurrences)
        .where(
            occurrences.c.id == occurrence_id,
            occurrences.c.status == OccurrenceStatus.OPENING.value,
        )
        .values(
            last_error=error[:1000],
            lease_until=func.now() + timedelta(seconds=retry_seconds),
        )
    )


async def store_request(
    conn: AsyncConnection, occurrence_id: UUID, request: dict[str, Any], error: str
) -> None:
    """Send ``request`` from now on (the one stored can no longer be accepted), at once."""
    await conn.execute(
        update(occurrences)
        .where(
            occurrences.c.id == occurrence_id,
            occurrences.c.status == OccurrenceStatus.OPENING.value,
        )
        .values(request=request, last_error=error[:1000], lease_until=None)
    )


async def store_status(
    conn: AsyncConnection,
    occurrence_id: UUID,
    status: OccurrenceStatus,
    *,
    completed_at: datetime | None = None,
    completed_reading: Decimal | None = None,
    on_time: bool | None = None,
) -> None:
    """Another status; a completion also records when, for a meter plan the counter, and
    whether it was on time."""
    await conn.execute(
        update(occurrences)
        .where(occurrences.c.id == occurrence_id)
        .values(
            status=status.value,
            completed_at=completed_at,
            completed_reading=completed_reading,
            on_time=on_time,
            lease_until=None,
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


async def latest_of_plans(
    conn: AsyncConnection, plan_ids: list[UUID]
) -> dict[UUID, OccurrenceRecord]:
    """Each plan's newest occurrence (as ``latest_of_plan``), for several plans at once."""
    if not plan_ids:
        return {}
    query = (
        select(occurrences)
        .where(occurrences.c.plan_id.in_(plan_ids))
        .distinct(occurrences.c.plan_id)
        .order_by(occurrences.c.plan_id, occurrences.c.created_at.desc(), occurrences.c.id.desc())
    )
    found = [OccurrenceRecord.of_row(row) for row in (await conn.execute(query)).mappings()]
    return {occurrence.plan_id: occurrence for occurrence in found}


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


async def get_for_update(conn: AsyncConnection, occurrence_id: UUID) -> OccurrenceRecord | None:
    query = select(occurrences).where(occurrences.c.id == occurrence_id).with_for_update()
    return _one((await conn.execute(query)).mappings().one_or_none())


async def lock_by_work_order(conn: AsyncConnection, work_order_id: UUID) -> OccurrenceRecord | None:
    """The occurrence a work order was opened for, its row held (FOR UPDATE)."""
    query = (
        select(occurrences).where(occurrences.c.work_order_id == work_order_id).with_for_update()
    )
    return _one((await conn.execute(query)).mappings().one_or_none())


async def has_active(conn: AsyncConnection, plan_id: UUID) -> bool:
    """Whether an occurrence of the plan is being opened or open."""
    query = select(
        exists().where(
            occurrences.c.plan_id == plan_id,
            occurrences.c.status.in_([status.value for status in ACTIVE_OCCURRENCES]),
        )
    )
    return bool(await conn.scalar(query))


async def active_of_plans(conn: AsyncConnection, plan_ids: list[UUID]) -> list[OccurrenceRecord]:
    """The occurrences of these plans that are being opened or open, by due time."""
    if not plan_ids:
        return []
    query = (
        select(occurrences)
        .where(
            occurrences.c.plan_id.in_(plan_ids),
            occurrences.c.status.in_([status.value for status in ACTIVE_OCCURRENCES]),
        )
        .order_by(occurrences.c.due_at, occurrences.c.key)
    )
    return [OccurrenceRecord.of_row(row) for row in (await conn.execute(query)).mappings()]
