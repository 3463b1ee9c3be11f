"""Reset requests and reset tokens: stores and loads."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import organizations, password_reset_requests, password_resets, users

_ACCOUNT = select(
    users.c.id,
    users.c.org_id,
    users.c.role,
    users.c.email,
    users.c.full_name,
    users.c.password_hash,
    users.c.is_active,
    organizations.c.name.label("organization_name"),
).join(organizations, organizations.c.id == users.c.org_id)


async def account_by_email(conn: AsyncConnection, email: str) -> RowMapping | None:
    return (await conn.execute(_ACCOUNT.where(users.c.email == email))).mappings().first()


async def account(conn: AsyncConnection, user_id: UUID) -> RowMapping | None:
    return (await conn.execute(_ACCOUNT.where(users.c.id == user_id))).mappings().first()


async def record_request(conn: AsyncConnection, email: str) -> None:
    await conn.execute(insert(password_reset_requests).values(email=email))


_TAKE_REQUESTS = text(
    "DELETE FROM password_reset_requests WHERE id = ANY(ARRAY("
    "SELECT id FROM password_reset_requests ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)) "
    "RETURNING email, requested_at"
)


async def take_requests(conn: AsyncConnection, limit: int) -> list[RowMapping]:
    """The oldest requests, removed in the caller's transaction (replicas share them)."""
    return list((await conn.execute(_TAKE_REQUESTS, {"limit": limit})).mappings().all())


async def resets_since(conn: AsyncConnection, user_id: UUID, since: datetime) -> int:
    query = select(func.count()).where(
        password_resets.c.user_id == user_id, password_resets.c.created_at >= since
    )
    return int(await conn.scalar(query) or 0)


async def insert_reset(
    conn: AsyncConnection, reset_id: UUID, user_id: UUID, token_hash: bytes, expires_at: datetime
) -> None:
    await conn.execute(
        insert(password_resets).values(
            id=reset_id, user_id=user_id, token_hash=token_hash, expires_at=expires_at
        )
    )


async def spend_reset(
    conn: AsyncConnection, reset_id: UUID, token_hash: bytes, now: datetime
) -> UUID | None:
    """Mark the reset used if it is this token's, unused and unexpired; its user, else None."""
    query = (
        update(password_resets)
        .where(
            password_resets.c.id == reset_id,
            password_resets.c.token_hash == token_hash,
            password_resets.c.used_at.is_(None),
            password_resets.c.expires_at > now,
        )
        .values(used_at=now)
        .returning(password_resets.c.user_id)
    )
    found = await conn.scalar(query)
    return found if isinstance(found, UUID) else None


async def end_other_resets(conn: AsyncConnection, user_id: UUID, now: datetime) -> None:
    """Links mailed earlier stop working once the password changed."""
    await conn.execute(
        update(password_resets)
        .where(password_resets.c.user_id == user_id, password_resets.c.used_at.is_(None))
        .values(used_at=now)
    )


async def set_password(conn: AsyncConnection, user_id: UUID, password_hash: str) -> None:
    await conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(password_hash=password_hash, password_changed_at=func.now(), updated_at=func.now())
    )
