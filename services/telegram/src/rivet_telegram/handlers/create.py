"""``/wo create``: a guided work order, one question at a time.

1. the equipment: an EQ-number, a search text (buttons with the hits) or a nameplate photo;
2. a title (what is wrong);
3. the priority (buttons); the order is then created as the user, with ``source = telegram``.

Every step's answer is FSM data in PostgreSQL, so the bot can restart between two steps and the
user carries on where they were. ``/cancel`` or "Stop" leaves without creating anything.
"""

from aiogram import Bot, F
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from rivet_contracts import ErrorCode
from rivet_contracts.assets import EquipmentView, MatchOutcome
from rivet_contracts.auth import TelegramIdentity
from rivet_contracts.ocr import ScanStatus
from rivet_contracts.workorders import CreateWorkOrder, Priority

from ..bot import keyboards
from ..bot.callbacks import CreateCb
from ..bot.routing import Handlers
from ..render import equipment as render_equipment
from ..render import scans
from ..render.common import clip, esc
from ..rivet import RivetError, UserApi
from ..state import TelegramState
from .common import EQ_NUMBER, edit, send_order
from .scanning import is_image, scan_photo

router = Handlers("create")

ASK_EQUIPMENT = (
    "🛠 <b>New work order.</b> Which equipment?\n"
    "Send its EQ-number, a few words to find it (brand, model, location, serial), "
    "or a photo of its nameplate."
)


class CreateWo(StatesGroup):
    equipment = State()
    title = State()
    priority = State()


async def begin(message: Message, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(CreateWo.equipment)
    await message.answer(ASK_EQUIPMENT, reply_markup=keyboards.stop_only())


async def equipment_chosen(message: Message, state: FSMContext, item: EquipmentView) -> None:
    """Step 2; also the entry point of "🆕 New work order" on an asset or a scan."""
    label = f"{item.number} · {render_equipment.title(item)}"
    await state.set_state(CreateWo.title)
    await state.set_data({"equipment": item.number, "label": label})
    await message.answer(
        f"🏭 <b>{esc(label, 150)}</b>\nWhat is wrong? Send a short title.",
        reply_markup=keyboards.stop_only(),
    )


@router.message(CreateWo.equipment, F.text, ~F.text.startswith("/"))
async def equipment_text(message: Message, state: FSMContext, api: UserApi) -> None:
    text = (message.text or "").strip()
    if EQ_NUMBER.match(text):
        try:
            item = await api.get_equipment(text.upper())
        except RivetError as exc:
            if exc.code is not ErrorCode.NOT_FOUND:
                raise
            await message.answer(f"No {esc(text.upper())} here. Try a search text instead.")
            return
        await equipment_chosen(message, state, item)
        return
    found = await api.search_equipment(text, limit=6)  # too long: refused (bot.errors)
    if not found.items:
        await message.answer(
            f"Nothing found for “{esc(text, 100)}”. Try other words or a nameplate photo."
        )
        return
    choices = [
        (hit.equipment.number, f"{hit.equipment.number} · {render_equipment.title(hit.equipment)}")
        for hit in found.items
    ]
    await message.answer("Which one?", reply_markup=keyboards.equipment_choices(choices))


@router.message(CreateWo.equipment, F.func(is_image))
async def equipment_photo(
    message: Message, bot: Bot, state: FSMContext, api: UserApi, app: TelegramState
) -> None:
    scan, progress = await scan_photo(message, bot, api, app)
    if scan is None:
        return
    if scan.status is ScanStatus.RESOLVED and scan.equipment_number:
        await edit(progress, scans.outcome(scan))
        await equipment_chosen(message, state, await api.get_equipment(scan.equipment_number))
    elif scan.outcome is MatchOutcome.POSSIBLE_DUPLICATES and scan.candidates:
        choices = [
            (c.number, f"{c.number} · {c.manufacturer} {c.model or ''}") for c in scan.candidates
        ]
        await edit(progress, scans.outcome(scan), keyboards.equipment_choices(choices))
    else:
        await edit(
            progress,
            scans.outcome(scan)
            + "\n\nFor this work order, send the EQ-number or a search text instead.",
        )


@router.callback_query(CreateWo.equipment, CreateCb.filter(F.action == "eq"))
async def equipment_picked(
    query: CallbackQuery, callback_data: CreateCb, state: FSMContext, api: UserApi
) -> None:
    item = await api.get_equipment(callback_data.value)
    await query.answer()
    if isinstance(query.message, Message):
        await equipment_chosen(query.message, state, item)


@router.message(CreateWo.title, F.text, ~F.text.startswith("/"))
async def title_given(message: Message, state: FSMContext) -> None:
    await state.update_data(title=clip(message.text or "", 200))
    await state.set_state(CreateWo.priority)
    await message.answer("How urgent is it?", reply_markup=keyboards.priorities())


@router.callback_query(CreateWo.priority, CreateCb.filter(F.action == "prio"))
async def priority_chosen(
    query: CallbackQuery,
    callback_data: CreateCb,
    state: FSMContext,
    me: TelegramIdentity,
    api: UserApi,
    app: TelegramState,
) -> None:
    data = await state.get_data()
    request = CreateWorkOrder(
        equipment_id=data["equipment"],
        title=data["title"],
        priority=Priority(callback_data.value),
    )
    order = await api.create_work_order(request)
    await state.clear()
    await query.answer("Created")
    if isinstance(query.message, Message):
        await edit(query.message, f"✅ Created <b>{esc(order.number)}</b>.")
        await send_order(query.message, order, me, app)


@router.callback_query(CreateCb.filter(F.action == "stop"))
async def stop(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await query.answer("Stopped")
    if isinstance(query.message, Message):
        await edit(query.message, "✖️ Stopped. Nothing was created.")
