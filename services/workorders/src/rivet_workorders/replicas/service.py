"""Equipment-first creation and assignee checks, on the replicas, with the owners as fallback.

The replicas are fed by events, so a just-created asset or just-joined user may not be here
yet. Rather than refuse what the caller can see elsewhere, a miss asks the owning service (as
the caller) and stores the answer - the same upsert the events use, so the later event is a
no-op.
"""

from uuid import UUID

from sqlalchemy.engine import RowMapping

from rivet_contracts import ErrorCode, Role, Rpc, ServiceError
from rivet_contracts.assets import (
    CreateOrMatchResult,
    EquipmentStatus,
    EquipmentView,
    GetEquipment,
    MatchOutcome,
)
from rivet_contracts.auth import ListUsers, UserList
from rivet_contracts.workorders import CreateWorkOrder
from rivet_runtime import RequestContext

from ..state import WorkordersState
from . import repository as repo
from .repository import EquipmentRecord

Ctx = RequestContext[WorkordersState]


async def resolve_equipment(ctx: Ctx, req: CreateWorkOrder) -> RowMapping:
    """The replica row of the asset the new order is for (see ``CreateWorkOrder``)."""
    if req.equipment is not None:
        result = await ctx.state.peers.call(
            Rpc.ASSETS_CREATE, req.equipment, CreateOrMatchResult, ctx
        )
        if result.outcome is MatchOutcome.POSSIBLE_DUPLICATES or result.equipment is None:
            raise ServiceError(
                ErrorCode.CONFLICT,
                "this equipment may already be registered; choose: send `equipment_id` with one "
                "of the candidates, or `equipment.merge_into` with its id, or "
                "`equipment.create_anyway: true` to register a new asset",
                details={
                    "outcome": MatchOutcome.POSSIBLE_DUPLICATES.value,
                    "candidates": [c.model_dump(mode="json") for c in result.candidates],
                },
            )
        row = await _store(ctx, result.equipment)
    else:
        assert req.equipment_id is not None  # the request model requires one of the two
        found = await lookup_equipment(ctx, req.equipment_id, field="equipment_id")
        if found is None:
            raise ServiceError(
                ErrorCode.VALIDATION,
                f"equipment {req.equipment_id} not found in your organization",
                details=[
                    {"loc": ["equipment_id"], "msg": "unknown equipment", "type": "not_found"}
                ],
            )
        row = found
    if row["status"] == EquipmentStatus.RETIRED.value:
        raise ServiceError(
            ErrorCode.VALIDATION,
            f"equipment {row['number']} is retired; work orders need an asset in service",
            details=[{"loc": ["equipment_id"], "msg": "retired asset", "type": "value_error"}],
        )
    return row


async def lookup_equipment(ctx: Ctx, ref: str, *, field: str) -> RowMapping | None:
    """The caller's asset ``ref`` (id or EQ-number) from the replica, else from the assets
    service (then stored); None when the assets service does not know it either."""
    check_equipment_ref(ref, field)
    row = await repo.find_equipment(ctx.conn, ctx.caller.org_id, ref)
    if row is not None:
        return row
    try:
        view = await ctx.state.peers.call(Rpc.ASSETS_GET, GetEquipment(ref=ref), EquipmentView, ctx)
    except ServiceError as exc:
        if exc.code is ErrorCode.NOT_FOUND:
            return None
        raise
    return await _store(ctx, view)


def check_equipment_ref(ref: str, field: str) -> None:
    if ref.upper().startswith("EQ-"):
        return
    try:
        UUID(ref)
    except ValueError:
        raise ServiceError(
            ErrorCode.VALIDATION,
            "give an asset id or an equipment number (EQ-2026-000123)",
            details=[{"loc": [field], "msg": "not an id or EQ-number", "type": "value_error"}],
        ) from None


async def _store(ctx: Ctx, view: EquipmentView) -> RowMapping:
    org_id = ctx.caller.org_id
    if view.org_id != org_id:  # never expected: the assets service scopes by the same caller
        raise ServiceError(ErrorCode.NOT_FOUND, f"equipment {view.id} not found")
    await repo.replicate_equipment(
        ctx.conn, org_id, EquipmentRecord.of_view(view), ctx.state.clock.now()
    )
    row = await repo.find_equipment(ctx.conn, org_id, str(view.id))
    assert row is not None
    return row


async def require_assignable(ctx: Ctx, user_id: UUID) -> None:
    """``user_id`` is a technician or admin of the caller's organization."""
    caller = ctx.caller
    user = await repo.find_user(ctx.conn, caller.org_id, user_id)
    if user is None and user_id != caller.user_id:
        members = await ctx.state.peers.call(Rpc.AUTH_LIST_USERS, ListUsers(), UserList, ctx)
        for member in members.items:
            if member.org_id == caller.org_id:
                await repo.replicate_user(
                    ctx.conn, member.id, member.org_id, member.full_name, member.email, member.role
                )
        user = await repo.find_user(ctx.conn, caller.org_id, user_id)
    role: Role | None = Role(user["role"]) if user is not None else None
    if role is None and user_id == caller.user_id:
        role = caller.role
    if role is None:
        raise ServiceError(
            ErrorCode.VALIDATION,
            f"user {user_id} is not a member of your organization",
            details=[{"loc": ["assignee_id"], "msg": "unknown user", "type": "not_found"}],
        )
    if role is Role.VIEWER:
        raise ServiceError(
            ErrorCode.VALIDATION,
            "viewers cannot be assigned work orders",
            details=[{"loc": ["assignee_id"], "msg": "viewer", "type": "value_error"}],
        )
