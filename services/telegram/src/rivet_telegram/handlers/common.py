"""Small helpers the handlers share: argument parsing and showing an order or an asset."""

import contextlib
import re

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup, Message

from rivet_contracts.auth import TelegramIdentity
from rivet_contracts.workorders import WorkOrderView

from ..bot import keyboards
from ..render import workorders

EQ_NUMBER = re.compile(r"^EQ-\d{4}-\d{6}$", re.IGNORECASE)
WO_NUMBER = re.compile(r"^WO-\d{4}-\d{6}$", re.IGNORECASE)


def split_args(args: str | None) -> tuple[str, str]:
    """``"search baldor pump"`` -> ``("search", "baldor pump")``."""
    head, _, rest = (args or "").strip().partition(" ")
    return head.lower(), rest.strip()


async def send_order(message: Message, order: WorkOrderView, me: TelegramIdentity) -> Message:
    return await message.answer(
        workorders.card(order), reply_markup=keyboards.work_order(order, me.user.role)
    )


async def edit(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Edit a message the bot sent; an unchanged text is not an error."""
    with contextlib.suppress(TelegramBadRequest):
        await message.edit_text(text, reply_markup=markup)


async def edit_order(message: Message, order: WorkOrderView, me: TelegramIdentity) -> None:
    await edit(message, workorders.card(order), keyboards.work_order(order, me.user.role))
