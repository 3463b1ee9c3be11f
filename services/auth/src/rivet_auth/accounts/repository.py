"""Queries on organizations, users and invitations."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import invitations, organizations, users

_USER_VIEW = (
    users.c.id,
    users.c.org_id,
    organizations.c.name.label("organization_name"),
    users.c.email,
    users.c.full_name,
    users.c.role,
    (users.c.telegram_user_id.is_not(None)).label("telegram_linked"),
    users.c.is_active,
    users.c.email_verified,
    users.c.last_login_at,
    users.c.created_at,
)
_USER_JOIN = users.join(organizations, users.c.org_id == organizations.c.id)


class EmailTaken(Exception):
    pass


class TelegramTaken(Exception):
    """The Telegram id already belongs to another account."""


async def insert_organization(conn: AsyncConnection, org_id: UUID, name: str) -> None:
    await conn.execute(insert(organizations).values(id=org_id, name=name))


async def organization_name(conn: AsyncConnection, org_id: UUID) -> str | None:
    query = select(organizations.c.name).where(organizations.c.id == org_id)
    name: str | None = (await conn.execute(query)).scalar_one_or_none()
    return name


async def insert_user(conn: AsyncConnection, **values: Any) -> None:
    try:
        async with conn.begin_nested():
            await conn.execute(insert(users).values(**values))
    except IntegrityError as exc:
        if "users_email_key" in str(exc.orig):
            raise EmailTaken from exc
        if "users_telegram_user_id_key" in str(exc.orig):
            raise TelegramTaken from exc
        raise


async def user_view(conn: AsyncConnection, user_id: UUID) -> RowMapping | None:
    query = select(*_USER_VIEW).select_from(_USER_JOIN).where(users.c.id == user_id)
    return (await conn.execute(query)).mappings().first()


async def user_view_by_email(conn: AsyncConnection, email: str) -> RowMapping | None:
    query = select(*_USER_VIEW).select_from(_USER_JOIN).where(users.c.email == email)
    return (await conn.execute(query)).mappings().first()


async def user_views_in_org(
    conn: AsyncConnection, org_id: UUID, *, include_inactive: bool = False
) -> list[RowMapping]:
    active = [] if include_inactive else [users.c.is_active]
    query = (
        select(*_USER_VIEW)
        .select_from(_USER_JOIN)
        .where(users.c.org_id == org_id, *active)
        .order_by(users.c.full_name, users.c.id)
    )
    return list((await conn.execute(query)).mappings().all())


async def user_for_login(conn: AsyncConnection, email: str) -> RowMapping | None:
    query = select(
        users.c.id, users.c.org_id, users.c.role, users.c.password_hash, users.c.is_active
    ).where(users.c.email == email)
    return (await conn.execute(query)).mappings().first()


async def active_user(conn: AsyncConnection, user_id: UUID) -> RowMapping | None:
    query = select(users.c.id, users.c.org_id, users.c.role).where(
        users.c.id == user_id, users.c.is_active
    )
    return (await conn.execute(query)).mappings().first()


async def set_password_hash(conn: AsyncConnection, user_id: UUID, password_hash: str) -> None:
    await conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(password_hash=password_hash, updated_at=func.now())
    )


async def insert_invitation(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(invitations).values(**values))


async def take_invitation(
    conn: AsyncConnection, token_hash: bytes, now: datetime
) -> RowMapping | None:
    """Mark a live invitation accepted and return it (single use, race-free)."""
    query = (
        update(invitations)
        .where(
            invitations.c.token_hash == token_hash,
            invitations.c.accepted_at.is_(None),
            invitations.c.revoked_at.is_(None),
            invitations.c.expires_at > now,
        )
        .values(accepted_at=now)
        .returning(invitations.c.id, invitations.c.org_id, invitations.c.email, invitations.c.role)
    )
    return (await conn.execute(query)).mappings().first()


async def lock_member(conn: AsyncConnection, org_id: UUID, user_id: UUID) -> RowMapping | None:
    """The member's row, locked for the change (None: not in this organization)."""
    query = (
        select(users.c.id, users.c.org_id, users.c.role, users.c.is_active)
        .where(users.c.id == user_id, users.c.org_id == org_id)
        .with_for_update()
    )
    return (await conn.execute(query)).mappings().first()


async def lock_active_admins(conn: AsyncConnection, org_id: UUID) -> list[UUID]:
    """Ids of the organization's active admins, locked: two admins demoting each other at once
    are serialized, and the second sees the first's change."""
    query = (
        select(users.c.id)
        .where(users.c.org_id == org_id, users.c.role == "admin", users.c.is_active)
        .order_by(users.c.id)
        .with_for_update()
    )
    return list((await conn.execute(query)).scalars().all())


async def set_member(conn: AsyncConnection, user_id: UUID, **values: Any) -> None:
    await conn.execute(
        update(users).where(users.c.id == user_id).values(**values, updated_at=func.now())
    )


async def pending_invitations(
    conn: AsyncConnection, org_id: UUID, now: datetime
) -> list[RowMapping]:
    query = (
        select(
            invitations.c.id,
            invitations.c.email,
            invitations.c.role,
            invitations.c.expires_at,
            invitations.c.created_at,
        )
        .where(
            invitations.c.org_id == org_id,
            invitations.c.accepted_at.is_(None),
            invitations.c.revoked_at.is_(None),
            invitations.c.expires_at > now,
        )
        .order_by(invitations.c.created_at.desc())
        .limit(1000)
    )
    return list((await conn.execute(query)).mappings().all())


async def revoke_invitation(
    conn: AsyncConnection, org_id: UUID, invitation_id: UUID, now: datetime
) -> bool:
    """Withdraw a pending invitation of the organization; False if there is none."""
    query = (
        update(invitations)
        .where(
            invitations.c.id == invitation_id,
            invitations.c.org_id == org_id,
            invitations.c.accepted_at.is_(None),
            invitations.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .returning(invitations.c.id)
    )
    return (await conn.execute(query)).first() is not None
