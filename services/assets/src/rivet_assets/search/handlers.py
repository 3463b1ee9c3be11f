"""Request handler for search."""

from rivet_contracts import Rpc
from rivet_contracts import assets as contract
from rivet_runtime import RequestContext, RpcRouter

from ..state import AssetsState
from . import service

router: RpcRouter[AssetsState] = RpcRouter()


@router.handler(Rpc.ASSETS_SEARCH)
async def search(
    req: contract.SearchEquipment, ctx: RequestContext[AssetsState]
) -> contract.SearchResult:
    return await service.search(ctx, ctx.caller.org_id, req.query, req.limit, req.offset)
