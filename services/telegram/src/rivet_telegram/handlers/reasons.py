"""Hold, cancel and reopen ask why: the next message is the reason (3-1000 characters; a
longer one is refused with the limit, and the question stays open). So does an admin's
*Complete anyway* for an order whose required checklist items are open: the reason goes as
``override_reason`` with the completion.

The pending change (order, target status, version, the card to refresh) is FSM data, so a
restart between the button and the answer loses nothing.
"""

import contextlib

from aiogram import Bot, F
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message
from pydantic import ValidationError

from rivet_contracts.auth import TelegramIdentity
from rivet_contracts.workorders import WorkOrderChanges, WorkOrderStatus

from ..bot import keyboards
from ..bot.callbacks import WoCb
from ..bot.errors import refusal
from ..bot.routing import Handlers
from ..render.common import STATUS, esc
from ..rivet import UserApi
from ..state import TelegramState
from .common import send_order

router = Handlers("reasons")

QUESTIONS = {
    WorkOrderStatus.ON_HOLD: "⏸ Why is {number} on hold?",
    WorkOrderStatus.CANCELLED: "✖️ Why cancel {number}?",
    WorkOrderStatus.OPEN: "↩️ Why reopen {number}?",
}


class Reason(StatesGroup):
    waiting = State()


OVERRIDE = "⚠️ Why complete {number} with required checklist items open? It goes into its timeline."


def prompt(number: str, target: WorkOrderStatus, *, override: bool = False) -> str:
    question = (OVERRIDE if override else QUESTIONS.get(target, "Why?")).format(number=number)
    return f"{question}\nSend the reason in a message, or /cancel."


async def ask(
    state: FSMContext,
    button: WoCb,
    target: WorkOrderStatus,
    card_message_id: int | None,
    *,
    override: bool = False,
) -> None:
    await state.set_state(Reason.waiting)
    await state.set_data(
        {
            "number": button.number,
            "status": target.value,
            "version": button.version,
            "card": card_message_id,
            "override": override,
        }
    )


@router.message(Reason.waiting, F.text, ~F.text.startswith("/"))
async def reason_given(
    message: Message,
    bot: Bot,
    state: FSMContext,
    me: TelegramIdentity,
    api: UserApi,
    app: TelegramState,
) -> None:
    reason = (message.text or "").strip()
    if len(reason) < 3:
        await message.answer("A few words, please (at least 3 characters), or /cancel.")
        return
    data = await state.get_data()
    target = WorkOrderStatus(data["status"])
    version = data.get("version") or None
    try:
        if data.get("override"):
            changes = WorkOrderChanges(
                status=target, override_reason=reason, expected_version=version
            )
        else:
            changes = WorkOrderChanges(status=target, reason=reason, expected_version=version)
    except ValidationError as exc:  # too long: say so and keep waiting
        if (problem := refusal(exc)) is None:
            raise
        await message.answer(f"{problem}\nSend it again, or /cancel.")
        return
    await state.clear()
    order = await api.update_work_order(data["number"], changes)
    await message.answer(f"Done: {esc(order.number)} is now {STATUS[order.status]}.")
    await send_order(message, order, me, app)
    card = data.get("card")
    if card:
        with contextlib.suppress(TelegramBadRequest):
            await bot.edit_message_reply_markup(
                chat_id=message.chat.id,
                message_id=card,
                reply_markup=keyboards.open_order(order.number),
            )
