"""The time-zone replica: what is stored and how it is read.

Auth owns the organization's IANA time zone and announces changes (``user.organization_updated``
carries it). Events may arrive late and through several consumers, so a row is replaced only by
an event that happened later (``as_of``): the comparison is part of the statement, so two
deliveries racing cannot put an older zone back.
"""

from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import organizations


async def store_time_zone(
    conn: AsyncConnection, org_id: UUID, time_zone: str, as_of: datetime
) -> bool:
    """Store ``time_zone`` for the organization unless what is stored happened later; whether
    it was stored."""
    statement = insert(organizations).values(org_id=org_id, time_zone=time_zone, as_of=as_of)
    statement = statement.on_conflict_do_update(
        index_elements=[organizations.c.org_id],
        set_={
            "time_zone": statement.excluded.time_zone,
            "as_of": statement.excluded.as_of,
            "replicated_at": func.now(),
        },
        where=organizations.c.as_of < statement.excluded.as_of,
    )
    result = await conn.execute(statement)
    return bool(result.rowcount)


async def time_zone(conn: AsyncConnection, org_id: UUID) -> str | None:
    """The organization's zone, None when no event about it has arrived yet."""
    query = select(organizations.c.time_zone).where(organizations.c.org_id == org_id)
    found: str | None = await conn.scalar(query)
    return found


async def time_zones(conn: AsyncConnection, org_ids: list[UUID]) -> dict[UUID, str]:
    """The zones of the organizations that have one stored."""
    if not org_ids:
        return {}
    query = select(organizations.c.org_id, organizations.c.time_zone).where(
        organizations.c.org_id.in_(org_ids)
    )
    return {row.org_id: row.time_zone for row in await conn.execute(query)}
