"""Inline keyboards: what a user can do next with what they see."""

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from rivet_contracts import Role
from rivet_contracts.assets import EquipmentView, MatchOutcome
from rivet_contracts.ocr import ScanStatus, ScanView
from rivet_contracts.workorders import Priority, WorkOrderStatus, WorkOrderView

from ..render.common import PRIORITY
from .callbacks import CreateCb, EqCb, EqListCb, ScanCb, StartCb, WoCb, WoListCb

TRANSITIONS: dict[str, tuple[WorkOrderStatus, bool]] = {
    "start": (WorkOrderStatus.IN_PROGRESS, False),
    "resume": (WorkOrderStatus.IN_PROGRESS, False),
    "hold": (WorkOrderStatus.ON_HOLD, True),
    "complete": (WorkOrderStatus.COMPLETED, False),
    "cancel": (WorkOrderStatus.CANCELLED, True),
    "reopen": (WorkOrderStatus.OPEN, True),
}
"""Button action -> (target status, whether the bot asks for a reason first)."""

_LABELS = {
    "start": "▶️ Start",
    "resume": "▶️ Resume",
    "hold": "⏸ Hold",
    "complete": "✅ Complete",
    "cancel": "✖️ Cancel",
    "reopen": "↩️ Reopen",
}
SCOPES = {"mine": "👤 Mine", "open": "🟦 Open", "all": "📚 All"}


def _actions(order: WorkOrderView) -> list[str]:
    allowed = set(order.allowed_transitions)
    found = []
    for action, (target, _reason) in TRANSITIONS.items():
        if target not in allowed:
            continue
        if action == "start" and order.status is WorkOrderStatus.ON_HOLD:
            continue
        if action == "resume" and order.status is not WorkOrderStatus.ON_HOLD:
            continue
        found.append(action)
    return found


def work_order(order: WorkOrderView, role: Role) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if role.at_least(Role.TECHNICIAN):
        for action in _actions(order):
            kb.button(
                text=_LABELS[action],
                callback_data=WoCb(action=action, number=order.number, version=order.version),
            )
        if order.assignee_id is None and order.status not in (
            WorkOrderStatus.COMPLETED,
            WorkOrderStatus.CANCELLED,
        ):
            kb.button(
                text="🙋 Take it",
                callback_data=WoCb(action="take", number=order.number, version=order.version),
            )
    kb.button(text="🔄 Refresh", callback_data=WoCb(action="refresh", number=order.number))
    kb.adjust(3)
    return kb.as_markup()


def open_order(number: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=f"Open {number}", callback_data=WoCb(action="view", number=number))
    return kb.as_markup()


def work_order_page(
    orders: list[WorkOrderView], scope: str, offset: int, next_offset: int | None, size: int
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for order in orders:
        kb.button(text=order.number, callback_data=WoCb(action="view", number=order.number))
    nav = []
    if offset > 0:
        kb.button(text="◀️ Back", callback_data=WoListCb(scope=scope, offset=max(0, offset - size)))
        nav.append(1)
    if next_offset is not None:
        kb.button(text="More ▶️", callback_data=WoListCb(scope=scope, offset=next_offset))
        nav.append(1)
    for name, label in SCOPES.items():
        marked = f"• {label}" if name == scope else label
        kb.button(text=marked, callback_data=WoListCb(scope=name, offset=0))
    rows = [2] * (len(orders) // 2) + ([1] if len(orders) % 2 else [])
    rows += [len(nav)] if nav else []
    kb.adjust(*rows, 3)
    return kb.as_markup()


def equipment(item: EquipmentView, role: Role) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if role.at_least(Role.TECHNICIAN):
        kb.button(text="🆕 New work order", callback_data=EqCb(action="new_wo", number=item.number))
    return kb.as_markup()


def equipment_page(
    items: list[EquipmentView], offset: int | None, more: int | None, size: int
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for item in items:
        kb.button(text=item.number, callback_data=EqCb(action="view", number=item.number))
    nav = 0
    if offset:
        kb.button(text="◀️ Back", callback_data=EqListCb(offset=max(0, offset - size)))
        nav += 1
    if more is not None:
        kb.button(text="More ▶️", callback_data=EqListCb(offset=more))
        nav += 1
    rows = [2] * (len(items) // 2) + ([1] if len(items) % 2 else [])
    kb.adjust(*rows, *([nav] if nav else []))
    return kb.as_markup()


def scan(view: ScanView, role: Role) -> InlineKeyboardMarkup | None:
    kb = InlineKeyboardBuilder()
    scan_id = view.id.hex
    if view.status is ScanStatus.RESOLVED and view.equipment_number:
        kb.button(
            text=f"🏭 {view.equipment_number}",
            callback_data=EqCb(action="view", number=view.equipment_number),
        )
        if role.at_least(Role.TECHNICIAN):
            kb.button(
                text="🆕 New work order",
                callback_data=EqCb(action="new_wo", number=view.equipment_number),
            )
    elif view.outcome is MatchOutcome.POSSIBLE_DUPLICATES and view.status is ScanStatus.RESOLVED:
        for index, candidate in enumerate(view.candidates):
            kb.button(
                text=f"Same as {candidate.number}",
                callback_data=ScanCb(action="merge", scan=scan_id, pick=index),
            )
        kb.button(text="🆕 It's a new one", callback_data=ScanCb(action="new", scan=scan_id))
        kb.button(text="✏️ Correct", callback_data=ScanCb(action="fix", scan=scan_id))
    elif view.status is ScanStatus.NEEDS_REVIEW:
        if view.fields.manufacturer is not None:
            kb.button(text="✅ Looks right", callback_data=ScanCb(action="ok", scan=scan_id))
        kb.button(text="✏️ Correct", callback_data=ScanCb(action="fix", scan=scan_id))
    elif view.status in (ScanStatus.QUEUED, ScanStatus.MATCHING):
        kb.button(text="🔄 Check again", callback_data=ScanCb(action="check", scan=scan_id))
    else:
        return None
    kb.adjust(1)
    return kb.as_markup()


def onboarding() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="🔗 I have a Rivet account", callback_data=StartCb(action="link"))
    kb.button(text="✨ Create my workspace", callback_data=StartCb(action="workspace"))
    kb.adjust(1)
    return kb.as_markup()


def equipment_choices(numbers: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """``/wo create``: pick one of the assets found (number, label)."""
    kb = InlineKeyboardBuilder()
    for number, label in numbers:
        kb.button(text=label[:60], callback_data=CreateCb(action="eq", value=number))
    kb.button(text="✖️ Stop", callback_data=CreateCb(action="stop"))
    kb.adjust(1)
    return kb.as_markup()


def priorities() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for priority in (Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.CRITICAL):
        kb.button(
            text=PRIORITY[priority], callback_data=CreateCb(action="prio", value=priority.value)
        )
    kb.button(text="✖️ Stop", callback_data=CreateCb(action="stop"))
    kb.adjust(2, 2, 1)
    return kb.as_markup()


def stop_only() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="✖️ Stop", callback_data=CreateCb(action="stop"))
    return kb.as_markup()
