"""Work orders: the card (one order with its latest notes) and list lines.

The card starts with the order's number: a reply to any message carrying a number comments on
that order, which is how "reply to comment" works without remembering message ids.
"""

import re

from rivet_contracts.workorders import TimelineEntry, TimelineKind, WorkOrderView

from .common import PRIORITY, STATUS, esc, fit, when, words

WO_NUMBER = re.compile(r"\bWO-\d{4}-\d{6}\b")
TIMELINE_SHOWN = 5


def equipment_label(order: WorkOrderView) -> str:
    item = order.equipment
    parts = [item.manufacturer, item.model or "", f"({item.name})" if item.name else ""]
    return " ".join(p for p in parts if p)


def card(order: WorkOrderView) -> str:
    item = order.equipment
    due = when(order.due_at) + (" ⚠️ <b>overdue</b>" if order.overdue else "")
    lines = [
        f"<b>{esc(order.number)}</b> · {STATUS[order.status]}",
        f"<b>{esc(order.title, 200)}</b>",
        f"🏭 {esc(item.number)} · {esc(equipment_label(order), 200)}"
        + (f" · 📍 {esc(item.location, 120)}" if item.location else ""),
        f"Priority: {PRIORITY[order.priority]} · {words(order.work_type.value)} · due {due}",
        f"Assignee: {esc(order.assignee_name or '—', 100)} · "
        f"Reported by: {esc(order.requester_name or '—', 100)}",
    ]
    if order.fault_codes:
        lines.append("Fault codes: " + esc(", ".join(order.fault_codes), 200))
    if order.description:
        lines += ["", esc(order.description, 800)]
    notes = [entry for entry in order.timeline or [] if entry.kind is not TimelineKind.CREATED]
    if notes:
        lines += ["", "<b>Latest</b>"]
        lines += [_entry(entry) for entry in notes[-TIMELINE_SHOWN:]]
    lines += ["", "<i>Reply to this message to add a comment.</i>"]
    return fit("\n".join(lines))


def _entry(entry: TimelineEntry) -> str:
    who = esc(entry.author_name or "someone", 60)
    at = when(entry.at)
    if entry.kind is TimelineKind.STATUS_CHANGED and entry.to_status is not None:
        reason = f": {esc(entry.body, 200)}" if entry.body else ""
        return f"• {at} {who} → {STATUS[entry.to_status]}{reason}"
    if entry.kind is TimelineKind.COMMENT:
        return f"• {at} 💬 {who}: {esc(entry.body or '', 300)}"
    if entry.kind is TimelineKind.ASSIGNED:
        return f"• {at} 👤 {who} changed the assignee"
    return f"• {at} ✏️ {who} updated {esc(', '.join(entry.changes), 100)}"


def line(order: WorkOrderView) -> str:
    overdue = " ⚠️" if order.overdue else ""
    return (
        f"{STATUS[order.status].split(' ')[0]} <b>{esc(order.number)}</b> "
        f"{PRIORITY[order.priority].split(' ')[0]} {esc(order.title, 60)} · "
        f"{esc(order.equipment.number)}{overdue}"
    )
