"""Request handlers for meters and readings: parse nothing, decide nothing - hand over."""

from rivet_contracts import Rpc
from rivet_contracts import maintenance as contract
from rivet_runtime import RpcRouter

from ..state import MaintenanceState
from . import service
from .service import Ctx

router: RpcRouter[MaintenanceState] = RpcRouter()


@router.handler(Rpc.MAINTENANCE_CREATE_METER, own_transaction=True)
async def create_meter(req: contract.CreateMeter, ctx: Ctx) -> contract.MeterView:
    return await service.create(ctx, req)  # asks the assets service first


@router.handler(Rpc.MAINTENANCE_UPDATE_METER)
async def update_meter(req: contract.UpdateMeter, ctx: Ctx) -> contract.MeterView:
    return await service.update(ctx, req)


@router.handler(Rpc.MAINTENANCE_GET_METER)
async def get_meter(req: contract.GetMeter, ctx: Ctx) -> contract.MeterView:
    return await service.get(ctx, req)


@router.handler(Rpc.MAINTENANCE_LIST_METERS)
async def list_meters(req: contract.ListMeters, ctx: Ctx) -> contract.MeterPage:
    return await service.list_page(ctx, req)


@router.handler(Rpc.MAINTENANCE_RECORD_READING)
async def record_reading(req: contract.RecordReading, ctx: Ctx) -> contract.ReadingResult:
    return await service.record(ctx, req)


@router.handler(Rpc.MAINTENANCE_LIST_READINGS)
async def list_readings(req: contract.ListReadings, ctx: Ctx) -> contract.ReadingPage:
    return await service.list_readings(ctx, req)
