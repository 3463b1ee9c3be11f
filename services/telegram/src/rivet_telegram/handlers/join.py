"""``/start join_<token>``: a Telegram user without an account joins an organization with an
invitation's link (made with ``/invite`` or in the web app). Open to anyone, like ``/start``;
tried before the link-code handler, which would take the parameter for a link code."""

from aiogram import F
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message

from rivet_contracts import ErrorCode

from ..bot.routing import Handlers
from ..bot.who import Who
from ..render import account
from ..render.common import clip
from ..rivet import RivetError
from ..state import TelegramState

router = Handlers("join")

PREFIX = "join_"


@router.message(CommandStart(deep_link=True, magic=F.args.startswith(PREFIX)))
async def join(message: Message, command: CommandObject, who: Who, app: TelegramState) -> None:
    user = message.from_user
    if user is None:
        return
    if await who.get() is not None:
        await message.answer(account.ALREADY_MEMBER)
        return
    token = (command.args or "").strip().removeprefix(PREFIX)
    if not 16 <= len(token) <= 512:
        await message.answer(account.BAD_INVITATION)
        return
    name = clip(user.full_name, 200) or user.username or f"Telegram user {user.id}"
    try:
        me = await app.rivet.join(token, user.id, name, user.username)
    except RivetError as exc:
        if exc.code in (ErrorCode.NOT_FOUND, ErrorCode.VALIDATION):
            await message.answer(account.BAD_INVITATION)
            return
        if exc.code is ErrorCode.CONFLICT and "Telegram" in exc.info.message:
            await message.answer(account.ALREADY_MEMBER)
            return
        raise
    who.set(me)
    await app.linked(user.id, me)
    await message.answer(account.joined(me))
