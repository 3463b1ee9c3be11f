"""Who hears about a work order change, and what they read.

The assignee and the requester are told, never the person who made the change (the event's
actor): they already know. A reassignment also tells the previous assignee that the order left
their list. Each recipient gets the text written for them ("assigned it to you" vs "assigned it
to Tom"). A planned maintenance order (one a plan opened) is announced to its assignee when it
is created. An open order whose due date passes is announced to its assignee and requester.
A file added to an order is announced like a comment: who added what, and the order's count.
"""

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from rivet_contracts.workorders import (
    WorkOrderAssigned,
    WorkOrderAttachmentAdded,
    WorkOrderCommented,
    WorkOrderCreated,
    WorkOrderOverdue,
    WorkOrderSnapshot,
    WorkOrderStatusChanged,
    WorkType,
)

from ..render.attachments import KINDS, files
from ..render.common import PRIORITY, STATUS, esc, when, words

SCHEDULER_CHANNEL = "maintenance"
"""The ``source`` of orders the maintenance service's scheduler opened (in a plan author's name:
the author did not open it in person, so they are told too when they are its assignee)."""

Names = Callable[[UUID | None], str]
"""A user's name for the text (escaped), "someone" when unknown."""


@dataclass(frozen=True)
class Note:
    user_id: UUID
    text: str


def recipients(order: WorkOrderSnapshot, actor: UUID | None, *extra: UUID | None) -> list[UUID]:
    found = [order.assignee_id, order.requester_id, *extra]
    return list(dict.fromkeys(u for u in found if u is not None and u != actor))


def _head(order: WorkOrderSnapshot) -> str:
    equipment = esc(order.equipment_number) + (
        f" · {esc(order.equipment_name, 80)}" if order.equipment_name else ""
    )
    return f"<b>{esc(order.number)}</b> · {esc(order.title, 150)}\n🏭 {equipment}"


def status_changed(event: WorkOrderStatusChanged, actor: UUID | None, name: Names) -> list[Note]:
    reason = f"\nReason: {esc(event.reason, 500)}" if event.reason else ""
    text = (
        f"🔔 {_head(event)}\n{name(actor)} moved it to <b>{STATUS[event.to_status]}</b> "
        f"(was {STATUS[event.from_status]}).{reason}"
    )
    return [Note(user, text) for user in recipients(event, actor)]


def assigned(event: WorkOrderAssigned, actor: UUID | None, name: Names) -> list[Note]:
    notes = []
    for user in recipients(event, actor, event.previous_assignee_id):
        if user == event.assignee_id:
            what = "assigned it to <b>you</b>"
        elif user == event.previous_assignee_id:
            what = "took it off your list" + (
                f"; it is now {name(event.assignee_id)}'s" if event.assignee_id else ""
            )
        elif event.assignee_id is None:
            what = "unassigned it"
        else:
            what = f"assigned it to {name(event.assignee_id)}"
        notes.append(Note(user, f"👤 {_head(event)}\n{name(actor)} {what}."))
    return notes


def commented(event: WorkOrderCommented, actor: UUID | None, name: Names) -> list[Note]:
    text = (
        f"💬 {_head(event)}\n<b>{name(actor)}</b>: {esc(event.body, 1500)}\n\n"
        "<i>Reply to this message to answer.</i>"
    )
    return [Note(user, text) for user in recipients(event, actor)]


def planned(event: WorkOrderCreated, actor: UUID | None, name: Names) -> list[Note]:
    """A plan's order was opened: its assignee hears of it (not when they opened it
    themselves by hand); nobody when it has none."""
    assignee = event.assignee_id
    if event.plan_id is None or assignee is None:
        return []
    if assignee == actor and event.source != SCHEDULER_CHANNEL:
        return []
    kind = (
        "⚠️ A condition plan opened it (corrective)"
        if event.work_type is WorkType.CORRECTIVE
        else f"Planned {words(event.work_type.value)} maintenance"
    )
    text = (
        f"🗓 {_head(event)}\n{kind}, assigned to <b>you</b> · {PRIORITY[event.priority]} · "
        f"due {when(event.due_at)}.\n<i>Open it for its checklist.</i>"
    )
    return [Note(assignee, text)]


def overdue(event: WorkOrderOverdue, actor: UUID | None, name: Names) -> list[Note]:
    """An open order's due date passed: its assignee and requester hear of it once."""
    text = (
        f"⏰ {_head(event)}\nOverdue: it was due {when(event.due_at)} and is still "
        f"<b>{STATUS[event.status]}</b> · {PRIORITY[event.priority]}."
    )
    return [Note(user, text) for user in recipients(event, actor)]


def attachment_added(
    event: WorkOrderAttachmentAdded, actor: UUID | None, name: Names
) -> list[Note]:
    """A photo or a file went on the order: who added what (not to the one who added it)."""
    caption = f"\n“{esc(event.caption, 500)}”" if event.caption else ""
    text = (
        f"📎 {_head(event)}\n<b>{name(actor)}</b> added {KINDS[event.kind]}: "
        f"{esc(event.filename, 120)}{caption}\nThe order has {files(event.attachment_count)} now."
    )
    return [Note(user, text) for user in recipients(event, actor)]
