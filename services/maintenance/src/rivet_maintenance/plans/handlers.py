"""Request handlers for plans: parse nothing, decide nothing - hand over."""

from rivet_contracts import Rpc
from rivet_contracts import maintenance as contract
from rivet_runtime import RpcRouter

from ..state import MaintenanceState
from . import service
from .service import Ctx

router: RpcRouter[MaintenanceState] = RpcRouter()


@router.handler(Rpc.MAINTENANCE_CREATE_PLAN, own_transaction=True)
async def create_plan(req: contract.CreatePlan, ctx: Ctx) -> contract.PlanView:
    return await service.create(ctx, req)  # asks the assets (and auth) service first


@router.handler(Rpc.MAINTENANCE_UPDATE_PLAN, own_transaction=True)
async def update_plan(req: contract.UpdatePlan, ctx: Ctx) -> contract.PlanView:
    return await service.update(ctx, req)  # may ask the assets (and auth) service first


@router.handler(Rpc.MAINTENANCE_PAUSE_PLAN)
async def pause_plan(req: contract.PausePlan, ctx: Ctx) -> contract.PlanView:
    return await service.pause(ctx, req)


@router.handler(Rpc.MAINTENANCE_RESUME_PLAN)
async def resume_plan(req: contract.ResumePlan, ctx: Ctx) -> contract.PlanView:
    return await service.resume(ctx, req)


@router.handler(Rpc.MAINTENANCE_GET_PLAN)
async def get_plan(req: contract.GetPlan, ctx: Ctx) -> contract.PlanView:
    return await service.get(ctx, req)


@router.handler(Rpc.MAINTENANCE_LIST_PLANS)
async def list_plans(req: contract.ListPlans, ctx: Ctx) -> contract.PlanPage:
    return await service.list_page(ctx, req)
