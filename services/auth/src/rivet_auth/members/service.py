"""Changing a member's role, switching an account off and on. A change ends the member's
access tokens at once (``sessions.service.revoke``); deactivation also ends their sessions.
Never commits: the runtime does."""

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from rivet_contracts import ErrorCode, Events, Role, ServiceError
from rivet_contracts import auth as contract
from rivet_runtime import RequestContext

from ..accounts import repository as accounts
from ..accounts.service import get_user
from ..audit.service import record
from ..sessions import repository as sessions
from ..sessions.service import revoke
from ..state import AuthState
from .rules import require_another_admin, require_person

Ctx = RequestContext[AuthState]


@dataclass(frozen=True)
class Member:
    user_id: UUID
    org_id: UUID
    role: Role
    is_active: bool
    admins: list[UUID]
    """The organization's active admins (locked with the member)."""


async def _member(ctx: Ctx, user_id: UUID) -> Member:
    """The caller's organization's member, locked; another organization's is "not found"."""
    require_person(ctx.caller, "API keys cannot manage members")
    org_id = ctx.caller.org_id
    admins = await accounts.lock_active_admins(ctx.conn, org_id)  # first: one lock order
    row = await accounts.lock_member(ctx.conn, org_id, user_id)
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "user not found")
    return Member(user_id, org_id, Role(row["role"]), bool(row["is_active"]), admins)


async def change_role(ctx: Ctx, req: contract.ChangeRole) -> contract.UserView:
    member = await _member(ctx, req.user_id)
    previous = member.role
    if previous is req.role:
        return await get_user(ctx, req.user_id)
    if member.is_active:
        require_another_admin(member.admins, req.user_id, new_role=req.role)
    now = datetime.now(UTC)
    await accounts.set_member(ctx.conn, req.user_id, role=req.role.value)
    # tokens carry the role: the old ones stop working; a refresh gives the new role
    await revoke(ctx, req.user_id, member.org_id, None, "role changed", now)
    await record(
        ctx.conn, member.org_id, contract.AuditAction.ROLE_CHANGED, actor_id=ctx.caller.user_id,
        user_id=req.user_id, channel=ctx.channel,
        details={"role": req.role.value, "previous_role": previous.value},
    )  # fmt: skip
    await ctx.emit(
        Events.USER_ROLE_CHANGED,
        contract.UserRoleChanged(
            user_id=req.user_id,
            org_id=member.org_id,
            role=req.role,
            previous_role=previous,
            changed_by=ctx.caller.user_id,
        ),
        org_id=member.org_id,
    )
    return await get_user(ctx, req.user_id)


async def deactivate(ctx: Ctx, req: contract.DeactivateUser) -> contract.UserView:
    member = await _member(ctx, req.user_id)
    if not member.is_active:
        return await get_user(ctx, req.user_id)
    require_another_admin(member.admins, req.user_id, new_role=None)
    now = datetime.now(UTC)
    await accounts.set_member(ctx.conn, req.user_id, is_active=False)
    await sessions.revoke_user_tokens(ctx.conn, req.user_id, now)
    await revoke(ctx, req.user_id, member.org_id, None, "deactivated", now)
    await record(
        ctx.conn, member.org_id, contract.AuditAction.DEACTIVATED, actor_id=ctx.caller.user_id,
        user_id=req.user_id, channel=ctx.channel,
    )  # fmt: skip
    await ctx.emit(
        Events.USER_DEACTIVATED,
        contract.UserDeactivated(
            user_id=req.user_id, org_id=member.org_id, deactivated_by=ctx.caller.user_id
        ),
        org_id=member.org_id,
    )
    return await get_user(ctx, req.user_id)


async def reactivate(ctx: Ctx, req: contract.ReactivateUser) -> contract.UserView:
    member = await _member(ctx, req.user_id)
    if member.is_active:
        return await get_user(ctx, req.user_id)
    await accounts.set_member(ctx.conn, req.user_id, is_active=True)
    await record(
        ctx.conn, member.org_id, contract.AuditAction.REACTIVATED, actor_id=ctx.caller.user_id,
        user_id=req.user_id, channel=ctx.channel,
    )  # fmt: skip
    user = await get_user(ctx, req.user_id)
    await ctx.emit(
        Events.USER_REACTIVATED,
        contract.UserReactivated(
            user_id=user.id,
            org_id=user.org_id,
            email=user.email,
            full_name=user.full_name,
            role=user.role,
            reactivated_by=ctx.caller.user_id,
        ),
        org_id=user.org_id,
    )
    return user
