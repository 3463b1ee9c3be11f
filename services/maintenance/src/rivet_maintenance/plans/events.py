"""Plan authors follow their accounts (auth's events).

A plan's orders are requested in its author's name with the admin role every plan write
requires, so an author who is no longer an admin - given another role, or switched off - stops
being one: their plans keep recording occurrences, whose orders wait (``no_author``) until an
admin takes the plan over by changing it (``update_plan``, even with no change) or, paused,
resuming it. No order is requested with more rights
than a person has.
"""

import logging
from typing import Any
from uuid import UUID

from rivet_contracts import EventEnvelope, Events, Role
from rivet_contracts.auth import UserDeactivated, UserRoleChanged
from rivet_runtime import EventContext, EventRouter

from ..state import MaintenanceState
from . import repository as repo

log = logging.getLogger(__name__)

router: EventRouter[MaintenanceState] = EventRouter()
Ctx = EventContext[MaintenanceState]


@router.on(Events.USER_ROLE_CHANGED, consumer="maintenance-authors-role")
async def role_changed(event: EventEnvelope[Any], ctx: Ctx) -> None:
    data: UserRoleChanged = event.data
    if data.role is not Role.ADMIN:
        await _orphan(ctx, data.org_id, data.user_id, f"now {data.role.value}")


@router.on(Events.USER_DEACTIVATED, consumer="maintenance-authors-deactivated")
async def deactivated(event: EventEnvelope[Any], ctx: Ctx) -> None:
    data: UserDeactivated = event.data
    await _orphan(ctx, data.org_id, data.user_id, "switched off")


async def _orphan(ctx: Ctx, org_id: UUID, user_id: UUID, why: str) -> None:
    count = await repo.clear_author(ctx.conn, org_id, user_id)
    if count:
        log.warning(
            "%d plans of organization %s lost their author (%s): an admin takes them over",
            count,
            org_id,
            why,
        )
