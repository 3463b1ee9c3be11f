"""Request handlers for the stats endpoints."""

from rivet_contracts import Rpc
from rivet_contracts import workorders as contract
from rivet_runtime import RpcRouter

from ..state import WorkordersState
from . import service
from .service import Ctx

router: RpcRouter[WorkordersState] = RpcRouter()


@router.handler(Rpc.STATS_OVERVIEW)
async def overview(req: contract.StatsOverviewQuery, ctx: Ctx) -> contract.Overview:
    return await service.overview(ctx, req)


@router.handler(Rpc.STATS_EQUIPMENT_HEALTH)
async def equipment_health(
    req: contract.EquipmentHealthQuery, ctx: Ctx
) -> contract.EquipmentHealthReport:
    return await service.equipment_health(ctx, req)


@router.handler(Rpc.STATS_TRENDS)
async def trends(req: contract.TrendsQuery, ctx: Ctx) -> contract.Trends:
    return await service.trends(ctx, req)


@router.handler(Rpc.STATS_SUMMARY)
async def summary(req: contract.SummaryQuery, ctx: Ctx) -> contract.Summary:
    return await service.summary(ctx, req)


@router.handler(Rpc.STATS_KPIS)
async def kpis(req: contract.KpiQuery, ctx: Ctx) -> contract.Kpis:
    return await service.kpis(ctx, req)
