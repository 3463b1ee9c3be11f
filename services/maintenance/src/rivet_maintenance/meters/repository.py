"""Meters and readings: what is stored and how it is read.

Whether a reading is accepted (a counter never goes back) and what it starts (an excursion) is
decided by ``schedule.meters`` and ``schedule.conditions`` before anything is stored here; the
meter row keeps the newest reading and the excursion state those rules work from.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import DateTime, any_, bindparam, func, insert, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from ..schedule.conditions import ConditionState, Limits, Side
from ..tables import meters, readings
from ..vocabulary import MeterKind


@dataclass(frozen=True)
class NewMeter:
    id: UUID
    org_id: UUID
    equipment_id: UUID
    name: str
    kind: MeterKind
    unit: str
    low_limit: Decimal | None = None
    high_limit: Decimal | None = None
    deadband: Decimal = Decimal(0)


@dataclass(frozen=True)
class MeterRecord:
    id: UUID
    org_id: UUID
    equipment_id: UUID
    name: str
    kind: MeterKind
    unit: str
    low_limit: Decimal | None
    high_limit: Decimal | None
    deadband: Decimal
    last_value: Decimal | None
    last_read_at: datetime | None
    condition: ConditionState
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of_row(cls, row: RowMapping) -> "MeterRecord":
        side = row["excursion_side"]
        return cls(
            id=row["id"],
            org_id=row["org_id"],
            equipment_id=row["equipment_id"],
            name=row["name"],
            kind=MeterKind(row["kind"]),
            unit=row["unit"],
            low_limit=row["low_limit"],
            high_limit=row["high_limit"],
            deadband=row["deadband"],
            last_value=row["last_value"],
            last_read_at=row["last_read_at"],
            condition=ConditionState(
                side=Side(side) if side is not None else None,
                since=row["excursion_since"],
                excursions=row["excursions"],
                last_at=row["last_read_at"],
            ),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    @property
    def limits(self) -> Limits | None:
        """The gauge's limits for ``schedule.conditions``; None for a meter without any."""
        if self.low_limit is None and self.high_limit is None:
            return None
        return Limits(self.low_limit, self.high_limit, self.deadband)


@dataclass(frozen=True)
class NewReading:
    meter_id: UUID
    org_id: UUID
    value: Decimal
    read_at: datetime
    source: str
    author_id: UUID | None = None


@dataclass(frozen=True)
class ReadingRecord:
    id: int
    meter_id: UUID
    value: Decimal
    read_at: datetime
    source: str
    author_id: UUID | None
    recorded_at: datetime

    @classmethod
    def of_row(cls, row: RowMapping) -> "ReadingRecord":
        return cls(
            row["id"],
            row["meter_id"],
            row["value"],
            row["read_at"],
            row["source"],
            row["author_id"],
            row["recorded_at"],
        )


async def insert_meter(conn: AsyncConnection, meter: NewMeter) -> MeterRecord:
    statement = (
        insert(meters)
        .values(
            id=meter.id,
            org_id=meter.org_id,
            equipment_id=meter.equipment_id,
            name=meter.name,
            kind=meter.kind.value,
            unit=meter.unit,
            low_limit=meter.low_limit,
            high_limit=meter.high_limit,
            deadband=meter.deadband,
        )
        .returning(*meters.c)
    )
    return MeterRecord.of_row((await conn.execute(statement)).mappings().one())


async def get_meter(
    conn: AsyncConnection, org_id: UUID, meter_id: UUID, *, lock: bool = False
) -> MeterRecord | None:
    """The organization's meter; ``lock`` holds its row (FOR UPDATE) so that readings of one
    meter are applied one after the other."""
    query = select(meters).where(meters.c.org_id == org_id, meters.c.id == meter_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().one_or_none()
    return MeterRecord.of_row(row) if row is not None else None


async def meters_of_equipment(
    conn: AsyncConnection, org_id: UUID, equipment_id: UUID
) -> list[MeterRecord]:
    query = (
        select(meters)
        .where(meters.c.org_id == org_id, meters.c.equipment_id == equipment_id)
        .order_by(meters.c.created_at, meters.c.id)
    )
    return [MeterRecord.of_row(row) for row in (await conn.execute(query)).mappings()]


async def store_latest(
    conn: AsyncConnection,
    meter_id: UUID,
    value: Decimal,
    read_at: datetime,
    condition: ConditionState | None = None,
) -> None:
    """Keep ``value`` as the meter's newest reading, and for a gauge the excursion state after
    it."""
    changes: dict[str, object] = {"last_value": value, "last_read_at": read_at}
    if condition is not None:
        changes |= {
            "excursion_side": condition.side.value if condition.side is not None else None,
            "excursion_since": condition.since,
            "excursions": condition.excursions,
        }
    await conn.execute(update(meters).where(meters.c.id == meter_id).values(**changes))


async def lock_meters(conn: AsyncConnection, meter_ids: Sequence[UUID]) -> list[MeterRecord]:
    """The meters with these ids (of any organization: the caller checks), their rows held
    (FOR UPDATE) in id order, so that two transactions locking several meters never wait on
    each other crosswise."""
    query = _LOCK_METERS
    rows = (await conn.execute(query, {"ids": list(meter_ids)})).mappings()
    return [MeterRecord.of_row(row) for row in rows]


_LOCK_METERS = (
    select(meters)
    .where(meters.c.id == any_(bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True)))))
    .order_by(meters.c.id)
    .with_for_update()
)
_STORE_LATEST = (
    update(meters)
    .where(meters.c.id == bindparam("meter_id"))
    .values(
        last_value=bindparam("last_value"),
        last_read_at=bindparam("last_read_at"),
        excursion_side=bindparam("excursion_side"),
        excursion_since=bindparam("excursion_since"),
        excursions=bindparam("excursions"),
    )
)


