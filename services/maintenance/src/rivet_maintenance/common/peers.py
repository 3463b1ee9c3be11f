"""Questions to other services, asked as the caller before a unit of work: does the asset
exist in the caller's organization (assets), may a member be assigned work (auth)."""

from typing import Any
from uuid import UUID

from rivet_contracts import ErrorCode, Role, ServiceError, assets, auth
from rivet_contracts.assets import EquipmentStatus, EquipmentView, GetEquipment
from rivet_contracts.auth import ListUsers
from rivet_runtime import RequestContext

from .errors import invalid


async def asset(ctx: RequestContext[Any], ref: str, field: str = "equipment_id") -> EquipmentView:
    """The caller's asset ``ref`` (id or EQ-number), in service."""
    try:
        view = await ctx.call(assets.GET, GetEquipment(ref=ref))
    except ServiceError as exc:
        if exc.code in (ErrorCode.NOT_FOUND, ErrorCode.VALIDATION):
            message = f"equipment {ref} not found in your organization"
            raise invalid(field, message, "not_found") from None
        raise
    if view.org_id != ctx.caller.org_id:  # never expected: assets scopes by the same caller
        raise invalid(field, f"equipment {ref} not found in your organization", "not_found")
    if view.status is EquipmentStatus.RETIRED:
        raise invalid(field, f"equipment {view.number} is retired", "value_error")
    return view


async def check_assignee(ctx: RequestContext[Any], user_id: UUID) -> None:
    """``user_id`` is an active technician or admin of the caller's organization."""
    members = await ctx.call(auth.LIST_USERS, ListUsers())
    member = next((m for m in members.items if m.id == user_id), None)
    if member is None or member.org_id != ctx.caller.org_id:
        raise invalid("assignee_id", f"user {user_id} is not a member of your organization")
    if not member.is_active:
        raise invalid("assignee_id", "this member's account is switched off")
    if member.role is Role.VIEWER:
        raise invalid("assignee_id", "viewers cannot be assigned work orders")
