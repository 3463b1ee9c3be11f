"""Queries on work orders, their numbers, timelines and checklists."""

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import (
    CTE,
    ColumnElement,
    FromClause,
    Select,
    Table,
    and_,
    any_,
    bindparam,
    func,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts import ErrorCode, ServiceError, refs
from rivet_contracts.workorders import WorkOrderSort

from ..tables import (
    OPEN_ORDERS,
    UNANNOUNCED,
    checklist_items,
    counters,
    equipment,
    timeline,
    users,
    work_orders,
)

assignee = users.alias("assignee")
requester = users.alias("requester")
author = users.alias("author")


def _view_columns(orders: Table | CTE) -> tuple[Any, ...]:
    """A work order's columns with its asset's and people's names, as listings show them."""
    return (
        *orders.c,
        equipment.c.number.label("equipment_number"),
        equipment.c.name.label("equipment_name"),
        equipment.c.manufacturer.label("equipment_manufacturer"),
        equipment.c.model.label("equipment_model"),
        equipment.c.serial.label("equipment_serial"),
        equipment.c.location.label("equipment_location"),
        equipment.c.criticality.label("equipment_criticality"),
        assignee.c.full_name.label("assignee_name"),
        requester.c.full_name.label("requester_name"),
    )


def _view_from(orders: Table | CTE) -> FromClause:
    return (
        orders.join(equipment, equipment.c.id == orders.c.equipment_id)
        .outerjoin(assignee, assignee.c.id == orders.c.assignee_id)
        .outerjoin(requester, requester.c.id == orders.c.requester_id)
    )


VIEW_COLUMNS = _view_columns(work_orders)
VIEW_FROM = _view_from(work_orders)


def parse_ref(ref: str) -> ColumnElement[bool]:
    """``id = ...`` or ``number = ...`` for a reference given by a caller."""
    try:
        key = refs.parse_ref(ref, refs.WORK_ORDER_PREFIX)
    except ValueError:
        raise ServiceError(
            ErrorCode.VALIDATION, "give a work order id or number (WO-2026-000123)"
        ) from None
    if isinstance(key, UUID):
        return work_orders.c.id == key
    return work_orders.c.number == key


# The statements of the create and transition paths are built once: building one per call
# (``.values(...)``, ``.where(col == value)``) and computing its cache key cost about as much
# CPU as executing it (bench/gateway, docs/performance.md).
_NEXT_NUMBER = (
    insert(counters)
    .values(org_id=bindparam("org_id"), year=bindparam("year"), value=1)
    .on_conflict_do_update(
        index_elements=[counters.c.org_id, counters.c.year],
        set_={"value": counters.c.value + 1},
    )
    .returning(counters.c.value)
)
_UPDATE_ORDER = update(work_orders).where(work_orders.c.id == bindparam("order_id_"))
ENTRY_COLUMNS = tuple(c for c in timeline.c if c.name != "id")
"""A timeline entry as shown: ``entry_id`` is its id; ``id`` only orders the entries (one
sequence for all organizations) and never leaves this module."""
_ADD_TIMELINE = insert(timeline).returning(*ENTRY_COLUMNS)
_VIEW_ROW = (
    select(*VIEW_COLUMNS)
    .select_from(VIEW_FROM)
    .where(work_orders.c.org_id == bindparam("org_id"), work_orders.c.id == bindparam("order_id"))
)
_TIMELINE_ROWS = (
    select(*ENTRY_COLUMNS, author.c.full_name.label("author_name"))
    .select_from(timeline.outerjoin(author, author.c.id == timeline.c.author_id))
    .where(timeline.c.work_order_id == bindparam("order_id"))
    .order_by(timeline.c.id)
    .limit(1000)
)


_ADD_CHECKLIST = insert(checklist_items).returning(*checklist_items.c, sort_by_parameter_order=True)
_CHECKLISTS = (
    select(checklist_items)
    .where(
        checklist_items.c.work_order_id
        == any_(bindparam("order_ids", type_=ARRAY(PG_UUID(as_uuid=True))))
    )
    .order_by(checklist_items.c.work_order_id, checklist_items.c.position)
)
_UPDATE_ITEM = (
    update(checklist_items)
    .where(checklist_items.c.id == bindparam("item_id_"))
    .returning(*checklist_items.c)
)
_BY_KEY = select(work_orders.c.id, work_orders.c.number, work_orders.c.request_hash).where(
    work_orders.c.org_id == bindparam("org_id"),
    work_orders.c.idempotency_key == bindparam("key"),
)


@cache
def _insert_and_view(columns: tuple[str, ...]) -> Select[Any]:
    """``INSERT .. RETURNING`` the new order joined to its view columns: one round trip. With
    an idempotency key, a key the organization used already inserts (and returns) nothing: the
    unique index decides between two creates that race (the later waits for the earlier to
    commit or roll back)."""
    statement = insert(work_orders).values({name: bindparam(name) for name in columns})
    if "idempotency_key" in columns:
        statement = statement.on_conflict_do_nothing(
            index_elements=[work_orders.c.org_id, work_orders.c.idempotency_key],
            index_where=work_orders.c.idempotency_key.is_not(None),
        )
    created = statement.returning(*work_orders.c).cte("created")
    return select(*_view_columns(created)).select_from(_view_from(created))


def _claim_overdue() -> Select[Any]:
    """Mark a batch of open orders whose deadline passed unannounced (the oldest deadlines
    first; rows another transaction holds are skipped, the next pass takes them) and return
    their view rows: one round trip."""
    due = (
        select(work_orders.c.id)
        .where(UNANNOUNCED, work_orders.c.due_at < bindparam("now"))
        .order_by(work_orders.c.due_at)
        .limit(bindparam("batch"))
        .with_for_update(key_share=True, skip_locked=True)
        .cte("due")
    )
    marked = (
        update(work_orders)
        .where(work_orders.c.id == due.c.id)
        .values(overdue_announced_for=work_orders.c.due_at)
        .returning(*work_orders.c)
        .cte("marked")
    )
    return (
        select(*_view_columns(marked))
        .select_from(_view_from(marked))
        .order_by(marked.c.due_at, marked.c.id)
    )


_CLAIM_OVERDUE = _claim_overdue()


async def claim_overdue(conn: AsyncConnection, now: datetime, batch: int) -> list[RowMapping]:
    """Up to ``batch`` open orders due before ``now`` whose deadline was not announced yet,
    marked as announced for it in this transaction (``overdue_announced_for = due_at``)."""
    params = {"now": now, "batch": batch}
    return list((await conn.execute(_CLAIM_OVERDUE, params)).mappings().all())


async def next_number(conn: AsyncConnection, org_id: UUID, year: int) -> int:
    """The organization's next number for ``year``: one row per org and year, incremented in
    place, so concurrent creates queue on that row and never share a number."""
    return int((await conn.execute(_NEXT_NUMBER, {"org_id": org_id, "year": year})).scalar_one())


async def number_at_least(conn: AsyncConnection, org_id: UUID, year: int, value: int) -> None:
    """Move the year's counter to ``value`` unless it is past it already (a number kept by an
    import): the next ``next_number`` is above every number in use."""
    query = (
        insert(counters)
        .values(org_id=org_id, year=year, value=value)
        .on_conflict_do_update(
            index_elements=[counters.c.org_id, counters.c.year],
            set_={"value": func.greatest(counters.c.value, value)},
        )
    )
    await conn.execute(query)


async def insert_order(conn: AsyncConnection, values: dict[str, Any]) -> RowMapping | None:
    """Insert an order; returns its view row (``view_row``'s columns), or None when its
    ``idempotency_key`` is taken in the organization (nothing inserted)."""
    result = await conn.execute(_insert_and_view(tuple(values)), values)
    row: RowMapping | None = result.mappings().first()
    return row


async def find_by_key(conn: AsyncConnection, org_id: UUID, key: str) -> RowMapping | None:
    """The id, number and request hash of the order created with idempotency key ``key``."""
    return (await conn.execute(_BY_KEY, {"org_id": org_id, "key": key})).mappings().first()


async def insert_checklist(conn: AsyncConnection, items: list[dict[str, Any]]) -> list[RowMapping]:
    """Insert an order's checklist items; returns them in the order given."""
    if not items:
        return []
    return list((await conn.execute(_ADD_CHECKLIST, items)).mappings().all())


async def checklists(
    conn: AsyncConnection, order_ids: Sequence[UUID]
) -> dict[UUID, list[RowMapping]]:
    """The checklist items of these orders, each order's in position order: one query for a
    whole page."""
    if not order_ids:
        return {}
    found: dict[UUID, list[RowMapping]] = {}
    result = await conn.execute(_CHECKLISTS, {"order_ids": list(order_ids)})
    for row in result.mappings():
        found.setdefault(row["work_order_id"], []).append(row)
    return found


async def update_item(conn: AsyncConnection, item_id: UUID, values: dict[str, Any]) -> RowMapping:
    """Change a checklist item; returns it as it is now."""
    return (await conn.execute(_UPDATE_ITEM, {**values, "item_id_": item_id})).mappings().one()


async def lock_order(conn: AsyncConnection, org_id: UUID, ref: str) -> RowMapping | None:
    query = (
        select(work_orders)
        .where(work_orders.c.org_id == org_id, parse_ref(ref))
        .with_for_update(key_share=True)
    )
    return (await conn.execute(query)).mappings().first()


async def find_order(conn: AsyncConnection, org_id: UUID, ref: str) -> RowMapping | None:
    query = select(work_orders).where(work_orders.c.org_id == org_id, parse_ref(ref))
    return (await conn.execute(query)).mappings().first()


async def update_order(conn: AsyncConnection, order_id: UUID, values: dict[str, Any]) -> None:
    await conn.execute(_UPDATE_ORDER, {**values, "order_id_": order_id})


async def has_attachment_entry(
    conn: AsyncConnection, work_order_id: UUID, kind: str, attachment_id: UUID
) -> bool:
    """Whether the order's timeline has an entry of ``kind`` (``attachment_added`` or
    ``attachment_removed``) for the attachment."""
    query = (
        select(timeline.c.id)
        .where(
            timeline.c.work_order_id == work_order_id,
            timeline.c.kind == kind,
            timeline.c.changes["attachment"]["id"].astext == str(attachment_id),
        )
        .limit(1)
    )
    return (await conn.execute(query)).first() is not None


async def add_timeline(conn: AsyncConnection, **values: Any) -> RowMapping:
    """Add a timeline entry; returns it (without its author's name)."""
    return (await conn.execute(_ADD_TIMELINE, values)).mappings().one()


async def view_row(conn: AsyncConnection, org_id: UUID, order_id: UUID) -> RowMapping | None:
    params = {"org_id": org_id, "order_id": order_id}
    return (await conn.execute(_VIEW_ROW, params)).mappings().first()


async def timeline_rows(conn: AsyncConnection, order_id: UUID) -> list[RowMapping]:
    return list((await conn.execute(_TIMELINE_ROWS, {"order_id": order_id})).mappings().all())


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """Open and past due; written with the partial indexes' literal predicate."""
    return and_(OPEN_ORDERS, work_orders.c.due_at < now)


def page_query(
    org_id: UUID,
    *,
    now: datetime,
    statuses: list[str] | None = None,
    priorities: list[str] | None = None,
    work_type: str | None = None,
    assignee_id: UUID | None = None,
    equipment_id: UUID | None = None,
    overdue: bool | None = None,
    sort: WorkOrderSort = WorkOrderSort.NEWEST,
) -> Select[Any]:
    query = select(*VIEW_COLUMNS).select_from(VIEW_FROM).where(work_orders.c.org_id == org_id)
    if statuses:
        query = query.where(work_orders.c.status.in_(statuses))
    if priorities:
        query = query.where(work_orders.c.priority.in_(priorities))
    if work_type:
        query = query.where(work_orders.c.work_type == work_type)
    if assignee_id:
        query = query.where(work_orders.c.assignee_id == assignee_id)
    if equipment_id:
        query = query.where(work_orders.c.equipment_id == equipment_id)
    if overdue is True:
        query = query.where(overdue_clause(now))
    elif overdue is False:
        query = query.where(or_(not_(OPEN_ORDERS), work_orders.c.due_at >= now))
    order = {
        WorkOrderSort.NEWEST: (work_orders.c.created_at.desc(), work_orders.c.id.desc()),
        WorkOrderSort.OLDEST: (work_orders.c.created_at, work_orders.c.id),
        WorkOrderSort.DUE: (work_orders.c.due_at, work_orders.c.id),
    }[sort]
    return query.order_by(*order)


async def page(
    conn: AsyncConnection, query: Select[Any], limit: int, offset: int
) -> list[RowMapping]:
    """``limit + 1`` rows from ``offset`` (the extra row tells whether a next page exists)."""
    result = await conn.execute(query.limit(limit + 1).offset(offset))
    return list(result.mappings().all())
