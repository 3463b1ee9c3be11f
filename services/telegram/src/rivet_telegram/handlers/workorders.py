"""``/wo list`` (mine / open / all, paged), ``/wo view``, and the buttons on a work order.

Status buttons carry the order's version: pressing an old card after someone else changed the
order is refused by the service (409) and the bot shows the order as it is now instead. Hold,
cancel and reopen ask for a reason first (see ``reasons``). Completing an order whose required
checklist items are open is refused by the service (409, naming them): the bot says so in the
chat, and offers an admin *Complete anyway*, which asks for the reason (``override_reason``).
The checklist's own buttons are in ``checklist``.
"""

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, ForceReply, InlineKeyboardMarkup, Message

from rivet_contracts import ErrorCode, Role
from rivet_contracts.auth import TelegramIdentity
from rivet_contracts.workorders import (
    OPEN_STATUSES,
    ListWorkOrders,
    WorkOrderChanges,
    WorkOrderSort,
    WorkOrderStatus,
    WorkOrderView,
)

from ..bot import keyboards
from ..bot.callbacks import WoCb, WoListCb
from ..bot.routing import Handlers
from ..render import workorders as render
from ..render.common import STATUS
from ..rivet import RivetError, UserApi
from ..state import TelegramState
from . import create, reasons
from .common import WO_NUMBER, edit, edit_order, send_order, split_args

router = Handlers("workorders")
PAGE = 6
USAGE = (
    "Use <code>/wo list</code> (or <code>/wo list open</code>, <code>/wo list all</code>), "
    "<code>/wo view WO-2026-000001</code> or <code>/wo create</code>."
)
TITLES = {"mine": "👤 Assigned to you, open", "open": "🟦 Open orders", "all": "📚 All orders"}


@router.message(Command("wo"))
async def wo(
    message: Message,
    command: CommandObject,
    me: TelegramIdentity,
    api: UserApi,
    state: FSMContext,
    app: TelegramState,
) -> None:
    sub, rest = split_args(command.args)
    if sub in ("", "list"):
        scope = rest.lower() if rest.lower() in keyboards.SCOPES else "mine"
        text, markup = await _page(api, me, scope, 0)
        await message.answer(text, reply_markup=markup)
    elif sub == "view" or WO_NUMBER.match(sub):
        ref = rest if sub == "view" else sub
        if not ref:
            await message.answer(USAGE)
            return
        await send_order(message, await api.get_work_order(ref.upper()), me, app)
    elif sub in ("create", "new"):
        await create.begin(message, state)
    else:
        await message.answer(USAGE)


def _query(scope: str, me: TelegramIdentity, offset: int) -> ListWorkOrders:
    open_ = sorted(OPEN_STATUSES)
    if scope == "mine":
        return ListWorkOrders(
            assignee_id=me.identity.user_id,
            status=open_,
            sort=WorkOrderSort.DUE,
            limit=PAGE,
            offset=offset,
        )
    if scope == "open":
        return ListWorkOrders(status=open_, sort=WorkOrderSort.DUE, limit=PAGE, offset=offset)
    return ListWorkOrders(sort=WorkOrderSort.NEWEST, limit=PAGE, offset=offset)


async def _page(
    api: UserApi, me: TelegramIdentity, scope: str, offset: int
) -> tuple[str, InlineKeyboardMarkup]:
    page = await api.list_work_orders(_query(scope, me, offset))
    if page.items:
        head = f"<b>{TITLES[scope]}</b> ({offset + 1}-{offset + len(page.items)})"
        text = "\n".join([head, *(render.line(order) for order in page.items)])
    else:
        text = f"<b>{TITLES[scope]}</b>\nNothing here. /wo create reports a problem."
    markup = keyboards.work_order_page(page.items, scope, offset, page.next_offset, PAGE)
    return text, markup


@router.callback_query(WoListCb.filter())
async def page(
    query: CallbackQuery, callback_data: WoListCb, me: TelegramIdentity, api: UserApi
) -> None:
    scope = callback_data.scope if callback_data.scope in keyboards.SCOPES else "mine"
    text, markup = await _page(api, me, scope, max(0, callback_data.offset))
    if isinstance(query.message, Message):
        await edit(query.message, text, markup)
    await query.answer()


