"""Audit entries: stores and loads."""

from typing import Any
from uuid import UUID

from sqlalchemy import insert, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import audit_log


async def add(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(audit_log).values(**values))


async def page(
    conn: AsyncConnection, org_id: UUID, before: int | None, limit: int
) -> list[RowMapping]:
    """Newest first; ``before`` is the id of the last entry of the previous page."""
    query = select(audit_log).where(audit_log.c.org_id == org_id)
    if before is not None:
        query = query.where(audit_log.c.id < before)
    query = query.order_by(audit_log.c.id.desc()).limit(limit)
    return list((await conn.execute(query)).mappings().all())
