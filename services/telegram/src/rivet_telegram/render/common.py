"""Escaping, clipping and the labels every message uses."""

import html
from datetime import UTC, datetime

from rivet_contracts.workorders import Priority, WorkOrderStatus

MAX_MESSAGE = 4000
"""Telegram's limit is 4096 characters; leave room for the templates."""

STATUS = {
    WorkOrderStatus.OPEN: "🟦 open",
    WorkOrderStatus.IN_PROGRESS: "🔧 in progress",
    WorkOrderStatus.ON_HOLD: "⏸ on hold",
    WorkOrderStatus.COMPLETED: "✅ completed",
    WorkOrderStatus.CANCELLED: "✖️ cancelled",
}
PRIORITY = {
    Priority.LOW: "▫️ low",
    Priority.MEDIUM: "🔸 medium",
    Priority.HIGH: "🔶 high",
    Priority.CRITICAL: "🔴 critical",
}


def clip(value: str, limit: int) -> str:
    value = value.strip()
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def esc(value: object, limit: int = 500) -> str:
    """``value`` as safe HTML text, at most ``limit`` characters before escaping."""
    return html.escape(clip(str(value), limit), quote=False)


def when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%d %b %H:%M UTC")


def number(value: float) -> str:
    """A reading as people write it: ``1520`` rather than ``1520.0``."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def words(value: str) -> str:
    """``in_service`` -> ``in service``."""
    return value.replace("_", " ")


def fit(text: str) -> str:
    """Keep a whole message under Telegram's limit (cutting at a line break)."""
    if len(text) <= MAX_MESSAGE:
        return text
    cut = text.rfind("\n", 0, MAX_MESSAGE)
    return text[: cut if cut > 0 else MAX_MESSAGE] + "\n…"
