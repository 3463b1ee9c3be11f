"""The organization row: stores and loads."""

from typing import Any
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import organizations


async def organization(conn: AsyncConnection, org_id: UUID) -> RowMapping | None:
    query = select(organizations).where(organizations.c.id == org_id)
    return (await conn.execute(query)).mappings().first()


async def update_organization(conn: AsyncConnection, org_id: UUID, values: dict[str, Any]) -> None:
    await conn.execute(update(organizations).where(organizations.c.id == org_id).values(**values))
