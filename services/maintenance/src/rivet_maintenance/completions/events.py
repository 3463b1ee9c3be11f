"""The work-order events the maintenance service follows: status changes of plans' orders."""

from typing import Any

from rivet_contracts import EventEnvelope, Events
from rivet_contracts.workorders import WorkOrderStatusChanged
from rivet_runtime import EventContext, EventRouter

from ..state import MaintenanceState
from . import service

router: EventRouter[MaintenanceState] = EventRouter()


@router.on(Events.WO_STATUS_CHANGED, consumer="maintenance-orders")
async def status_changed(event: EventEnvelope[Any], ctx: EventContext[MaintenanceState]) -> None:
    data: WorkOrderStatusChanged = event.data
    if data.plan_id is not None:  # other orders: nothing but the inbox row
        await service.apply(ctx, data)
