"""Photos and images sent as files are nameplate scans; the buttons decide what a scan becomes.

The outcome replaces the progress message: created or matched (with buttons to view the asset
or open a work order on it), possible duplicates (one button per candidate, or "it's a new
one"), or a request to confirm or correct what was read.
"""

from aiogram import Bot, F
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, ForceReply, Message

from rivet_contracts.auth import TelegramIdentity
from rivet_contracts.ocr import ConfirmScan, ScanView

from ..bot import keyboards
from ..bot.callbacks import ScanCb
from ..bot.routing import Handlers
from ..render import scans
from ..rivet import UserApi
from ..state import TelegramState
from . import review
from .common import edit
from .scanning import follow, is_image, scan_id, scan_photo

router = Handlers("photos")
HEX_ID = F.scan.regexp(r"^[0-9a-f]{32}$")


async def show(progress: Message, scan: ScanView, me: TelegramIdentity) -> None:
    await edit(progress, scans.outcome(scan), keyboards.scan(scan, me.user.role))


@router.message(F.func(is_image))
async def photo(
    message: Message, bot: Bot, me: TelegramIdentity, api: UserApi, app: TelegramState
) -> None:
    scan, progress = await scan_photo(message, bot, api, app)
    if scan is not None:
        await show(progress, scan, me)


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
