"""A work order's checklist from its card (``rpc.workorders.check_item``, as the user).

The card has a row of buttons for each of the first open items: ``check`` items are ticked
with one tap, ``pass_fail`` items answered with *Pass* or *Fail*, and a ``number`` item's button
asks for the reading, which the next message gives (a note may follow the number). The item is
named by its position, which never changes on an order. The card is then shown as the order is
now; a refusal (the order was closed meanwhile, the item is not there, a result the item does
not take) is said with the service's reason.
"""

import contextlib

from aiogram import Bot, F
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, ForceReply, Message
from pydantic import ValidationError

from rivet_contracts import ErrorCode
from rivet_contracts.auth import TelegramIdentity
from rivet_contracts.workorders import CheckChecklistItem, ChecklistKind, PassFail

from ..bot import keyboards
from ..bot.callbacks import CheckCb
from ..bot.errors import refusal
from ..bot.routing import Handlers
from ..render import workorders as render
from ..rivet import RivetError, UserApi
from ..state import TelegramState
from .common import edit_order, parse_number, send_order

router = Handlers("checklist")

RESULTS: dict[str, PassFail | None] = {"done": None, "pass": PassFail.PASS, "fail": PassFail.FAIL}
REFUSALS = (ErrorCode.CONFLICT, ErrorCode.NOT_FOUND, ErrorCode.VALIDATION)
"""What the service may answer a checklist result with that the user should read."""
AGAIN = "\nSend it again, or /cancel."


class ItemReading(StatesGroup):
    waiting = State()


@router.callback_query(CheckCb.filter(F.action.in_(set(RESULTS))))
async def tick(
    query: CallbackQuery,
    callback_data: CheckCb,
    me: TelegramIdentity,
    api: UserApi,
    app: TelegramState,
) -> None:
    request = CheckChecklistItem(
        ref=callback_data.number,
        item=str(callback_data.item),
        done=True,
        result=RESULTS[callback_data.action],
    )
    try:
        item = await api.check_item(request)
    except RivetError as exc:
        if exc.code not in REFUSALS:
            raise
        await query.answer(f"Not recorded: {exc.info.message}"[:190], show_alert=True)
    else:
        await query.answer(f"{item.position}. {item.text}"[:150] + f": {callback_data.action}")
    order = await api.get_work_order(callback_data.number)
    if isinstance(query.message, Message):
        await edit_order(query.message, order, me, app)


@router.callback_query(CheckCb.filter(F.action == "value"))
async def ask(
    query: CallbackQuery, callback_data: CheckCb, state: FSMContext, api: UserApi
) -> None:
    order = await api.get_work_order(callback_data.number)
    item = next((i for i in order.checklist if i.position == callback_data.item), None)
    if item is None or item.kind is not ChecklistKind.NUMBER:
        await query.answer("That checklist item is not there any more.", show_alert=True)
        return
    await query.answer()
    if not isinstance(query.message, Message):
        return
    await state.set_state(ItemReading.waiting)
    await state.set_data(
        {"number": order.number, "item": item.position, "card": query.message.message_id}
    )
    await query.message.answer(
        render.ask_reading(order.number, item),
        reply_markup=ForceReply(input_field_placeholder="4.2"),
    )


@router.message(ItemReading.waiting, F.text, ~F.text.startswith("/"))
async def reading_given(
    message: Message,
    bot: Bot,
    state: FSMContext,
    me: TelegramIdentity,
    api: UserApi,
    app: TelegramState,
) -> None:
    head, _, note = (message.text or "").strip().partition(" ")
    value = parse_number(head)
    if value is None:
        await message.answer(
            "That is not a reading. Send a number, like <code>4.2</code>, a note after it if "
            "you like, or /cancel."
        )
        return
    data = await state.get_data()
    try:
        request = CheckChecklistItem(
            ref=data["number"],
            item=str(data["item"]),
            done=True,
            result=value,
            note=note.strip() or None,
        )
    except ValidationError as exc:  # a note or a value over its limit: keep waiting
        if (problem := refusal(exc)) is None:
            raise
        await message.answer(problem + AGAIN)
        return
    try:
        item = await api.check_item(request)
    except RivetError as exc:
        if exc.code not in REFUSALS:
            raise
        if exc.code is ErrorCode.VALIDATION:
            await message.answer(render.not_recorded(exc.info.message) + AGAIN)
            return
        await state.clear()
        await message.answer(render.not_recorded(exc.info.message))
        return
    await state.clear()
    await message.answer(render.item_recorded(data["number"], item))
    order = await api.get_work_order(data["number"])
    await send_order(message, order, me, app)
    card = data.get("card")
    if card:  # the old card's buttons would act on an older state: one to open it instead
        with contextlib.suppress(TelegramBadRequest):
            await bot.edit_message_reply_markup(
                chat_id=message.chat.id,
                message_id=card,
                reply_markup=keyboards.open_order(order.number),
            )
