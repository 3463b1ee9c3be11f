"""Whatever no other handler took: tell the user what to do instead of staying silent."""

from aiogram.enums import ChatType
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from ..bot.routing import Handlers
from ..bot.who import Who

router = Handlers("fallback")

NOT_LINKED = (
    "👋 I don't know you yet. Send /start to link your Rivet account or create a workspace."
)


@router.message()
async def anything(message: Message, who: Who, state: FSMContext) -> None:
    if message.chat.type != ChatType.PRIVATE:
        return
    if await who.get() is None:
        await message.answer(NOT_LINKED)
    elif await state.get_state() is not None:
        await message.answer("I'm still waiting for your answer above. Send it, or /cancel.")
    else:
        await message.answer("I didn't catch that. /help lists what I can do.")


@router.callback_query()
async def stale_button(query: CallbackQuery, who: Who) -> None:
    if await who.get() is None:
        await query.answer("Send /start first to link your account.", show_alert=True)
    else:
        await query.answer("This button is no longer valid.")
