"""Request handlers for the reports: parse nothing, decide nothing - hand over."""

from rivet_contracts import Rpc
from rivet_contracts import maintenance as contract
from rivet_runtime import RpcRouter

from ..state import MaintenanceState
from . import service
from .service import Ctx

router: RpcRouter[MaintenanceState] = RpcRouter()


@router.handler(Rpc.MAINTENANCE_FORECAST, own_transaction=True)
async def forecast(req: contract.GetForecast, ctx: Ctx) -> contract.Forecast:
    return await service.forecast(ctx, req)  # reads outside a transaction


@router.handler(Rpc.MAINTENANCE_OVERDUE)
async def overdue(req: contract.ListOverdue, ctx: Ctx) -> contract.OverdueList:
    return await service.overdue_list(ctx, req)


@router.handler(Rpc.MAINTENANCE_KPIS)
async def kpis(req: contract.GetPmKpis, ctx: Ctx) -> contract.PmKpis:
    return await service.kpis(ctx, req)