@router.callback_query(WoCb.filter(F.action.in_({"view", "refresh"})))
async def view(
    query: CallbackQuery,
    callback_data: WoCb,
    me: TelegramIdentity,
    api: UserApi,
    app: TelegramState,
) -> None:
    order = await api.get_work_order(callback_data.number)
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if callback_data.action == "refresh":
        await edit_order(query.message, order, me, app)
    else:
        await send_order(query.message, order, me, app)


@router.callback_query(WoCb.filter(F.action == "take"))
async def take(
    query: CallbackQuery,
    callback_data: WoCb,
    me: TelegramIdentity,
    api: UserApi,
    app: TelegramState,
) -> None:
    changes = WorkOrderChanges(
        assignee_id=me.identity.user_id, expected_version=callback_data.version
    )
    await _change(query, callback_data, me, api, app, changes, "🙋 It's yours.")


@router.callback_query(WoCb.filter(F.action.in_(set(keyboards.TRANSITIONS))))
async def transition(
    query: CallbackQuery,
    callback_data: WoCb,
    me: TelegramIdentity,
    api: UserApi,
    state: FSMContext,
    app: TelegramState,
) -> None:
    target, needs_reason = keyboards.TRANSITIONS[callback_data.action]
    if needs_reason:
        await query.answer()
        card = query.message.message_id if isinstance(query.message, Message) else None
        await reasons.ask(state, callback_data, target, card)
        if isinstance(query.message, Message):
            await query.message.answer(
                reasons.prompt(callback_data.number, target),
                reply_markup=ForceReply(input_field_placeholder="Reason"),
            )
        return
    changes = WorkOrderChanges(status=target, expected_version=callback_data.version)
    await _change(query, callback_data, me, api, app, changes, f"Now {STATUS[target]}")


@router.callback_query(WoCb.filter(F.action == "override"))
async def override(
    query: CallbackQuery, callback_data: WoCb, me: TelegramIdentity, state: FSMContext
) -> None:
    """An admin completes the order although required checklist items are open: the reason
    is asked first and sent as ``override_reason``."""
    if me.identity.role is not Role.ADMIN:
        await query.answer(render.OVERRIDE_ADMINS_ONLY, show_alert=True)
        return
    await query.answer()
    message = query.message if isinstance(query.message, Message) else None
    target = WorkOrderStatus.COMPLETED
    card = message.message_id if message is not None else None
    await reasons.ask(state, callback_data, target, card, override=True)
    if message is not None:
        await message.answer(
            reasons.prompt(callback_data.number, target, override=True),
            reply_markup=ForceReply(input_field_placeholder="Reason"),
        )


def open_required(exc: RivetError) -> int:
    """How many required checklist items a refused completion names (0: another conflict)."""
    details = exc.info.details
    found = details.get("open_required") if isinstance(details, dict) else None
    return len(found) if isinstance(found, list) else 0


async def _change(
    query: CallbackQuery,
    callback_data: WoCb,
    me: TelegramIdentity,
    api: UserApi,
    app: TelegramState,
    changes: WorkOrderChanges,
    done: str,
) -> None:
    try:
        order = await api.update_work_order(callback_data.number, changes)
    except RivetError as exc:
        if exc.code not in (ErrorCode.CONFLICT, ErrorCode.INVALID_TRANSITION):
            raise
        order = await api.get_work_order(callback_data.number)
        if count := open_required(exc):
            await query.answer(f"Not completed: {count} required checklist item(s) open.")
            await _not_completed(query, order, me, exc)
        else:
            await query.answer(f"Not changed: {exc.info.message[:150]}", show_alert=True)
    else:
        await query.answer(done)
    if isinstance(query.message, Message):
        await edit_order(query.message, order, me, app)


async def _not_completed(
    query: CallbackQuery, order: WorkOrderView, me: TelegramIdentity, exc: RivetError
) -> None:
    """The service's 409 in the chat (the whole message, a toast holds 200 characters), with
    the override for an admin."""
    if not isinstance(query.message, Message):
        return
    admin = me.identity.role is Role.ADMIN
    await query.message.answer(
        render.not_completed(order.number, exc.info.message, admin),
        reply_markup=keyboards.override(order) if admin else None,
    )