async def store_latest_many(conn: AsyncConnection, latest: Sequence[MeterRecord]) -> None:
    """Keep each meter's newest reading and excursion state as ``latest`` has them, in one
    statement (a batch of machines' readings touches hundreds of meters)."""
    if not latest:
        return
    if len(latest) == 1:
        (meter,) = latest
        await conn.execute(_STORE_LATEST, _latest_params(meter))
        return
    await conn.execute(
        _STORE_LATEST_MANY,
        {
            "ids": [meter.id for meter in latest],
            "values": [meter.last_value for meter in latest],
            "read_ats": [meter.last_read_at for meter in latest],
            "sides": [_side(meter) for meter in latest],
            "sinces": [meter.condition.since for meter in latest],
            "excursions": [meter.condition.excursions for meter in latest],
        },
    )


def _side(meter: MeterRecord) -> str | None:
    return meter.condition.side.value if meter.condition.side is not None else None


def _latest_params(meter: MeterRecord) -> dict[str, Any]:
    return {
        "meter_id": meter.id,
        "last_value": meter.last_value,
        "last_read_at": meter.last_read_at,
        "excursion_side": _side(meter),
        "excursion_since": meter.condition.since,
        "excursions": meter.condition.excursions,
    }


_STORE_LATEST_MANY = text(
    "UPDATE meters SET last_value = u.last_value, last_read_at = u.last_read_at, "
    "excursion_side = u.side, excursion_since = u.since, excursions = u.excursions "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:values AS numeric[]), "
    "CAST(:read_ats AS timestamptz[]), CAST(:sides AS text[]), "
    "CAST(:sinces AS timestamptz[]), CAST(:excursions AS integer[])) "
    "AS u(id, last_value, last_read_at, side, since, excursions) WHERE meters.id = u.id"
)
# The batch's readings in one statement, stored (and so numbered) in the batch's order.
_ADD_READINGS = text(
    "INSERT INTO readings (meter_id, org_id, value, read_at, source, author_id) "
    "SELECT u.meter_id, u.org_id, u.value, u.read_at, u.source, u.author_id FROM unnest("
    "CAST(:meter_ids AS uuid[]), CAST(:org_ids AS uuid[]), CAST(:values AS numeric[]), "
    "CAST(:read_ats AS timestamptz[]), CAST(:sources AS text[]), CAST(:authors AS uuid[])) "
    "WITH ORDINALITY AS u(meter_id, org_id, value, read_at, source, author_id, n) "
    "ORDER BY u.n "
    "RETURNING id, meter_id, value, read_at, source, author_id, recorded_at"
)


async def add_readings(conn: AsyncConnection, batch: Sequence[NewReading]) -> list[ReadingRecord]:
    """Insert ``batch`` in one statement; the stored readings in the same order."""
    if not batch:
        return []
    result = await conn.execute(
        _ADD_READINGS,
        {
            "meter_ids": [r.meter_id for r in batch],
            "org_ids": [r.org_id for r in batch],
            "values": [r.value for r in batch],
            "read_ats": [r.read_at for r in batch],
            "sources": [r.source for r in batch],
            "authors": [r.author_id for r in batch],
        },
    )
    # ids are drawn in insertion order, which is the batch's (ORDER BY the ordinality)
    return sorted((ReadingRecord.of_row(row) for row in result.mappings()), key=_by_id)


def _by_id(reading: ReadingRecord) -> int:
    return reading.id


async def add_reading(conn: AsyncConnection, reading: NewReading) -> ReadingRecord:
    statement = (
        insert(readings)
        .values(
            meter_id=reading.meter_id,
            org_id=reading.org_id,
            value=reading.value,
            read_at=reading.read_at,
            source=reading.source,
            author_id=reading.author_id,
        )
        .returning(*readings.c)
    )
    return ReadingRecord.of_row((await conn.execute(statement)).mappings().one())


