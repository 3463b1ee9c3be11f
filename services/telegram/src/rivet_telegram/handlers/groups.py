"""Group chats: the bot acts for one person at a time, so it only works in private chats."""

from aiogram import F
from aiogram.enums import ChatType
from aiogram.types import Message

from ..bot.routing import Handlers
from ..render.help import PRIVATE_ONLY

router = Handlers("groups", message_filters=(F.chat.type != ChatType.PRIVATE,))


@router.message(F.text.startswith("/"))
async def command_in_group(message: Message) -> None:
    await message.reply(PRIVATE_ONLY)


@router.message()
async def chatter(_message: Message) -> None:
    """Everything else said in a group is none of the bot's business."""
