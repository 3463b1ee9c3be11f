"""The time-zone replica, fed by auth's events: a registration (UTC, auth's default) and every
change of the organization's settings. A later event wins; a new zone moves the calendar plans'
next occurrences."""

import logging
from typing import Any

from rivet_contracts import EventEnvelope, Events
from rivet_contracts.auth import OrganizationUpdated, UserRegistered
from rivet_runtime import EventContext, EventRouter

from ..state import MaintenanceState
from . import service

log = logging.getLogger(__name__)

router: EventRouter[MaintenanceState] = EventRouter()
Ctx = EventContext[MaintenanceState]


@router.on(Events.USER_REGISTERED, consumer="maintenance-organization-registered")
async def registered(event: EventEnvelope[Any], ctx: Ctx) -> None:
    data: UserRegistered = event.data
    await service.store_zone(ctx.conn, data.org_id, service.DEFAULT_ZONE, event.occurred_at)


@router.on(Events.ORGANIZATION_UPDATED, consumer="maintenance-organization-updated")
async def organization_updated(event: EventEnvelope[Any], ctx: Ctx) -> None:
    data: OrganizationUpdated = event.data
    if await service.store_zone(ctx.conn, data.org_id, data.time_zone, event.occurred_at):
        moved = await service.reschedule(ctx.conn, data.org_id, ctx.state.clock.now())
        log.info(
            "organization %s: time zone %s, %d plans moved", data.org_id, data.time_zone, moved
        )
