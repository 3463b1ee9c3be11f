"""The replica of users the bot may notify: name, organization and Telegram id.

Fed by ``user.registered`` / ``user.joined`` (names) and ``user.telegram_linked`` (ids), in any
order: each writes only its own columns. A Telegram id belongs to one user at a time; linking it
to someone else takes it from the previous holder, as auth does.
"""

from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import users


async def named(conn: AsyncConnection, user_id: UUID, org_id: UUID, full_name: str) -> None:
    statement = insert(users).values(user_id=user_id, org_id=org_id, full_name=full_name)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[users.c.user_id],
            set_={"org_id": org_id, "full_name": full_name, "updated_at": func.now()},
        )
    )


async def link(
    conn: AsyncConnection,
    *,
    user_id: UUID,
    org_id: UUID,
    telegram_user_id: int,
    full_name: str | None = None,
) -> None:
    await conn.execute(
        update(users)
        .where(users.c.telegram_user_id == telegram_user_id, users.c.user_id != user_id)
        .values(telegram_user_id=None, updated_at=func.now())
    )
    values: dict[str, object] = {"org_id": org_id, "telegram_user_id": telegram_user_id}
    if full_name is not None:
        values["full_name"] = full_name
    statement = insert(users).values(user_id=user_id, **values)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[users.c.user_id], set_={**values, "updated_at": func.now()}
        )
    )


async def contacts(
    conn: AsyncConnection, user_ids: set[UUID]
) -> dict[UUID, tuple[int | None, str | None]]:
    """user id -> (Telegram id or None, name or None), for the users the replica knows."""
    if not user_ids:
        return {}
    rows = await conn.execute(
        select(users.c.user_id, users.c.telegram_user_id, users.c.full_name).where(
            users.c.user_id.in_(user_ids)
        )
    )
    return {row.user_id: (row.telegram_user_id, row.full_name) for row in rows}
