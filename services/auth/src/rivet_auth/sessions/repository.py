"""Queries on refresh tokens, trusted devices and the login throttle."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import login_throttle, refresh_tokens, session_revocations, trusted_devices, users


async def insert_refresh_token(
    conn: AsyncConnection,
    *,
    token_id: UUID,
    family_id: UUID,
    user_id: UUID,
    secret_hash: bytes,
    expires_at: datetime,
) -> None:
    await conn.execute(
        insert(refresh_tokens).values(
            id=token_id,
            family_id=family_id,
            user_id=user_id,
            secret_hash=secret_hash,
            expires_at=expires_at,
        )
    )


async def spend_refresh_token(
    conn: AsyncConnection, token_id: UUID, secret_hash: bytes, now: datetime
) -> RowMapping | None:
    """Mark a live token used and return it. Of two concurrent calls, exactly one gets a row:
    the second waits for the first's row lock, then no longer matches ``used_at IS NULL``."""
    query = (
        update(refresh_tokens)
        .where(
            refresh_tokens.c.id == token_id,
            refresh_tokens.c.secret_hash == secret_hash,
            refresh_tokens.c.used_at.is_(None),
            refresh_tokens.c.revoked_at.is_(None),
            refresh_tokens.c.expires_at > now,
        )
        .values(used_at=now)
        .returning(refresh_tokens.c.user_id, refresh_tokens.c.family_id)
    )
    return (await conn.execute(query)).mappings().first()


async def find_refresh_token(
    conn: AsyncConnection, token_id: UUID, secret_hash: bytes
) -> RowMapping | None:
    query = select(
        refresh_tokens.c.family_id,
        refresh_tokens.c.user_id,
        refresh_tokens.c.used_at,
        refresh_tokens.c.revoked_at,
    ).where(refresh_tokens.c.id == token_id, refresh_tokens.c.secret_hash == secret_hash)
    return (await conn.execute(query)).mappings().first()


async def revoke_family(conn: AsyncConnection, family_id: UUID, now: datetime) -> None:
    await conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def insert_device(
    conn: AsyncConnection, device_id: UUID, user_id: UUID, secret_hash: bytes
) -> None:
    await conn.execute(
        insert(trusted_devices).values(id=device_id, user_id=user_id, secret_hash=secret_hash)
    )


async def device_owner(conn: AsyncConnection, device_id: UUID, secret_hash: bytes) -> UUID | None:
    query = select(trusted_devices.c.user_id).where(
        trusted_devices.c.id == device_id, trusted_devices.c.secret_hash == secret_hash
    )
    owner: UUID | None = (await conn.execute(query)).scalar_one_or_none()
    return owner


async def lock_throttle(conn: AsyncConnection, key: str) -> RowMapping:
    """The throttle row of ``key``, created if new and locked until the transaction ends, so
    parallel guesses at one account queue up instead of racing past the counter."""
    await conn.execute(
        pg_insert(login_throttle).values(key=key).on_conflict_do_nothing(index_elements=["key"])
    )
    query = (
        select(login_throttle.c.failures, login_throttle.c.last_failure_at)
        .where(login_throttle.c.key == key)
        .with_for_update()
    )
    return (await conn.execute(query)).mappings().one()


async def record_failure(conn: AsyncConnection, key: str, failures: int, now: datetime) -> None:
    await conn.execute(
        update(login_throttle)
        .where(login_throttle.c.key == key)
        .values(failures=failures, last_failure_at=now)
    )


async def reset_throttle(conn: AsyncConnection, key: str) -> None:
    await conn.execute(
        update(login_throttle)
        .where(login_throttle.c.key == key)
        .values(failures=0, last_failure_at=None)
    )


async def record_login(conn: AsyncConnection, user_id: UUID, now: datetime) -> None:
    await conn.execute(update(users).where(users.c.id == user_id).values(last_login_at=now))


async def revoke_user_tokens(conn: AsyncConnection, user_id: UUID, now: datetime) -> None:
    """Every refresh token of the user: all sessions end at their next refresh."""
    await conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def insert_revocation(
    conn: AsyncConnection, user_id: UUID, org_id: UUID, session_id: UUID | None, now: datetime
) -> None:
    await conn.execute(
        insert(session_revocations).values(
            user_id=user_id, org_id=org_id, session_id=session_id, revoked_at=now
        )
    )


async def revocations_since(conn: AsyncConnection, since: datetime) -> list[RowMapping]:
    query = (
        select(
            session_revocations.c.user_id,
            session_revocations.c.session_id,
            session_revocations.c.revoked_at,
        )
        .where(session_revocations.c.revoked_at >= since)
        .order_by(session_revocations.c.revoked_at)
        .limit(100_000)
    )
    return list((await conn.execute(query)).mappings().all())


async def prune_revocations(conn: AsyncConnection, before: datetime) -> int:
    result = await conn.execute(
        session_revocations.delete().where(session_revocations.c.revoked_at < before)
    )
    return int(result.rowcount)
