"""Request handlers for attachments: parse nothing, decide nothing - hand over."""

from rivet_contracts import Done, Rpc
from rivet_contracts import attachments as contract
from rivet_runtime import RpcRouter

from ..state import AttachmentsState
from . import service
from .service import Ctx

router: RpcRouter[AttachmentsState] = RpcRouter()


@router.handler(Rpc.ATTACHMENTS_ADD, own_transaction=True)
async def add(req: contract.AddAttachment, ctx: Ctx) -> contract.AttachmentView:
    return await service.add(ctx, req)  # asks the record's owner, reads, renders, stores first


@router.handler(Rpc.ATTACHMENTS_LIST, own_transaction=True)
async def list_attachments(req: contract.ListAttachments, ctx: Ctx) -> contract.AttachmentPage:
    return await service.list_page(ctx, req)  # asks the record's owner first


@router.handler(Rpc.ATTACHMENTS_GET)
async def get(req: contract.GetAttachment, ctx: Ctx) -> contract.AttachmentFile:
    return await service.get(ctx, req)


@router.handler(Rpc.ATTACHMENTS_USAGE)
async def usage(req: contract.GetUsage, ctx: Ctx) -> contract.AttachmentUsage:
    return await service.usage(ctx)


@router.handler(Rpc.ATTACHMENTS_UPDATE)
async def update(req: contract.UpdateAttachment, ctx: Ctx) -> contract.AttachmentView:
    return await service.update(ctx, req)


@router.handler(Rpc.ATTACHMENTS_DELETE)
async def delete(req: contract.DeleteAttachment, ctx: Ctx) -> Done:
    return await service.delete(ctx, req)
