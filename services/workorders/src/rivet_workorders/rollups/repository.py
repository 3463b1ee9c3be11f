"""Writes to the rollup tables: the counted facts per order and the signed sums.

Rows are written in a fixed order (tables in the order below, keys sorted) so concurrent
consumer transactions queue on shared rows instead of deadlocking.
"""

from typing import Any
from uuid import UUID

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..sums import add_rows
from ..tables import DAILY_COLUMNS, fault_codes, rollup_state, wo_counts, wo_daily, wo_due
from .facts import Deltas, Facts

_ENSURE_STATE = (
    insert(rollup_state)
    .values(work_order_id=bindparam("order_id"), version=0, facts=None)
    .on_conflict_do_nothing(index_elements=[rollup_state.c.work_order_id])
)
_LOCK_STATE = (
    select(rollup_state.c.version, rollup_state.c.facts)
    .where(rollup_state.c.work_order_id == bindparam("order_id"))
    .with_for_update(key_share=True)
)
_STORE_STATE = update(rollup_state).where(rollup_state.c.work_order_id == bindparam("order_id"))


async def swap_facts(
    conn: AsyncConnection, order_id: UUID, facts: Facts
) -> tuple[bool, Facts | None]:
    """Store ``facts`` as the order's counted facts if they are newer than the stored ones.

    Returns (newer, previous facts). Locks the order's row, so two events of one order are
    counted one after the other.
    """
    key = {"order_id": order_id}
    await conn.execute(_ENSURE_STATE, key)
    row = (await conn.execute(_LOCK_STATE, key)).one()
    if row.version >= facts.version:
        return False, None
    values = {"version": facts.version, "facts": facts.model_dump(mode="json")}
    await conn.execute(_STORE_STATE, {**key, **values})
    return True, None if row.facts is None else Facts.model_validate(row.facts)


async def apply(conn: AsyncConnection, org_id: UUID, deltas: Deltas) -> None:
    """Add ``deltas`` (except the per-asset decay, which ``scoring.rescore`` writes)."""
    counts = [
        {"status": s, "priority": p, "orders": d[0], "estimated_minutes": d[1], "unestimated": d[2]}
        for (s, p), d in sorted(deltas.counts.items())
        if any(d)
    ]
    await _add(conn, wo_counts, org_id, ("status", "priority"), counts)
    due = [{"due_day": k, "orders": n} for k, n in sorted(deltas.due.items()) if n]
    await _add(conn, wo_due, org_id, ("due_day",), due)
    daily = [
        {"day": k, **{c: flows.get(c, 0) for c in DAILY_COLUMNS}}
        for k, flows in sorted(deltas.daily.items())
        if any(flows.values())
    ]
    await _add(conn, wo_daily, org_id, ("day",), daily)
    faults = [{"code": k, "orders": n} for k, n in sorted(deltas.faults.items()) if n]
    await _add(conn, fault_codes, org_id, ("code",), faults)


async def _add(
    conn: AsyncConnection,
    table: Table,
    org_id: UUID,
    keys: tuple[str, ...],
    rows: list[dict[str, Any]],
) -> None:
    await add_rows(conn, table, ("org_id", *keys), [{"org_id": org_id, **r} for r in rows])
