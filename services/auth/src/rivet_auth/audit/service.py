"""Recording security events in the transaction that makes them, and reading them back."""

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts import auth as contract
from rivet_runtime import RequestContext

from ..state import AuthState
from . import repository as repo

Ctx = RequestContext[AuthState]


async def record(
    conn: AsyncConnection,
    org_id: UUID,
    action: contract.AuditAction,
    *,
    actor_id: UUID | None,
    user_id: UUID | None = None,
    channel: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await repo.add(
        conn,
        org_id=org_id,
        action=action.value,
        actor_id=actor_id,
        user_id=user_id,
        channel=channel,
        details=details or {},
    )


async def page(ctx: Ctx, req: contract.ListAuditLog) -> contract.AuditLog:
    rows = await repo.page(ctx.conn, ctx.caller.org_id, req.before, req.limit + 1)
    items = [contract.AuditEntry.model_validate(dict(r)) for r in rows[: req.limit]]
    more = len(rows) > req.limit
    return contract.AuditLog(items=items, next_before=items[-1].id if more and items else None)
