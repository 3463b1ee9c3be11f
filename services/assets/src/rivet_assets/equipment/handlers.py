"""Request handlers for the registry: turn the caller into a ``Who`` and hand over."""

from rivet_contracts import ErrorCode, Rpc, ServiceError
from rivet_contracts import assets as contract
from rivet_contracts.assets import MatchOutcome, Source
from rivet_runtime import Created, RequestContext, RpcRouter

from ..state import AssetsState
from . import attachments, queries, service
from .service import Who

router: RpcRouter[AssetsState] = RpcRouter()
Ctx = RequestContext[AssetsState]

_SOURCES = {s.value: s for s in Source}


def who(ctx: Ctx) -> Who:
    caller = ctx.caller
    return Who(caller.org_id, caller.user_id, _SOURCES.get(ctx.channel, Source.API), caller.role)


@router.handler(Rpc.ASSETS_CREATE)
async def create(
    req: contract.CreateEquipment, ctx: Ctx
) -> contract.CreateOrMatchResult | Created[contract.CreateOrMatchResult]:
    result = await service.create_or_match(ctx, who(ctx), req)
    return Created(result) if result.outcome == MatchOutcome.CREATED else result


@router.handler(Rpc.ASSETS_GET)
async def get(req: contract.GetEquipment, ctx: Ctx) -> contract.EquipmentView:
    return await service.get(ctx, ctx.caller.org_id, req.ref)


@router.handler(Rpc.ASSETS_LIST)
async def list_equipment(req: contract.ListEquipment, ctx: Ctx) -> contract.EquipmentPage:
    return await queries.list_page(ctx, ctx.caller.org_id, req)


@router.handler(Rpc.ASSETS_EXPORT)
async def export(req: contract.ExportEquipment, ctx: Ctx) -> contract.EquipmentCsvPart:
    return await queries.export_part(ctx, ctx.caller.org_id, req)


@router.handler(Rpc.ASSETS_UPDATE)
async def update(req: contract.UpdateEquipment, ctx: Ctx) -> contract.EquipmentView:
    if (req.patch is None) == (req.replace is None):
        raise ServiceError(ErrorCode.VALIDATION, "send exactly one of `patch` or `replace`")
    changes = (
        req.patch.model_dump(exclude_unset=True) if req.patch else req.replace.model_dump()  # type: ignore[union-attr]
    )
    return await service.update(
        ctx, who(ctx), req.ref, changes, expected_version=req.expected_version
    )


@router.handler(Rpc.ASSETS_RETIRE)
async def retire(req: contract.RetireEquipment, ctx: Ctx) -> contract.EquipmentView:
    return await service.retire(ctx, who(ctx), req.ref, req.reason)


@router.handler(Rpc.ASSETS_REINSTATE)
async def reinstate(req: contract.ReinstateEquipment, ctx: Ctx) -> contract.EquipmentView:
    return await service.reinstate(ctx, who(ctx), req.ref, req.reason)


@router.handler(Rpc.ASSETS_HISTORY)
async def history(req: contract.GetEquipmentHistory, ctx: Ctx) -> contract.EquipmentHistory:
    return await queries.history(ctx, ctx.caller.org_id, req)


@router.handler(Rpc.ASSETS_SET_PICTURE)
async def set_picture(req: contract.SetEquipmentPicture, ctx: Ctx) -> contract.EquipmentView:
    return await attachments.set_picture(ctx, who(ctx), req.ref, req.attachment_id)
