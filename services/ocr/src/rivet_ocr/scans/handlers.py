"""Request handlers for scans."""

from rivet_contracts import Rpc
from rivet_contracts import ocr as contract
from rivet_runtime import RequestContext, RpcRouter

from ..state import OcrState
from . import service

router: RpcRouter[OcrState] = RpcRouter()
Ctx = RequestContext[OcrState]


@router.handler(Rpc.OCR_SUBMIT, own_transaction=True)
async def submit(req: contract.SubmitNameplate, ctx: Ctx) -> contract.ScanView:
    return await service.submit(ctx, ctx.caller, req)


@router.handler(Rpc.OCR_GET_SCAN)
async def get(req: contract.GetScan, ctx: Ctx) -> contract.ScanView:
    return await service.get(ctx, ctx.caller.org_id, req.scan_id)


@router.handler(Rpc.OCR_CONFIRM)
async def confirm(req: contract.ConfirmScan, ctx: Ctx) -> contract.ScanView:
    return await service.confirm(ctx, ctx.caller, req)
