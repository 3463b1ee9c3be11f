"""Queries on import jobs and their per-row results."""

from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import import_rows, imports

LEASE_SECONDS = 60


async def insert_job(conn: AsyncConnection, **values: Any) -> RowMapping:
    return (
        (await conn.execute(insert(imports).values(**values).returning(*imports.c)))
        .mappings()
        .one()
    )


async def job(conn: AsyncConnection, org_id: UUID, import_id: UUID) -> RowMapping | None:
    query = select(imports).where(imports.c.org_id == org_id, imports.c.id == import_id)
    return (await conn.execute(query)).mappings().first()


async def rows(conn: AsyncConnection, import_id: UUID, offset: int, limit: int) -> list[RowMapping]:
    query = (
        select(import_rows)
        .where(import_rows.c.import_id == import_id)
        .order_by(import_rows.c.row)
        .offset(offset)
        .limit(limit)
    )
    return list((await conn.execute(query)).mappings().all())


async def done_rows(conn: AsyncConnection, import_id: UUID) -> set[int]:
    query = select(import_rows.c.row).where(import_rows.c.import_id == import_id)
    return {r[0] for r in (await conn.execute(query)).all()}


async def claim(conn: AsyncConnection) -> RowMapping | None:
    """Take the oldest unfinished job whose lease is free (replicas share the work; a job of a
    crashed worker is taken over when its lease runs out)."""
    query = text(
        """
        UPDATE imports SET status = 'running', lease_until = now() + make_interval(secs => :s)
        WHERE id = (
            SELECT id FROM imports
            WHERE finished_at IS NULL AND (lease_until IS NULL OR lease_until < now())
            ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING *
        """
    )
    return (await conn.execute(query, {"s": LEASE_SECONDS})).mappings().first()


async def renew(conn: AsyncConnection, import_id: UUID) -> None:
    await conn.execute(
        text("UPDATE imports SET lease_until = now() + make_interval(secs => :s) WHERE id = :id"),
        {"id": import_id, "s": LEASE_SECONDS},
    )


async def release(conn: AsyncConnection, import_id: UUID) -> None:
    """Give the job back before its lease ends (this replica is stopping)."""
    await conn.execute(
        text("UPDATE imports SET lease_until = NULL WHERE id = :id"), {"id": import_id}
    )


async def record_row(
    conn: AsyncConnection,
    import_id: UUID,
    row: int,
    outcome: str,
    *,
    equipment_id: UUID | None = None,
    equipment_number: str | None = None,
    reason: str | None = None,
) -> None:
    """One row's outcome and the job's counters, in the row's own transaction."""
    await conn.execute(
        insert(import_rows).values(
            import_id=import_id,
            row=row,
            outcome=outcome,
            equipment_id=equipment_id,
            equipment_number=equipment_number,
            reason=reason,
        )
    )
    counter = imports.c[outcome]
    await conn.execute(
        update(imports)
        .where(imports.c.id == import_id)
        .values({"processed_rows": imports.c.processed_rows + 1, counter: counter + 1})
    )


async def finish(conn: AsyncConnection, import_id: UUID, status: str, error: str | None) -> None:
    await conn.execute(
        update(imports)
        .where(imports.c.id == import_id)
        .values(status=status, error=error, finished_at=func.now(), lease_until=None)
    )
