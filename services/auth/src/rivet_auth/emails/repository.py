"""Verification codes: stores and loads."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import email_verifications, users


async def started_since(conn: AsyncConnection, user_id: UUID, since: datetime) -> int:
    query = select(func.count()).where(
        email_verifications.c.user_id == user_id, email_verifications.c.created_at >= since
    )
    return int(await conn.scalar(query) or 0)


async def insert_verification(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(email_verifications).values(**values))


async def lock_pending(conn: AsyncConnection, user_id: UUID, now: datetime) -> RowMapping | None:
    """The user's latest unused, unexpired code, locked."""
    query = (
        select(email_verifications)
        .where(
            email_verifications.c.user_id == user_id,
            email_verifications.c.used_at.is_(None),
            email_verifications.c.expires_at > now,
        )
        .order_by(email_verifications.c.created_at.desc())
        .limit(1)
        .with_for_update()
    )
    return (await conn.execute(query)).mappings().first()


async def count_attempt(conn: AsyncConnection, verification_id: UUID) -> None:
    await conn.execute(
        update(email_verifications)
        .where(email_verifications.c.id == verification_id)
        .values(attempts=email_verifications.c.attempts + 1)
    )


async def use(conn: AsyncConnection, verification_id: UUID, now: datetime) -> None:
    await conn.execute(
        update(email_verifications)
        .where(email_verifications.c.id == verification_id)
        .values(used_at=now)
    )


async def owner_of(conn: AsyncConnection, email: str) -> UUID | None:
    found = await conn.scalar(select(users.c.id).where(users.c.email == email))
    return found if isinstance(found, UUID) else None


async def set_verified_email(conn: AsyncConnection, user_id: UUID, email: str) -> None:
    await conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(email=email, email_verified=True, updated_at=func.now())
    )
