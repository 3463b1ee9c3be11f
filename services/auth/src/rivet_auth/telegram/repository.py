"""Queries on Telegram link codes and users' Telegram ids."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import telegram_link_codes, users


async def insert_code(
    conn: AsyncConnection, code_hash: bytes, user_id: UUID, expires_at: datetime
) -> None:
    await conn.execute(
        insert(telegram_link_codes).values(
            code_hash=code_hash, user_id=user_id, expires_at=expires_at
        )
    )


async def take_code(conn: AsyncConnection, code_hash: bytes, now: datetime) -> UUID | None:
    """Spend a live code (single use, race-free) and return its user."""
    query = (
        update(telegram_link_codes)
        .where(
            telegram_link_codes.c.code_hash == code_hash,
            telegram_link_codes.c.used_at.is_(None),
            telegram_link_codes.c.expires_at > now,
        )
        .values(used_at=now)
        .returning(telegram_link_codes.c.user_id)
    )
    user_id: UUID | None = (await conn.execute(query)).scalar_one_or_none()
    return user_id


async def link(conn: AsyncConnection, user_id: UUID, telegram_user_id: int) -> None:
    """Point ``telegram_user_id`` at ``user_id`` (moving it from any other user)."""
    await conn.execute(
        update(users)
        .where(users.c.telegram_user_id == telegram_user_id, users.c.id != user_id)
        .values(telegram_user_id=None, updated_at=func.now())
    )
    await conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(telegram_user_id=telegram_user_id, updated_at=func.now())
    )


async def user_by_telegram(conn: AsyncConnection, telegram_user_id: int) -> UUID | None:
    query = select(users.c.id).where(
        users.c.telegram_user_id == telegram_user_id, users.c.is_active
    )
    user_id: UUID | None = (await conn.execute(query)).scalar_one_or_none()
    return user_id
