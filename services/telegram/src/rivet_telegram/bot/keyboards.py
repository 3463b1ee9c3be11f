"""Inline keyboards: what a user can do next with what they see."""

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from rivet_contracts import Role
from rivet_contracts.assets import EquipmentView, MatchOutcome
from rivet_contracts.maintenance import MeterView
from rivet_contracts.ocr import ScanStatus, ScanView
from rivet_contracts.workorders import (
    OPEN_STATUSES,
    ChecklistItemView,
    ChecklistKind,
    Priority,
    WorkOrderStatus,
    WorkOrderView,
)

from ..render.common import PRIORITY, clip, number
from .callbacks import (
    CheckCb,
    CreateCb,
    EqCb,
    EqListCb,
    FileCb,
    ReadCb,
    ScanCb,
    StartCb,
    WoCb,
    WoListCb,
)

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


ITEM_BUTTONS = 5
"""Open checklist items with buttons on a card at most (the first ones still open: as they
are done, the next ones get buttons), leaving room for the status buttons."""


def _button(text: str, data: WoCb | CheckCb | FileCb) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def _item_buttons(order: WorkOrderView, item: ChecklistItemView) -> list[InlineKeyboardButton]:
    def cb(action: str) -> CheckCb:
        return CheckCb(action=action, number=order.number, item=item.position)

    name = f"{item.position}. {clip(item.text, 28)}"
    if item.kind is ChecklistKind.PASS_FAIL:
        return [
            _button(f"👍 {item.position}. Pass", cb("pass")),
            _button(f"👎 {item.position}. Fail", cb("fail")),
        ]
    if item.kind is ChecklistKind.NUMBER:
        return [_button(f"🔢 {name}", cb("value"))]
    return [_button(f"☑️ {name}", cb("done"))]


def work_order(order: WorkOrderView, role: Role) -> InlineKeyboardMarkup:
    """The card's buttons: the open checklist items (one row each), then the status
    changes, "take it" and refresh. Viewers get refresh only."""
    rows: list[list[InlineKeyboardButton]] = []
    actions: list[InlineKeyboardButton] = []
    if role.at_least(Role.TECHNICIAN):
        if order.status in OPEN_STATUSES:
            waiting = [item for item in order.checklist if not item.done][:ITEM_BUTTONS]
            rows += [_item_buttons(order, item) for item in waiting]
        actions += [
            _button(_LABELS[a], WoCb(action=a, number=order.number, version=order.version))
            for a in _actions(order)
        ]
        if order.assignee_id is None and order.status not in (
            WorkOrderStatus.COMPLETED,
            WorkOrderStatus.CANCELLED,
        ):
            actions.append(
                _button(
                    "🙋 Take it", WoCb(action="take", number=order.number, version=order.version)
                )
            )
    if order.attachment_count:
        files = WoCb(action="files", number=order.number)
        actions.append(_button(f"📎 Files ({order.attachment_count})", files))
    actions.append(_button("🔄 Refresh", WoCb(action="refresh", number=order.number)))
    rows += [actions[i : i + 3] for i in range(0, len(actions), 3)]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def override(order: WorkOrderView) -> InlineKeyboardMarkup:
    """For an admin whose completion was refused for open required items."""
    kb = InlineKeyboardBuilder()
    kb.button(
        text="⚠️ Complete anyway",
        callback_data=WoCb(action="override", number=order.number, version=order.version),
    )
    kb.button(text=f"Open {order.number}", callback_data=WoCb(action="view", number=order.number))
    kb.adjust(1)
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


def equipment(
    item: EquipmentView, role: Role, meters: list[MeterView] | None = None
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if role.at_least(Role.TECHNICIAN):
        kb.button(text="🆕 New work order", callback_data=EqCb(action="new_wo", number=item.number))
        if meters:
            kb.button(
                text="📟 Record a reading", callback_data=EqCb(action="read", number=item.number)
            )
    return kb.as_markup()


def meters(found: list[MeterView], value: float | None) -> InlineKeyboardMarkup:
    """One button per meter; with the value typed in ``/reading`` when it fits in the button
    (else the bot asks for it once the meter is chosen)."""
    kb = InlineKeyboardBuilder()
    for meter in found:
        data = ReadCb(meter=meter.id.hex, value=number(value) if value is not None else "")
        try:
            packed = data.pack()
        except ValueError:  # over Telegram's 64 bytes
            packed = ReadCb(meter=meter.id.hex).pack()
        kb.button(text=clip(f"{meter.name} ({meter.unit})", 60), callback_data=packed)
    kb.adjust(1)
    return kb.as_markup()


SCAN_BUTTON = "📷 Scan a nameplate"


def scan_button() -> InlineKeyboardButton:
    """Where nameplate photos are offered: the next photo is scanned (as ``/scan``)."""
    return _button(SCAN_BUTTON, FileCb(action="scan"))


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
    kb.row(scan_button())
    return kb.as_markup()


def attach_instead(
    markup: InlineKeyboardMarkup | None, file: int | None
) -> InlineKeyboardMarkup | None:
    """A scan's buttons and, for a photo kept for the chat, "Attach to an order instead"."""
    if file is None:
        return markup
    rows = list(markup.inline_keyboard) if markup is not None else []
    rows.append([_button("📎 Attach to an order instead", FileCb(action="pick", file=file))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def order_choices(orders: list[WorkOrderView], file: int) -> InlineKeyboardMarkup:
    """One button per open order the kept file may go on, then "never mind"."""
    kb = InlineKeyboardBuilder()
    for order in orders:
        kb.button(
            text=clip(f"{order.number} · {order.title}", 60),
            callback_data=FileCb(action="to", file=file, number=order.number),
        )
    kb.button(text="✖️ Never mind", callback_data=FileCb(action="drop", file=file))
    kb.adjust(1)
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
    for ref, label in numbers:
        kb.button(text=label[:60], callback_data=CreateCb(action="eq", value=ref))
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
