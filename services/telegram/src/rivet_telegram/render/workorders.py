"""Work orders: the card (one order with its checklist and latest notes) and list lines.

The card starts with the order's number: a reply to any message carrying a number comments on
that order, which is how "reply to comment" works without remembering message ids.
"""

import re
from typing import Any

from rivet_contracts.workorders import (
    ChecklistItemView,
    ChecklistKind,
    PassFail,
    TimelineEntry,
    TimelineKind,
    WorkOrderView,
)

from .attachments import files
from .common import PRIORITY, STATUS, esc, fit, number, when, words

WO_NUMBER = re.compile(r"\bWO-\d{4}-\d{6}\b")
TIMELINE_SHOWN = 5
OVERRIDE_ADMINS_ONLY = (
    "🔒 Only an admin can complete an order whose required checklist items are open."
)
ITEMS_SHOWN = 20
"""Checklist items on a card at most; a longer list shows its open items."""
CHECKLIST_BUDGET = 1800
"""Characters of checklist lines on a card at most, so the rest of the card still fits."""


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
    if order.checklist:
        lines += ["", *checklist(order.checklist)]
    if order.attachment_count:
        lines += ["", f"📎 {files(order.attachment_count)} (📎 Files sends them)"]
    notes = [entry for entry in order.timeline or [] if entry.kind is not TimelineKind.CREATED]
    if notes:
        lines += ["", "<b>Latest</b>"]
        lines += [_entry(entry) for entry in notes[-TIMELINE_SHOWN:]]
    lines += [
        "",
        "<i>Reply to this message to add a comment, or with a photo or a file to attach it.</i>",
    ]
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
    if entry.kind is TimelineKind.CHECKLIST_ITEM:
        return f"• {at} 📋 {who}: {_checked(entry.changes)}"
    if entry.kind is TimelineKind.CHECKLIST_OVERRIDE:
        count = entry.changes.get("open_required_items", "some")
        reason = f": {esc(entry.body, 200)}" if entry.body else ""
        return f"• {at} ⚠️ {who} completed it with {count} required item(s) open{reason}"
    if entry.kind in (TimelineKind.ATTACHMENT_ADDED, TimelineKind.ATTACHMENT_REMOVED):
        brief = entry.changes.get("attachment") or {}
        name = esc(brief.get("filename") or entry.body or "a file", 80)
        if entry.kind is TimelineKind.ATTACHMENT_ADDED:
            return f"• {at} 📎 {who} added {name}"
        return f"• {at} 🗑 {who} removed {name}"
    return f"• {at} ✏️ {who} updated {esc(', '.join(entry.changes), 100)}"


def line(order: WorkOrderView) -> str:
    overdue = " ⚠️" if order.overdue else ""
    return (
        f"{STATUS[order.status].split(' ')[0]} <b>{esc(order.number)}</b> "
        f"{PRIORITY[order.priority].split(' ')[0]} {esc(order.title, 60)} · "
        f"{esc(order.equipment.number)}{overdue}"
    )


# --- the checklist --------------------------------------------------------------------------


def range_of(item: ChecklistItemView) -> str:
    """``0 to 3.5 mm/s`` for a ``number`` item with limits, ``mm/s`` with a unit only."""
    unit = f" {esc(item.unit, 20)}" if item.unit else ""
    if item.low is None and item.high is None:
        return unit.strip()
    low = number(item.low) if item.low is not None else "…"
    high = number(item.high) if item.high is not None else "…"
    return f"{low} to {high}{unit}"


def result_of(item: ChecklistItemView) -> str:
    """An item's result as shown: ``pass``, ``fail``, ``4.2 mm/s`` (empty when none)."""
    if isinstance(item.result, PassFail):
        return item.result.value
    if item.result is None:
        return ""
    return f"{number(item.result)}{f' {esc(item.unit, 20)}' if item.unit else ''}"


