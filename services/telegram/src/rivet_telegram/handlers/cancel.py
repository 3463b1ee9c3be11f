"""``/cancel``: leave whatever flow the user is in (creating an order, giving a reason, ...),
and stop sending photos and files to the order in view."""

from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from .. import chat
from ..bot.routing import Handlers
from ..state import TelegramState

router = Handlers("cancel")


@router.message(Command("cancel"))
async def cancel(message: Message, state: FSMContext, app: TelegramState) -> None:
    looking = await chat.leave_order(app.db, message.chat.id)
    if await state.get_state() is None:
        if looking:
            await message.answer(f"✖️ Photos and files no longer go on {looking}.")
        else:
            await message.answer("Nothing to stop. /help lists what I can do.")
        return
    await state.clear()
    await message.answer("✖️ Stopped. Nothing was changed.")
