"""API keys: stores and loads."""

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import api_keys

VIEW = (
    api_keys.c.id,
    api_keys.c.prefix,
    api_keys.c.name,
    api_keys.c.role,
    api_keys.c.read_only,
    api_keys.c.created_by,
    api_keys.c.created_at,
    api_keys.c.last_used_at,
    api_keys.c.expires_at,
    api_keys.c.revoked_at,
)


async def add(conn: AsyncConnection, **values: Any) -> RowMapping:
    query = api_keys.insert().values(**values).returning(*VIEW)
    return (await conn.execute(query)).mappings().one()


async def of_org(conn: AsyncConnection, org_id: UUID) -> list[RowMapping]:
    query = (
        select(*VIEW)
        .where(api_keys.c.org_id == org_id)
        .order_by(api_keys.c.created_at.desc(), api_keys.c.id)
        .limit(1000)
    )
    return list((await conn.execute(query)).mappings().all())


async def revoke(
    conn: AsyncConnection, org_id: UUID, key_id: UUID, by: UUID, now: datetime
) -> RowMapping | None:
    """The key, revoked now; None when the organization has no such key or it was revoked
    before (``find`` tells which)."""
    query = (
        update(api_keys)
        .where(
            api_keys.c.id == key_id, api_keys.c.org_id == org_id, api_keys.c.revoked_at.is_(None)
        )
        .values(revoked_at=now, revoked_by=by)
        .returning(*VIEW)
    )
    return (await conn.execute(query)).mappings().one_or_none()


async def find(conn: AsyncConnection, org_id: UUID, key_id: UUID) -> RowMapping | None:
    query = select(*VIEW).where(api_keys.c.id == key_id, api_keys.c.org_id == org_id)
    return (await conn.execute(query)).mappings().one_or_none()


async def active(conn: AsyncConnection, now: datetime) -> list[RowMapping]:
    query = select(
        api_keys.c.id,
        api_keys.c.org_id,
        api_keys.c.role,
        api_keys.c.read_only,
        api_keys.c.expires_at,
        api_keys.c.secret_hash,
    ).where(
        api_keys.c.revoked_at.is_(None),
        or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > now),
    )
    return list((await conn.execute(query)).mappings().all())


async def touch(conn: AsyncConnection, key_ids: list[UUID], now: datetime, every: float) -> int:
    """Record a use of each key, unless one was recorded in the last ``every`` seconds."""
    query = (
        update(api_keys)
        .where(
            api_keys.c.id.in_(key_ids),
            or_(
                api_keys.c.last_used_at.is_(None),
                api_keys.c.last_used_at < now - timedelta(seconds=every),
            ),
        )
        .values(last_used_at=now)
    )
    return (await conn.execute(query)).rowcount