def item_line(item: ChecklistItemView) -> str:
    text = f"{item.position}. {esc(item.text, 80)}"
    required = " · <i>required</i>" if item.required else ""
    if not item.done:
        hint = (
            f" ({range_of(item)})" if item.kind is ChecklistKind.NUMBER and range_of(item) else ""
        )
        return f"⬜ {text}{hint}{required}"
    if item.result is PassFail.FAIL:
        line = f"❌ {text}: <b>fail</b>"
    elif item.out_of_limits:
        line = f"⚠️ {text}: <b>{result_of(item)}</b> <b>out of limits</b> ({range_of(item)})"
    elif result_of(item):
        line = f"✅ {text}: <b>{result_of(item)}</b>"
    else:
        line = f"✅ {text}"
    line += required
    if item.note:
        line += f"\n      💬 {esc(item.note, 150)}"
    return line


def checklist(items: list[ChecklistItemView]) -> list[str]:
    """The checklist section of a card: how far it is, then the items (a long list: the open
    ones first, and how many more there are)."""
    done = sum(1 for i in items if i.done)
    open_required = sum(1 for i in items if i.required and not i.done)
    flagged = sum(1 for i in items if i.out_of_limits or i.result is PassFail.FAIL)
    head = f"📋 <b>Checklist</b> {done}/{len(items)} done"
    if open_required:
        head += f" · ❗ <b>{open_required} required still open</b>"
    if flagged:
        head += f" · ⚠️ {flagged} out of limits or failed"
    candidates = items
    if len(items) > ITEMS_SHOWN:
        candidates = [i for i in items if not i.done][:ITEMS_SHOWN] or items[-ITEMS_SHOWN:]
    lines, used = [head], 0
    for item in candidates:
        line = item_line(item)
        used += len(line) + 1
        if used > CHECKLIST_BUDGET:
            break
        lines.append(line)
    if len(lines) - 1 < len(items):
        more = len(items) - (len(lines) - 1)
        lines.append(f"<i>… and {more} more (the web app lists them all)</i>")
    return lines


def _checked(changes: dict[str, Any]) -> str:
    """A ``checklist_item`` timeline entry's change: the item and what it became."""
    item = changes.get("item") or {}
    name = f"{item.get('position', '?')}. {esc(item.get('text', ''), 60)}"
    done, result = changes.get("done") or [None, None], changes.get("result") or [None, None]
    if not done[-1]:
        return f"{name} taken back"
    if result[-1] is None:
        return f"{name} done"
    value = result[-1]
    shown = number(value) if isinstance(value, int | float) else esc(value, 20)
    flagged = " ⚠️ out of limits" if (changes.get("out_of_limits") or [False])[-1] else ""
    return f"{name} → {shown}{flagged}"


def ask_reading(number_: str, item: ChecklistItemView) -> str:
    """The question after a ``number`` item's button."""
    lines = [f"🔢 <b>{esc(number_)}</b> · {item.position}. {esc(item.text, 200)}"]
    if item.low is not None or item.high is not None:
        lines.append(f"Good: {range_of(item)}")
    elif item.unit:
        lines.append(f"In {esc(item.unit, 20)}")
    lines.append(
        "Send the reading, with a note after it if you like "
        "(<code>4.2 bolts tightened</code>), or /cancel."
    )
    return "\n".join(lines)


def item_recorded(number_: str, item: ChecklistItemView) -> str:
    flagged = " ⚠️ <b>out of limits</b>" if item.out_of_limits else ""
    shown = result_of(item) or "done"
    return (
        f"📋 Recorded on <b>{esc(number_)}</b>: {item.position}. {esc(item.text, 100)}: "
        f"<b>{shown}</b>{flagged}."
    )


def not_recorded(message: str) -> str:
    return f"❌ Not recorded: {esc(message.rstrip('. '), 500)}."


def not_completed(number_: str, message: str, admin: bool) -> str:
    """A completion refused because required checklist items are open (the service's 409,
    in its words), and what the user can do about it."""
    lines = [f"⛔ <b>{esc(number_)}</b> was not completed.", f"⚠️ {esc(message, 1200)}"]
    if admin:
        lines.append(
            "Record them on the card, or complete it anyway: tap <b>⚠️ Complete anyway</b> "
            "and say why (the reason goes into the order's timeline)."
        )
    else:
        lines.append("Record them on the card first; only an admin can complete it without them.")
    return "\n".join(lines)
