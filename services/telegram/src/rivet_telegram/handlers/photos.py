"""Nameplate scans: ``/scan`` (or the *Scan a nameplate* button) scans the next photo; a photo
or an image sent as a file with no work order to go on (see ``attach``) is scanned too, and its
answer offers "Attach to an order instead". The buttons decide what a scan becomes.

The outcome replaces the progress message: created or matched (with buttons to view the asset
or open a work order on it), possible duplicates (one button per candidate, or "it's a new
one"), or a request to confirm or correct what was read.
"""

from aiogram import Bot, F
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, ForceReply, Message

from rivet_contracts.auth import TelegramIdentity
from rivet_contracts.ocr import ConfirmScan, ScanView

from .. import chat
from ..bot import keyboards
from ..bot.callbacks import FileCb, ScanCb
from ..bot.routing import Handlers
from ..render import attachments, scans
from ..rivet import UserApi
from ..state import TelegramState
from . import attach, review
from .common import edit
from .scanning import follow, is_image, scan_id, scan_photo

router = Handlers("photos")
HEX_ID = F.scan.regexp(r"^[0-9a-f]{32}$")


class Scanning(StatesGroup):
    photo = State()
    """``/scan``: the next photo is a nameplate."""


async def show(
    progress: Message, scan: ScanView, me: TelegramIdentity, kept: int | None = None
) -> None:
    """The scan's outcome; with "Attach to an order instead" for a photo kept as ``kept``."""
    markup = keyboards.attach_instead(keyboards.scan(scan, me.user.role), kept)
    await edit(progress, scans.outcome(scan), markup)


async def scan_next(message: Message, state: FSMContext, app: TelegramState) -> None:
    """The next photo is scanned, whatever order the chat looked at."""
    await chat.leave_order(app.db, message.chat.id)
    await state.set_state(Scanning.photo)
    await message.answer(attachments.SCAN_NEXT)


@router.message(Command("scan"))
async def scan_command(message: Message, state: FSMContext, app: TelegramState) -> None:
    await scan_next(message, state, app)


@router.callback_query(FileCb.filter(F.action == "scan"))
async def scan_button(query: CallbackQuery, state: FSMContext, app: TelegramState) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await scan_next(query.message, state, app)


@router.message(Scanning.photo, F.func(is_image))
async def asked_scan(
    message: Message,
    bot: Bot,
    state: FSMContext,
    me: TelegramIdentity,
    api: UserApi,
    app: TelegramState,
) -> None:
    await state.clear()
    scan, progress = await scan_photo(message, bot, api, app)
    if scan is not None:
        await show(progress, scan, me)


@router.message(StateFilter(None), F.func(is_image))
async def photo(
    message: Message, bot: Bot, me: TelegramIdentity, api: UserApi, app: TelegramState
) -> None:
    """A photo with no order to go on: a scan, as ever, and the same photo may still go on an
    order (kept for the chat)."""
    incoming = attach.Incoming.of(message)
    assert incoming is not None
    kept = await attach.keep(app, message, me, incoming)
    scan, progress = await scan_photo(message, bot, api, app)
    if scan is not None:
        await show(progress, scan, me, kept)


@router.callback_query(ScanCb.filter(F.action.in_({"ok", "new", "merge", "check"}) & HEX_ID))
async def decide(
    query: CallbackQuery,
    callback_data: ScanCb,
    me: TelegramIdentity,
    api: UserApi,
    app: TelegramState,
) -> None:
    sid = scan_id(callback_data.scan)
    action = callback_data.action
    if action == "check":
        scan = await api.get_scan(sid)
    elif action == "merge":
        current = await api.get_scan(sid)
        if not 0 <= callback_data.pick < len(current.candidates):
            await query.answer("That choice is no longer offered.", show_alert=True)
            return
        chosen = current.candidates[callback_data.pick].equipment_id
        scan = await api.confirm_scan(ConfirmScan(scan_id=sid, merge_into=chosen))
    else:
        scan = await api.confirm_scan(ConfirmScan(scan_id=sid, create_anyway=action == "new"))
    await query.answer()
    if isinstance(query.message, Message):
        scan = await follow(api, scan, query.message, app.settings.telegram_scan_wait)
        await show(query.message, scan, me)


@router.callback_query(ScanCb.filter((F.action == "fix") & HEX_ID))
async def correct(query: CallbackQuery, callback_data: ScanCb, state: FSMContext) -> None:
    await review.ask(state, callback_data.scan)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            scans.correction_help(), reply_markup=ForceReply(input_field_placeholder="serial: …")
        )
