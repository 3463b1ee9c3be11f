"""Correcting a scan: after "✏️ Correct", the next message holds ``field: value`` lines; they go
to ``rpc.ocr.confirm`` as corrections and the corrected record through create-or-match."""

from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message
from pydantic import ValidationError

from rivet_contracts.assets import EquipmentPatch
from rivet_contracts.auth import TelegramIdentity
from rivet_contracts.ocr import ConfirmScan

from ..bot import keyboards
from ..bot.errors import refusal
from ..bot.routing import Handlers
from ..render import scans
from ..rivet import UserApi
from ..state import TelegramState
from .common import edit
from .scanning import follow, scan_id

router = Handlers("review")


class ScanFix(StatesGroup):
    waiting = State()


async def ask(state: FSMContext, scan_hex: str) -> None:
    await state.set_state(ScanFix.waiting)
    await state.set_data({"scan": scan_hex})


@router.message(ScanFix.waiting, F.text, ~F.text.startswith("/"))
async def corrections_given(
    message: Message, state: FSMContext, me: TelegramIdentity, api: UserApi, app: TelegramState
) -> None:
    fields = scans.parse_corrections(message.text or "")
    if not fields:
        await message.answer(scans.correction_help())
        return
    try:
        patch = EquipmentPatch.model_validate(fields)
    except ValidationError as exc:  # a value over its field's limit: say which, keep waiting
        if (problem := refusal(exc)) is None:
            raise
        await message.answer(f"{problem}\nSend the lines again, or /cancel.")
        return
    data = await state.get_data()
    await state.clear()
    sid = scan_id(data["scan"])
    scan = await api.confirm_scan(ConfirmScan(scan_id=sid, corrections=patch))
    progress = await message.answer(scans.PROGRESS.get(scan.status, "…"))
    scan = await follow(api, scan, progress, app.settings.telegram_scan_wait)
    await edit(progress, scans.outcome(scan), keyboards.scan(scan, me.user.role))
