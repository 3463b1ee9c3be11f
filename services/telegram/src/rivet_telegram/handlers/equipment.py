"""``/equip list``, ``/equip search <text>``, ``/equip view <EQ-number>`` and their buttons.

An asset's card shows its meters with their latest readings (when the maintenance service
answers), how many files it has and, for technicians, a button to record a reading
(``readings``); the asset's picture, when it has one, is sent just before it."""

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from rivet_contracts.auth import TelegramIdentity

from ..bot import keyboards
from ..bot.callbacks import EqCb, EqListCb
from ..bot.routing import Handlers
from ..render import equipment as render
from ..render.common import esc
from ..rivet import UserApi
from ..state import TelegramState
from . import create
from .common import EQ_NUMBER, edit, send_equipment, split_args

router = Handlers("equipment")
PAGE = 8
USAGE = (
    "Use <code>/equip list</code>, <code>/equip search pump line 3</code> or "
    "<code>/equip view EQ-2026-000001</code>."
)


@router.message(Command("equip"))
async def equip(
    message: Message,
    command: CommandObject,
    me: TelegramIdentity,
    api: UserApi,
    app: TelegramState,
) -> None:
    sub, rest = split_args(command.args)
    if sub in ("", "list"):
        text, markup = await _page(api, 0)
        await message.answer(text, reply_markup=markup)
    elif sub == "view" or EQ_NUMBER.match(sub):
        ref = rest if sub == "view" else sub
        if not ref:
            await message.answer(USAGE)
            return
        await send_equipment(message, await api.get_equipment(ref.upper()), me, api, app)
    else:
        query = rest if sub == "search" else (command.args or "").strip()
        if not query:
            await message.answer(USAGE)
            return
        text, markup = await _search(api, query)
        await message.answer(text, reply_markup=markup)


async def _page(api: UserApi, offset: int) -> tuple[str, InlineKeyboardMarkup]:
    page = await api.list_equipment(offset, PAGE)
    more = offset + PAGE if offset + PAGE < page.total else None
    if not page.items:
        text = "No equipment yet. Send a photo of a nameplate to register the first asset."
    else:
        head = f"🏭 <b>Equipment</b> {offset + 1}-{offset + len(page.items)} of {page.total}"
        text = "\n".join([head, *(render.line(item) for item in page.items)])
    return text, keyboards.equipment_page(page.items, offset, more, PAGE)


async def _search(api: UserApi, query: str) -> tuple[str, InlineKeyboardMarkup]:
    result = await api.search_equipment(query)
    items = [hit.equipment for hit in result.items]
    if not items:
        text = f"Nothing found for “{esc(query, 100)}”. Try other words, or a part of the serial."
    else:
        lines = [f"🔎 <b>{esc(query, 100)}</b>"]
        lines += [f"{render.line(hit.equipment)} ({round(hit.score)}%)" for hit in result.items]
        text = "\n".join(lines)
    return text, keyboards.equipment_page(items, None, None, PAGE)


@router.callback_query(EqListCb.filter())
async def page(query: CallbackQuery, callback_data: EqListCb, api: UserApi) -> None:
    text, markup = await _page(api, max(0, callback_data.offset))
    if isinstance(query.message, Message):
        await edit(query.message, text, markup)
    await query.answer()


@router.callback_query(EqCb.filter(F.action == "view"))
async def view(
    query: CallbackQuery,
    callback_data: EqCb,
    me: TelegramIdentity,
    api: UserApi,
    app: TelegramState,
) -> None:
    item = await api.get_equipment(callback_data.number)
    await query.answer()
    if isinstance(query.message, Message):
        await send_equipment(query.message, item, me, api, app)


@router.callback_query(EqCb.filter(F.action == "new_wo"))
async def new_order(
    query: CallbackQuery, callback_data: EqCb, api: UserApi, state: FSMContext
) -> None:
    item = await api.get_equipment(callback_data.number)
    await query.answer()
    if isinstance(query.message, Message):
        await create.equipment_chosen(query.message, state, item)
