"""Request handlers for imports."""

from rivet_contracts import Rpc
from rivet_contracts import assets as contract
from rivet_runtime import Accepted, RequestContext, RpcRouter

from ..state import AssetsState
from . import service

router: RpcRouter[AssetsState] = RpcRouter()
Ctx = RequestContext[AssetsState]
RUNNING = frozenset({contract.ImportStatus.QUEUED, contract.ImportStatus.RUNNING})


@router.handler(Rpc.ASSETS_IMPORT_START, own_transaction=True)
async def start(req: contract.StartImport, ctx: Ctx) -> contract.ImportView:
    return await service.start(ctx, ctx.caller, req)


@router.handler(Rpc.ASSETS_IMPORT_GET)
async def get(
    req: contract.GetImport, ctx: Ctx
) -> contract.ImportView | Accepted[contract.ImportView]:
    job = await service.get(ctx, ctx.caller.org_id, req.import_id, req.rows_offset, req.rows_limit)
    return Accepted(job) if job.status in RUNNING else job
