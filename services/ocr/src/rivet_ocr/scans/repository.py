"""Queries on scans."""

from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import scans


async def insert_scan(conn: AsyncConnection, **values: Any) -> RowMapping:
    return (await conn.execute(insert(scans).values(**values).returning(*scans.c))).mappings().one()


async def get(conn: AsyncConnection, org_id: UUID, scan_id: UUID) -> RowMapping | None:
    query = select(scans).where(scans.c.org_id == org_id, scans.c.id == scan_id)
    return (await conn.execute(query)).mappings().first()


async def find(conn: AsyncConnection, scan_id: UUID) -> RowMapping | None:
    return (await conn.execute(select(scans).where(scans.c.id == scan_id))).mappings().first()


async def lock(conn: AsyncConnection, scan_id: UUID) -> RowMapping | None:
    query = select(scans).where(scans.c.id == scan_id).with_for_update()
    return (await conn.execute(query)).mappings().first()


async def change(conn: AsyncConnection, scan_id: UUID, **values: Any) -> RowMapping:
    query = (
        update(scans)
        .where(scans.c.id == scan_id)
        .values(**values, updated_at=func.now())
        .returning(*scans.c)
    )
    return (await conn.execute(query)).mappings().one()
