"""Event consumers that keep the equipment and user replicas.

Each is a durable consumer (one per subject: JetStream binds a durable to one filter). The
inbox makes a redelivery a no-op; for equipment the version check also makes an older event
arriving after a newer one (or after the create-or-match reply was stored) a no-op.
"""

import logging
from typing import Any

from rivet_contracts import EventEnvelope, Events
from rivet_contracts.assets import EquipmentSnapshot
from rivet_contracts.auth import (
    UserDeactivated,
    UserEmailVerified,
    UserJoined,
    UserReactivated,
    UserRegistered,
    UserRoleChanged,
)
from rivet_runtime import EventContext, EventRouter

from ..state import WorkordersState
from . import repository as repo
from .replicate import replicate_equipment

log = logging.getLogger(__name__)

router: EventRouter[WorkordersState] = EventRouter()
Ctx = EventContext[WorkordersState]


@router.on(Events.EQUIPMENT_CREATED, consumer="workorders-equipment-created")
@router.on(Events.EQUIPMENT_UPDATED, consumer="workorders-equipment-updated")
@router.on(Events.EQUIPMENT_MATCHED, consumer="workorders-equipment-matched")
async def on_equipment(event: EventEnvelope[Any], ctx: Ctx) -> None:
    data: EquipmentSnapshot = event.data
    if event.org_id is None:
        log.warning("%s %s has no organization; ignored", event.type, event.event_id)
        return
    record = repo.EquipmentRecord.of_event(data)
    await replicate_equipment(ctx.conn, event.org_id, record, ctx.state.clock.now())


@router.on(Events.USER_REGISTERED, consumer="workorders-users-registered")
@router.on(Events.USER_JOINED, consumer="workorders-users-joined")
@router.on(Events.USER_REACTIVATED, consumer="workorders-users-reactivated")
async def on_user(event: EventEnvelope[Any], ctx: Ctx) -> None:
    data: UserRegistered | UserJoined | UserReactivated = event.data
    await repo.replicate_user(
        ctx.conn, data.user_id, data.org_id, data.full_name, data.email, data.role.value,
        as_of=event.occurred_at,
    )  # fmt: skip


@router.on(Events.USER_ROLE_CHANGED, consumer="workorders-users-role-changed")
async def on_role_changed(event: EventEnvelope[UserRoleChanged], ctx: Ctx) -> None:
    data = event.data
    await repo.change_user(ctx.conn, data.user_id, event.occurred_at, role=data.role.value)


@router.on(Events.USER_EMAIL_VERIFIED, consumer="workorders-users-email")
async def on_email(event: EventEnvelope[UserEmailVerified], ctx: Ctx) -> None:
    await repo.change_user(ctx.conn, event.data.user_id, event.occurred_at, email=event.data.email)


@router.on(Events.USER_DEACTIVATED, consumer="workorders-users-deactivated")
async def on_deactivated(event: EventEnvelope[UserDeactivated], ctx: Ctx) -> None:
    await repo.change_user(ctx.conn, event.data.user_id, event.occurred_at, active=False)
