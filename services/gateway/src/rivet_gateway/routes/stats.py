"""``/api/stats``: counts, equipment health, trends, your own work, maintenance KPIs."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from rivet_contracts import Rpc
from rivet_contracts import workorders as contract

from ..deps import Caller, Fwd
from .docs import errors

router = APIRouter(prefix="/api/stats", tags=["stats"])


@router.get("/overview", response_model=contract.Overview, responses=errors(401))
async def overview(fwd: Fwd, meta: Caller) -> Response:
    """Assets, work orders by status and (open ones) by priority, overdue orders, top
    manufacturers and fault codes."""
    return await fwd.call(Rpc.STATS_OVERVIEW, contract.StatsOverviewQuery(), meta)


@router.get(
    "/equipment-health",
    response_model=contract.EquipmentHealthReport,
    responses=errors(401, 404, 422),
)
async def equipment_health(
    query: Annotated[contract.EquipmentHealthQuery, Query()], fwd: Fwd, meta: Caller
) -> Response:
    """Health score 0-100 per asset, worst first, with the formula and each score explained."""
    return await fwd.call(Rpc.STATS_EQUIPMENT_HEALTH, query, meta)


@router.get("/work-order-trends", response_model=contract.Trends, responses=errors(401, 422))
async def trends(
    query: Annotated[contract.TrendsQuery, Query()], fwd: Fwd, meta: Caller
) -> Response:
    """Per UTC day of the last `days` (1-365): created, completed, cancelled, reopened, and the
    open backlog at the end of the day."""
    return await fwd.call(Rpc.STATS_TRENDS, query, meta)


@router.get("/summary", response_model=contract.Summary, responses=errors(401, 422))
async def summary(
    query: Annotated[contract.SummaryQuery, Query()], fwd: Fwd, meta: Caller
) -> Response:
    """Your own work: open orders assigned to you, orders you reported, recent completions."""
    return await fwd.call(Rpc.STATS_SUMMARY, query, meta)


@router.get("/kpis", response_model=contract.Kpis, responses=errors(401, 422))
async def kpis(query: Annotated[contract.KpiQuery, Query()], fwd: Fwd, meta: Caller) -> Response:
    """MTTR, MTBF, mean time to acknowledge, backlog hours, planned share over `days`
    (1-365); each with its formula and inputs."""
    return await fwd.call(Rpc.STATS_KPIS, query, meta)
