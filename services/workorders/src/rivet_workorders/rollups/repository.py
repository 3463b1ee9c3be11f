"""Writes to the rollup tables: the counted facts per order and the signed sums.

Rows are written in a fixed order (tables in the order below, keys sorted) so concurrent
consumer transactions queue on shared rows instead of deadlocking.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from ..sums import add_rows
from ..tables import DAILY_COLUMNS, fault_codes, wo_counts, wo_daily, wo_due
from .facts import Deltas, Facts

_ENSURE_MANY = text(
    "INSERT INTO rollup_state (work_order_id, version) "
    "SELECT unnest(CAST(:ids AS uuid[])), 0 ON CONFLICT DO NOTHING"
)
_LOCK_MANY = text(
    "SELECT work_order_id, version, facts FROM rollup_state "
    "WHERE work_order_id = ANY(CAST(:ids AS uuid[])) ORDER BY work_order_id FOR NO KEY UPDATE"
)
_STORE_MANY = text(
    "UPDATE rollup_state AS s SET version = u.version, facts = CAST(u.facts AS jsonb) "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:versions AS int[]), CAST(:facts AS text[])) "
    "AS u(id, version, facts) WHERE s.work_order_id = u.id"
)


async def swap_facts(
    conn: AsyncConnection, facts: Sequence[Facts], order_ids: Sequence[UUID]
) -> list[tuple[Facts | None, Facts]]:
    """Store each order's newest facts (``facts[i]`` belong to order ``order_ids[i]``) where
    they are newer than the facts it last counted.

    Returns (previous, newer) for every fact that moved an order forward, in version order per
    order, so that ``- previous + newer`` summed over the list moves each order from what was
    counted to its newest facts; a late or repeated fact changes nothing. Locks the orders'
    rows (in id order), so two batches with events of one order count one after the other.
    Three statements whatever the batch size.
    """
    by_order: defaultdict[UUID, list[Facts]] = defaultdict(list)
    for order_id, fact in zip(order_ids, facts, strict=True):
        by_order[order_id].append(fact)
    ids = sorted(by_order)
    await conn.execute(_ENSURE_MANY, {"ids": ids})
    stored = {row.work_order_id: row for row in await conn.execute(_LOCK_MANY, {"ids": ids})}
    changes: list[tuple[Facts | None, Facts]] = []
    store: dict[str, list[Any]] = {"ids": [], "versions": [], "facts": []}
    for order_id in ids:
        row = stored[order_id]
        version = row.version
        current = None if row.facts is None else Facts.model_validate(row.facts)
        for fact in sorted(by_order[order_id], key=lambda f: f.version):
            if fact.version > version:
                changes.append((current, fact))
                current, version = fact, fact.version
        if version != row.version and current is not None:
            store["ids"].append(order_id)
            store["versions"].append(version)
            store["facts"].append(current.model_dump_json())
    if store["ids"]:
        await conn.execute(_STORE_MANY, store)
    return changes


async def apply(conn: AsyncConnection, deltas: Mapping[UUID, Deltas]) -> None:
    """Add each organization's ``deltas`` (except the per-asset decay, which
    ``scoring.rescore`` writes): one statement per table, rows in (org, key) order."""
    counts, due, daily, faults = [], [], [], []
    for org_id, d in sorted(deltas.items()):
        counts += [
            {"org_id": org_id, "status": s, "priority": p}
            | {"orders": n[0], "estimated_minutes": n[1], "unestimated": n[2]}
            for (s, p), n in sorted(d.counts.items())
            if any(n)
        ]
        due += [
            {"org_id": org_id, "due_day": k, "orders": n} for k, n in sorted(d.due.items()) if n
        ]
        daily += [
            {"org_id": org_id, "day": k, **{c: flows.get(c, 0) for c in DAILY_COLUMNS}}
            for k, flows in sorted(d.daily.items())
            if any(flows.values())
        ]
        faults += [
            {"org_id": org_id, "code": k, "orders": n} for k, n in sorted(d.faults.items()) if n
        ]
    await _add(conn, wo_counts, ("status", "priority"), counts)
    await _add(conn, wo_due, ("due_day",), due)
    await _add(conn, wo_daily, ("day",), daily)
    await _add(conn, fault_codes, ("code",), faults)


async def _add(
    conn: AsyncConnection, table: Table, keys: tuple[str, ...], rows: list[dict[str, Any]]
) -> None:
    await add_rows(conn, table, ("org_id", *keys), rows)
