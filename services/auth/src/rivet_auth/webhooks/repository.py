"""Who hears about an organization's endpoints: stores and loads nothing else."""

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import organizations, users


async def active_admins(conn: AsyncConnection, org_id: UUID) -> list[RowMapping]:
    """The organization's active admins (id, email, verified, name) with its name."""
    query = (
        select(
            users.c.id,
            users.c.email,
            users.c.email_verified,
            users.c.full_name,
            organizations.c.name.label("organization_name"),
        )
        .join(organizations, organizations.c.id == users.c.org_id)
        .where(users.c.org_id == org_id, users.c.role == "admin", users.c.is_active)
        .order_by(users.c.created_at, users.c.id)
    )
    return list((await conn.execute(query)).mappings())
