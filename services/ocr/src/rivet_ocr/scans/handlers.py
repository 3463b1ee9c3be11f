"""Request handlers for scans."""

from rivet_contracts import Rpc
from rivet_contracts import ocr as contract
from rivet_runtime import Accepted, RequestContext, RpcRouter

from ..state import OcrState
from . import service

router: RpcRouter[OcrState] = RpcRouter()
Ctx = RequestContext[OcrState]
IN_PROGRESS = frozenset({contract.ScanStatus.QUEUED, contract.ScanStatus.MATCHING})
"""Still being read or matched; the other statuses wait for no one (``needs_review`` waits for
a person, who is told so by the reply)."""


@router.handler(Rpc.OCR_SUBMIT, own_transaction=True)
async def submit(req: contract.SubmitNameplate, ctx: Ctx) -> contract.ScanView:
    return await service.submit(ctx, ctx.caller, req)


@router.handler(Rpc.OCR_GET_SCAN)
async def get(req: contract.GetScan, ctx: Ctx) -> contract.ScanView | Accepted[contract.ScanView]:
    scan = await service.get(ctx, ctx.caller.org_id, req.scan_id)
    return Accepted(scan) if scan.status in IN_PROGRESS else scan


@router.handler(Rpc.OCR_CONFIRM)
async def confirm(req: contract.ConfirmScan, ctx: Ctx) -> contract.ScanView:
    return await service.confirm(ctx, ctx.caller, req)
