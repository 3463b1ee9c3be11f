"""Writes to the rollup tables: the counted facts per order and the signed sums.

Rows are written in a fixed order (tables in the order below, keys sorted) so concurrent
consumer transactions queue on shared rows instead of deadlocking.
"""

from typing import Any
from uuid import UUID

from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import DAILY_COLUMNS, fault_codes, rollup_state, wo_counts, wo_daily, wo_due
from .facts import Deltas, Facts


async def swap_facts(
    conn: AsyncConnection, order_id: UUID, facts: Facts
) -> tuple[bool, Facts | None]:
    """Store ``facts`` as the order's counted facts if they are newer than the stored ones.

    Returns (newer, previous facts). Locks the order's row, so two events of one order are
    counted one after the other.
    """
    await conn.execute(
        insert(rollup_state)
        .values(work_order_id=order_id, version=0, facts=None)
        .on_conflict_do_nothing(index_elements=[rollup_state.c.work_order_id])
    )
    row = (
        await conn.execute(
            select(rollup_state.c.version, rollup_state.c.facts)
            .where(rollup_state.c.work_order_id == order_id)
            .with_for_update(key_share=True)
        )
    ).one()
    if row.version >= facts.version:
        return False, None
    await conn.execute(
        update(rollup_state)
        .where(rollup_state.c.work_order_id == order_id)
        .values(version=facts.version, facts=facts.model_dump(mode="json"))
    )
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
    """``INSERT .. ON CONFLICT DO UPDATE SET col = col + excluded.col`` for every value."""
    if not rows:
        return
    query = insert(table).values([{"org_id": org_id, **r} for r in rows])
    sums = [name for name in rows[0] if name not in keys]
    await conn.execute(
        query.on_conflict_do_update(
            index_elements=[table.c.org_id, *(table.c[k] for k in keys)],
            set_={name: table.c[name] + query.excluded[name] for name in sums},
        )
    )
