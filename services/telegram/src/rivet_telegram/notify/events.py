"""Event consumers: the users replica, and notifications from work order events.

Each handler runs in the runtime's transaction with the inbox, so a redelivered event changes
nothing; notifications are rows in ``notifications`` (one per event and recipient) that the
``notifications`` job (``jobs.py``) delivers after the commit, woken by a notification.

Planned maintenance orders are announced from ``wo.created`` (those with a ``plan_id``), which
the work-order service publishes once per order however often the scheduler asks for it (the
idempotency key), rather than from ``pm.due``, which says the same about the same order: one
event, one notification. It also keeps the bot off the maintenance service's stream, so the
bot runs where that service does not.
"""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.dialects.postgresql import insert

from rivet_contracts import Events
from rivet_contracts.auth import UserJoined, UserRegistered, UserTelegramLinked
from rivet_contracts.envelope import EventEnvelope
from rivet_contracts.workorders import (
    WorkOrderAssigned,
    WorkOrderAttachmentAdded,
    WorkOrderCommented,
    WorkOrderCreated,
    WorkOrderOverdue,
    WorkOrderSnapshot,
    WorkOrderStatusChanged,
)
from rivet_runtime import EventContext, EventRouter
from rivet_runtime.jobs import notify

from ..render.common import esc
from ..state import TelegramState
from ..tables import notifications
from . import messages, users
from .jobs import CHANNEL

router: EventRouter[TelegramState] = EventRouter()
Ctx = EventContext[TelegramState]

_STORE = insert(notifications).on_conflict_do_nothing()


@router.on(Events.USER_REGISTERED, consumer="telegram-users-registered", workers=1)
async def registered(event: EventEnvelope[UserRegistered], ctx: Ctx) -> None:
    data = event.data
    await users.named(ctx.conn, data.user_id, data.org_id, data.full_name)


@router.on(Events.USER_JOINED, consumer="telegram-users-joined", workers=1)
async def joined(event: EventEnvelope[UserJoined], ctx: Ctx) -> None:
    data = event.data
    await users.named(ctx.conn, data.user_id, data.org_id, data.full_name)


@router.on(Events.USER_TELEGRAM_LINKED, consumer="telegram-users-linked", workers=1)
async def linked(event: EventEnvelope[UserTelegramLinked], ctx: Ctx) -> None:
    data = event.data
    await users.link(
        ctx.conn, user_id=data.user_id, org_id=data.org_id, telegram_user_id=data.telegram_user_id
    )


@router.on(Events.WO_STATUS_CHANGED, consumer="telegram-notify-status")
async def status_changed(event: EventEnvelope[WorkOrderStatusChanged], ctx: Ctx) -> None:
    actor = event.data.actor_id or _actor(event)
    await _enqueue(ctx, event, actor, messages.status_changed)


@router.on(Events.WO_ASSIGNED, consumer="telegram-notify-assigned")
async def assigned(event: EventEnvelope[WorkOrderAssigned], ctx: Ctx) -> None:
    actor = event.data.actor_id or _actor(event)
    await _enqueue(ctx, event, actor, messages.assigned)


@router.on(Events.WO_COMMENTED, consumer="telegram-notify-commented")
async def commented(event: EventEnvelope[WorkOrderCommented], ctx: Ctx) -> None:
    actor = event.data.author_id or _actor(event)
    await _enqueue(ctx, event, actor, messages.commented)


@router.on(Events.WO_CREATED, consumer="telegram-notify-planned")
async def created(event: EventEnvelope[WorkOrderCreated], ctx: Ctx) -> None:
    if event.data.plan_id is not None:  # other new orders are not announced
        await _enqueue(ctx, event, _actor(event), messages.planned)


@router.on(Events.WO_OVERDUE, consumer="telegram-notify-overdue")
async def overdue(event: EventEnvelope[WorkOrderOverdue], ctx: Ctx) -> None:
    await _enqueue(ctx, event, None, messages.overdue)


@router.on(Events.WO_ATTACHMENT_ADDED, consumer="telegram-notify-attachment")
async def attachment_added(event: EventEnvelope[WorkOrderAttachmentAdded], ctx: Ctx) -> None:
    await _enqueue(ctx, event, event.data.uploader_id, messages.attachment_added)


def _actor(event: EventEnvelope[Any]) -> UUID | None:
    return event.actor.user_id if event.actor is not None else None


async def _enqueue(ctx: Ctx, event: EventEnvelope[Any], actor: UUID | None, compose: Any) -> None:
    """Write one notification per recipient who has linked Telegram."""
    order: WorkOrderSnapshot = event.data
    max_age = timedelta(seconds=ctx.state.settings.telegram_notify_max_age)
    if datetime.now(UTC) - event.occurred_at > max_age:
        return  # news this old is no longer worth a ping (e.g. a first start replaying history)
    wanted = {order.assignee_id, order.requester_id, actor}
    if isinstance(order, WorkOrderAssigned):
        wanted.add(order.previous_assignee_id)
    known = await users.contacts(ctx.conn, {u for u in wanted if u is not None})

    def name(user_id: UUID | None) -> str:
        found = known.get(user_id) if user_id is not None else None
        return esc(found[1] or "Someone", 80) if found else "Someone"

    notes: list[messages.Note] = compose(order, actor, name)
    rows = [
        {
            "event_id": event.event_id,
            "user_id": note.user_id,
            "chat_id": known[note.user_id][0],
            "text": note.text,
            "work_order": order.number,
        }
        for note in notes
        if note.user_id in known and known[note.user_id][0] is not None
    ]
    if not rows:
        return
    # executemany: a multi-row .values([...]) cannot be cached by SQLAlchemy
    await ctx.conn.execute(_STORE, rows)
    await notify(ctx.conn, CHANNEL)  # wakes the sender when this commits
