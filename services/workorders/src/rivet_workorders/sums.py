"""``INSERT .. ON CONFLICT DO UPDATE SET n = n + excluded.n``: adding to the summary tables.

One statement per (table, keys, summed columns), built once and executed with a list of rows
(executemany). A multi-row ``insert().values([...])`` would render the same SQL, but SQLAlchemy
cannot cache its compiled form and compiles it again on every call: about a third of the
consumer's CPU per event when this module was written (bench/gateway, docs/performance.md).
"""

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncConnection


@cache
def _statement(table: Table, keys: tuple[str, ...], sums: tuple[str, ...]) -> Insert:
    query = insert(table)
    return query.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={name: table.c[name] + query.excluded[name] for name in sums},
    )


async def add_rows(
    conn: AsyncConnection, table: Table, keys: Sequence[str], rows: list[dict[str, Any]]
) -> None:
    """Add each row's non-key columns to the row with the same ``keys`` (created at the row's
    values when missing). Rows are written in the given order: callers sort them, so concurrent
    transactions queue on shared rows instead of deadlocking."""
    if not rows:
        return
    sums = tuple(name for name in rows[0] if name not in keys)
    await conn.execute(_statement(table, tuple(keys), sums), rows)