async def list_readings(
    conn: AsyncConnection,
    org_id: UUID,
    meter_id: UUID,
    *,
    before: datetime | None = None,
    limit: int = 100,
) -> list[ReadingRecord]:
    """The meter's readings, newest first (by when they were read), before ``before``."""
    query = select(readings).where(readings.c.org_id == org_id, readings.c.meter_id == meter_id)
    if before is not None:
        query = query.where(readings.c.read_at < before)
    query = query.order_by(readings.c.read_at.desc(), readings.c.id.desc()).limit(limit)
    return [ReadingRecord.of_row(row) for row in (await conn.execute(query)).mappings()]


async def reading_at(conn: AsyncConnection, meter_id: UUID, at: datetime) -> ReadingRecord | None:
    """The newest reading taken at or before ``at`` (the counter at a completion)."""
    query = (
        select(readings)
        .where(readings.c.meter_id == meter_id, readings.c.read_at <= at)
        .order_by(readings.c.read_at.desc(), readings.c.id.desc())
        .limit(1)
    )
    row = (await conn.execute(query)).mappings().one_or_none()
    return ReadingRecord.of_row(row) if row is not None else None


METER_COLUMNS = frozenset({"name", "unit", "low_limit", "high_limit", "deadband"})
"""The columns ``update_meter`` writes."""


async def update_meter(
    conn: AsyncConnection, meter_id: UUID, changes: Mapping[str, Any], at: datetime
) -> MeterRecord:
    unknown = set(changes) - METER_COLUMNS
    if unknown:
        raise ValueError(f"not a meter column: {sorted(unknown)}")
    statement = (
        update(meters)
        .where(meters.c.id == meter_id)
        .values(**changes, updated_at=at)
        .returning(*meters.c)
    )
    return MeterRecord.of_row((await conn.execute(statement)).mappings().one())


async def list_meters(
    conn: AsyncConnection,
    org_id: UUID,
    *,
    equipment_id: UUID | None = None,
    after: tuple[datetime, UUID] | None = None,
    limit: int = 100,
) -> list[MeterRecord]:
    """The organization's meters, oldest first; ``after`` is the (created_at, id) of the last
    meter of the previous page."""
    query = select(meters).where(meters.c.org_id == org_id)
    if equipment_id is not None:
        query = query.where(meters.c.equipment_id == equipment_id)
    if after is not None:
        query = query.where(tuple_(meters.c.created_at, meters.c.id) > tuple_(*after))
    query = query.order_by(meters.c.created_at, meters.c.id).limit(limit)
    return [MeterRecord.of_row(row) for row in (await conn.execute(query)).mappings()]


async def meters_by_id(conn: AsyncConnection, meter_ids: list[UUID]) -> dict[UUID, MeterRecord]:
    if not meter_ids:
        return {}
    query = select(meters).where(meters.c.id.in_(meter_ids))
    return {row["id"]: MeterRecord.of_row(row) for row in (await conn.execute(query)).mappings()}


async def earliest_since(
    conn: AsyncConnection, meter_id: UUID, since: datetime
) -> ReadingRecord | None:
    """The oldest reading taken at or after ``since`` (where the recent use is measured from)."""
    query = (
        select(readings)
        .where(readings.c.meter_id == meter_id, readings.c.read_at >= since)
        .order_by(readings.c.read_at, readings.c.id)
        .limit(1)
    )
    row = (await conn.execute(query)).mappings().one_or_none()
    return ReadingRecord.of_row(row) if row is not None else None


async def earliest_since_many(
    conn: AsyncConnection, meters_: Sequence[MeterRecord], window: timedelta
) -> dict[UUID, ReadingRecord]:
    """For each meter with a reading, its oldest reading taken at or after ``window`` before
    its newest one (``earliest_since`` for several meters at once)."""
    since = {m.id: m.last_read_at - window for m in meters_ if m.last_read_at is not None}
    if not since:
        return {}
    bounds = (
        select(
            func.unnest(bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True)))).label("meter_id"),
            func.unnest(bindparam("since", type_=ARRAY(DateTime(timezone=True)))).label("since"),
        )
    ).subquery()
    query = (
        select(readings)
        .join(bounds, bounds.c.meter_id == readings.c.meter_id)
        .where(readings.c.read_at >= bounds.c.since)
        .distinct(readings.c.meter_id)
        .order_by(readings.c.meter_id, readings.c.read_at, readings.c.id)
    )
    rows = await conn.execute(query, {"ids": list(since), "since": list(since.values())})
    found = [ReadingRecord.of_row(row) for row in rows.mappings()]
    return {reading.meter_id: reading for reading in found}
