"""Reads behind the stats endpoints. Each touches rollup rows or a partial index, never a scan
of the organization's work orders: the cost does not grow with history (docs/workorders.md)."""

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    bindparam,
    cast,
    func,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import UUID as UUID_TYPE
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from ..orders import repository as orders
from ..tables import (
    COMPLETED_ORDERS,
    OPEN_ORDERS,
    OPEN_STATUS_SQL,
    equipment,
    wo_daily,
    work_orders,
)

_EQUIPMENT_COUNTS = text(
    "SELECT manufacturer, status, assets FROM equipment_counts WHERE org_id = :org"
)
_WO_COUNTS = text(
    "SELECT status, priority, orders, estimated_minutes, unestimated FROM wo_counts "
    "WHERE org_id = :org"
)
_OVERDUE_BEFORE_TODAY = text(
    "SELECT coalesce(sum(orders), 0) FROM wo_due WHERE org_id = :org AND due_day < :today"
)
_OVERDUE_TODAY = text(
    "SELECT count(*) FROM work_orders WHERE org_id = :org "  # noqa: S608 - literals of the enum
    f"AND status IN ({OPEN_STATUS_SQL}) AND due_at >= :midnight AND due_at < :now"
)
_TOP_FAULTS = text(
    "SELECT code, orders FROM fault_codes WHERE org_id = :org AND orders > 0 "
    "ORDER BY orders DESC, code LIMIT :limit"
)
_ORG_HEALTH = text("SELECT assets, score_sum, good, fair, poor FROM org_health WHERE org_id = :org")
_BACKLOG_BEFORE = text(
    "SELECT coalesce(sum(created + reopened - completed - cancelled), 0) FROM wo_daily "
    "WHERE org_id = :org AND day < :since"
)
_DAYS = text(
    "SELECT day, created, completed, cancelled, reopened FROM wo_daily "
    "WHERE org_id = :org AND day >= :since AND day <= :until ORDER BY day"
)
WINDOW_SUMS = (
    "reactive",
    "planned",
    "acknowledged",
    "ack_seconds",
    "repaired",
    "repair_seconds",
    "downtime_seconds",
)
_ASSETS_IN_SERVICE = text(
    "SELECT coalesce(sum(assets), 0) FROM equipment_counts "
    "WHERE org_id = :org AND status <> 'retired'"
)

HEALTH_COLUMNS = (
    equipment.c.id,
    equipment.c.number,
    equipment.c.name,
    equipment.c.manufacturer,
    equipment.c.model,
    equipment.c.criticality,
    equipment.c.score,
    equipment.c.decay_corrective,
    equipment.c.decay_downtime,
    equipment.c.open_orders,
    equipment.c.overdue_orders,
    equipment.c.scored_at,
)


async def equipment_counts(conn: AsyncConnection, org_id: UUID) -> list[RowMapping]:
    return list((await conn.execute(_EQUIPMENT_COUNTS, {"org": org_id})).mappings())


async def order_counts(conn: AsyncConnection, org_id: UUID) -> list[RowMapping]:
    return list((await conn.execute(_WO_COUNTS, {"org": org_id})).mappings())


async def overdue(conn: AsyncConnection, org_id: UUID, now: datetime, midnight: datetime) -> int:
    """Open orders due before today (rollup by due day) plus those due today before now."""
    before = await conn.scalar(_OVERDUE_BEFORE_TODAY, {"org": org_id, "today": midnight.date()})
    today = await conn.scalar(_OVERDUE_TODAY, {"org": org_id, "midnight": midnight, "now": now})
    return int(before or 0) + int(today or 0)


async def top_fault_codes(conn: AsyncConnection, org_id: UUID, limit: int) -> list[RowMapping]:
    return list((await conn.execute(_TOP_FAULTS, {"org": org_id, "limit": limit})).mappings())


async def org_health(conn: AsyncConnection, org_id: UUID) -> RowMapping | None:
    return (await conn.execute(_ORG_HEALTH, {"org": org_id})).mappings().first()


