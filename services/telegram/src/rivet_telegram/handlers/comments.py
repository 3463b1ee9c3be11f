"""Comments by replying: a reply to any bot message that names a work order (its card, a
notification) is added to that order's timeline as a comment."""

from typing import Any

from aiogram import F
from aiogram.filters import StateFilter
from aiogram.types import Message

from rivet_contracts.auth import TelegramIdentity

from ..bot.routing import Handlers
from ..render.common import esc
from ..render.workorders import WO_NUMBER
from ..rivet import UserApi

router = Handlers("comments")


def replied_order(message: Message) -> bool | dict[str, Any]:
    """The order named in the bot message this one replies to, as ``number``."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or not replied.from_user.is_bot:
        return False
    found = WO_NUMBER.search(replied.text or replied.caption or "")
    return {"number": found.group(0)} if found else False


@router.message(StateFilter(None), F.text, ~F.text.startswith("/"), replied_order)
async def comment(message: Message, number: str, me: TelegramIdentity, api: UserApi) -> None:
    await api.comment(number, (message.text or "").strip()[:5000])
    await message.reply(f"💬 Comment added to <b>{esc(number)}</b>.")
