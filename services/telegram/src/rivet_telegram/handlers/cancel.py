"""``/cancel``: leave whatever flow the user is in (creating an order, giving a reason, ...)."""

from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from ..bot.routing import Handlers

router = Handlers("cancel")


@router.message(Command("cancel"))
async def cancel(message: Message, state: FSMContext) -> None:
    if await state.get_state() is None:
        await message.answer("Nothing to stop. /help lists what I can do.")
        return
    await state.clear()
    await message.answer("✖️ Stopped. Nothing was changed.")