async def worst_assets(
    conn: AsyncConnection, org_id: UUID, limit: int, equipment_id: UUID | None = None
) -> list[RowMapping]:
    query = select(*HEALTH_COLUMNS).where(equipment.c.org_id == org_id)
    if equipment_id is not None:
        query = query.where(equipment.c.id == equipment_id)
    query = query.order_by(equipment.c.score, equipment.c.id).limit(limit)
    return list((await conn.execute(query)).mappings())


async def backlog_before(conn: AsyncConnection, org_id: UUID, since: date) -> int:
    return int(await conn.scalar(_BACKLOG_BEFORE, {"org": org_id, "since": since}) or 0)


async def days(conn: AsyncConnection, org_id: UUID, since: date, until: date) -> list[RowMapping]:
    params = {"org": org_id, "since": since, "until": until}
    return list((await conn.execute(_DAYS, params)).mappings())


async def window(conn: AsyncConnection, org_id: UUID, since: date, until: date) -> RowMapping:
    """Sums of ``WINDOW_SUMS`` over the days ``since`` to ``until`` (inclusive)."""
    sums = (
        cast(func.coalesce(func.sum(wo_daily.c[c]), 0), BigInteger).label(c) for c in WINDOW_SUMS
    )
    query = select(*sums).where(
        wo_daily.c.org_id == org_id, wo_daily.c.day >= since, wo_daily.c.day <= until
    )
    return (await conn.execute(query)).mappings().one()


async def assets_in_service(conn: AsyncConnection, org_id: UUID) -> int:
    return int(await conn.scalar(_ASSETS_IN_SERVICE, {"org": org_id}) or 0)


# The caller's own work (summary): two statements, built once, so each call is two round trips.
_WO = work_orders.c
_ORG = bindparam("org", type_=UUID_TYPE(as_uuid=True))
_ME = bindparam("me", type_=UUID_TYPE(as_uuid=True))
_NOW = bindparam("now", type_=DateTime(timezone=True))
_SINCE = bindparam("since", type_=DateTime(timezone=True))
_ASSIGNED = (_WO.assignee_id == _ME, OPEN_ORDERS)
_REQUESTED = (_WO.requester_id == _ME, OPEN_ORDERS)
_COMPLETED = (_WO.assignee_id == _ME, COMPLETED_ORDERS, _WO.completed_at >= _SINCE)


def _count(*where: ColumnElement[bool]) -> Any:
    return select(func.count()).select_from(work_orders).where(_WO.org_id == _ORG, *where)


def _section(name: str, where: tuple[ColumnElement[bool], ...], order: list[Any]) -> Any:
    return (
        select(literal_column(f"'{name}'").label("section"), *orders.VIEW_COLUMNS)
        .select_from(orders.VIEW_FROM)
        .where(_WO.org_id == _ORG, *where)
        .order_by(*order)
        .limit(bindparam("limit"))
    )


_MY_COUNTS = select(
    _count(*_ASSIGNED).scalar_subquery().label("assigned"),
    _count(*_ASSIGNED, _WO.due_at < _NOW).scalar_subquery().label("overdue"),
    _count(*_REQUESTED).scalar_subquery().label("requested"),
    _count(*_COMPLETED).scalar_subquery().label("completed"),
)
_MY_ORDERS = union_all(
    _section("assigned", _ASSIGNED, [_WO.due_at, _WO.id]),
    _section("requested", _REQUESTED, [_WO.created_at.desc(), _WO.id]),
    _section("completed", _COMPLETED, [_WO.completed_at.desc(), _WO.id]),
)


async def my_work(
    conn: AsyncConnection, org_id: UUID, user_id: UUID, now: datetime, since: datetime, limit: int
) -> tuple[RowMapping, dict[str, list[RowMapping]]]:
    """Counts (assigned, overdue, requested, completed) and the first ``limit`` orders of each
    section: open assigned ones by due date, open reported ones newest first, and the ones
    completed as assignee since ``since``, latest first."""
    params = {"org": org_id, "me": user_id, "now": now, "since": since, "limit": limit}
    counts = (await conn.execute(_MY_COUNTS, params)).mappings().one()
    sections: dict[str, list[RowMapping]] = {"assigned": [], "requested": [], "completed": []}
    if any(counts.values()):
        for row in (await conn.execute(_MY_ORDERS, params)).mappings():
            sections[row["section"]].append(row)
    return counts, sections
