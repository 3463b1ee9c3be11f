"""Equipment-first creation and assignee checks, on the replicas, with the owners as fallback.

The replicas are fed by events, so a just-created asset or just-joined user may not be here
yet. Rather than refuse what the caller can see elsewhere, a miss asks the owning service (as
the caller) and stores the answer - the same upsert the events use, so the later event is a
no-op.

Writes come in two steps. ``prepare_*`` run before the order's unit of work: they may ask
another service, so they hold no transaction while they wait (a short read, then a short
upsert of what the owner said). Inside the unit of work, ``equipment_for_order`` and
``require_assignable`` read only the replicas.
"""

from uuid import UUID

from sqlalchemy.engine import RowMapping

from rivet_contracts import ErrorCode, Role, ServiceError, assets, auth, refs
from rivet_contracts.assets import EquipmentStatus, EquipmentView, GetEquipment, MatchOutcome
from rivet_contracts.auth import ListUsers
from rivet_contracts.workorders import CreateWorkOrder
from rivet_runtime import RequestContext

from ..state import WorkordersState
from . import repository as repo
from .replicate import replicate_equipment
from .repository import EquipmentRecord

Ctx = RequestContext[WorkordersState]


async def prepare_equipment(ctx: Ctx, req: CreateWorkOrder) -> UUID:
    """Before the unit of work: the id of the asset the new order is for (see
    ``CreateWorkOrder``), in the replica once this returns. May ask the assets service."""
    if req.equipment is not None:
        result = await ctx.call(assets.CREATE, req.equipment)
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
        async with ctx.transaction():
            await _store(ctx, result.equipment)
        return result.equipment.id
    assert req.equipment_id is not None  # the request model requires one of the two
    check_equipment_ref(req.equipment_id, "equipment_id")
    org_id = ctx.caller.org_id
    async with ctx.reading() as conn:
        row = await repo.find_equipment(conn, org_id, req.equipment_id)
    if row is not None:
        return UUID(str(row["id"]))
    view = await _ask_assets(ctx, req.equipment_id)
    if view is None:
        raise _unknown_equipment(req.equipment_id)
    async with ctx.transaction():
        await _store(ctx, view)
    return view.id


async def equipment_for_order(ctx: Ctx, equipment_id: UUID) -> RowMapping:
    """In the unit of work: the replica row of an asset ``prepare_equipment`` returned, if it
    may take a new order."""
    row = await repo.find_equipment(ctx.conn, ctx.caller.org_id, str(equipment_id))
    if row is None:  # not expected: prepare_equipment stored it
        raise _unknown_equipment(str(equipment_id))
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
    view = await _ask_assets(ctx, ref)
    return None if view is None else await _store(ctx, view)


async def _ask_assets(ctx: Ctx, ref: str) -> EquipmentView | None:
    try:
        return await ctx.call(assets.GET, GetEquipment(ref=ref))
    except ServiceError as exc:
        if exc.code is ErrorCode.NOT_FOUND:
            return None
        raise


def _unknown_equipment(ref: str) -> ServiceError:
    return ServiceError(
        ErrorCode.VALIDATION,
        f"equipment {ref} not found in your organization",
        details=[{"loc": ["equipment_id"], "msg": "unknown equipment", "type": "not_found"}],
    )


def check_equipment_ref(ref: str, field: str) -> None:
    try:
        refs.parse_ref(ref, refs.EQUIPMENT_PREFIX)
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
    await replicate_equipment(
        ctx.conn, org_id, EquipmentRecord.of_view(view), ctx.state.clock.now()
    )
    row = await repo.find_equipment(ctx.conn, org_id, str(view.id))
    assert row is not None
    return row


async def prepare_assignee(ctx: Ctx, user_id: UUID) -> None:
    """Before the unit of work: if the replica does not know ``user_id``, ask the auth service
    for the caller's organization and store its members."""
    caller = ctx.caller
    if user_id == caller.user_id:
        return
    async with ctx.reading() as conn:
        if await repo.find_user(conn, caller.org_id, user_id) is not None:
            return
    members = await ctx.call(auth.LIST_USERS, ListUsers())
    async with ctx.transaction():
        for member in members.items:
            if member.org_id == caller.org_id:
                await repo.replicate_user(
                    ctx.conn, member.id, member.org_id, member.full_name, member.email, member.role
                )


async def require_assignable(ctx: Ctx, user_id: UUID) -> None:
    """In the unit of work, after ``prepare_assignee``: ``user_id`` is a technician or admin
    of the caller's organization."""
    caller = ctx.caller
    user = await repo.find_user(ctx.conn, caller.org_id, user_id)
    if user is not None and not user["active"]:
        raise ServiceError(
            ErrorCode.VALIDATION,
            "this member's account is switched off; they cannot be assigned work orders",
            details=[{"loc": ["assignee_id"], "msg": "deactivated", "type": "value_error"}],
        )
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
