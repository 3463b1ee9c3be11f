"""Request handlers for work orders: parse nothing, decide nothing - hand over."""

from rivet_contracts import Rpc
from rivet_contracts import workorders as contract
from rivet_runtime import RpcRouter

from ..state import WorkordersState
from . import queries, service
from .service import Ctx

router: RpcRouter[WorkordersState] = RpcRouter()


@router.handler(Rpc.WORKORDERS_CREATE, own_transaction=True)
async def create(req: contract.CreateWorkOrder, ctx: Ctx) -> contract.WorkOrderView:
    return await service.create(ctx, req)


@router.handler(Rpc.WORKORDERS_GET)
async def get(req: contract.GetWorkOrder, ctx: Ctx) -> contract.WorkOrderView:
    return await service.get(ctx, req)


@router.handler(Rpc.WORKORDERS_LIST)
async def list_orders(req: contract.ListWorkOrders, ctx: Ctx) -> contract.WorkOrderPage:
    return await queries.list_page(ctx, req)


@router.handler(Rpc.WORKORDERS_UPDATE, own_transaction=True)
async def update(req: contract.UpdateWorkOrder, ctx: Ctx) -> contract.WorkOrderView:
    await service.prepare_update(ctx, req)  # may ask the auth service: before the transaction
    async with ctx.transaction():
        return await service.update(ctx, req)


@router.handler(Rpc.WORKORDERS_COMMENT)
async def comment(req: contract.CommentOnWorkOrder, ctx: Ctx) -> contract.TimelineEntry:
    return await service.comment(ctx, req)


@router.handler(Rpc.WORKORDERS_FOR_EQUIPMENT)
async def for_equipment(req: contract.ListEquipmentWorkOrders, ctx: Ctx) -> contract.WorkOrderPage:
    return await queries.for_equipment(ctx, req)


@router.handler(Rpc.WORKORDERS_EQUIPMENT_FIGURES)
async def equipment_figures(
    req: contract.EquipmentOrderFiguresQuery, ctx: Ctx
) -> contract.EquipmentOrderFiguresReply:
    return await queries.equipment_figures(ctx, req)


@router.handler(Rpc.WORKORDERS_CHECK_ITEM)
async def check_item(req: contract.CheckChecklistItem, ctx: Ctx) -> contract.ChecklistItemView:
    return await service.check_item(ctx, req)
