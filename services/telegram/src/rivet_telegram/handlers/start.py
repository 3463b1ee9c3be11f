"""``/start``, ``/help`` and onboarding: link an existing account or create a workspace.

``/start <code>`` redeems a one-time link code made in the web app; an unknown user who sends a
bare ``/start`` chooses between linking (how to get a code) and a one-tap personal workspace.
"""

from aiogram import Bot, F
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message, User

from rivet_contracts import ErrorCode

from ..bot import keyboards
from ..bot.callbacks import StartCb
from ..bot.routing import Handlers
from ..bot.who import Who
from ..render import help
from ..render.common import clip
from ..rivet import RivetError
from ..state import TelegramState

router = Handlers("start")


@router.message(CommandStart(deep_link=True))
async def start_with_code(
    message: Message, command: CommandObject, who: Who, app: TelegramState
) -> None:
    code, user = (command.args or "").strip(), message.from_user
    if user is None:
        return
    if not 16 <= len(code) <= 512:
        await message.answer(help.BAD_CODE)
        return
    try:
        me = await app.rivet.redeem_link(code, user.id, user.username)
    except RivetError as exc:
        if exc.code in (ErrorCode.NOT_FOUND, ErrorCode.VALIDATION):
            await message.answer(help.BAD_CODE)
            return
        raise
    who.set(me)
    await app.linked(user.id, me)
    await message.answer(help.linked(me))


@router.message(CommandStart())
async def start(message: Message, who: Who) -> None:
    me = await who.get()
    if me is not None:
        await message.answer(help.welcome_back(me))
        return
    await message.answer(help.WELCOME_UNKNOWN, reply_markup=keyboards.onboarding())


@router.message(Command("help"))
async def show_help(message: Message) -> None:
    await message.answer(help.HELP)


@router.callback_query(StartCb.filter(F.action == "link"))
async def how_to_link(query: CallbackQuery, bot: Bot) -> None:
    await query.answer()
    await bot.send_message(query.from_user.id, help.HOW_TO_LINK)


@router.callback_query(StartCb.filter(F.action == "workspace"))
async def create_workspace(query: CallbackQuery, bot: Bot, who: Who, app: TelegramState) -> None:
    me = await who.get()
    if me is None:
        user: User = query.from_user
        name = clip(user.full_name, 200) or user.username or f"Telegram user {user.id}"
        me = await app.rivet.register(user.id, name, user.username)
        who.set(me)
        await app.linked(user.id, me)
        text = help.workspace_ready(me)
    else:
        text = help.welcome_back(me)
    await query.answer()
    await bot.send_message(query.from_user.id, text)
