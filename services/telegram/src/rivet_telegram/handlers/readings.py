"""Meter readings: ``/reading <asset> <value> [unit or meter name]`` and the asset card's
"Record a reading" button, recorded with ``rpc.maintenance.record_reading`` as the user (the
reading's source is ``telegram``).

The asset's meters come from ``rpc.maintenance.list_meters``: an asset with one meter needs no
name; with several, the unit or the name after the value picks one, or buttons ask which. After
a button the bot asks for the value, and the next message is it (FSM state, so a restart in
between loses nothing). Refusals are said as what they are: the asset has no meter, it has no
meter of that name or unit, the service refused the reading (a counter going back: its reason),
the meter is gone; a value over the contract's limits names the limit and the question stays
open. Nothing of this is kept by the bot: it is all the maintenance service's.
"""

from collections.abc import Callable
from uuid import UUID

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, ForceReply, Message
from pydantic import ValidationError

from rivet_contracts import ErrorCode
from rivet_contracts.maintenance import MeterView, RecordReading

from ..bot import keyboards
from ..bot.callbacks import EqCb, ReadCb
from ..bot.errors import refusal
from ..bot.routing import Handlers
from ..render import meters as render
from ..rivet import RivetError, UserApi
from .common import edit, parse_number

router = Handlers("readings")
HEX_ID = F.meter.regexp(r"^[0-9a-f]{32}$")
AGAIN = "\nSend the right value, or /cancel."


class ReadingValue(StatesGroup):
    waiting = State()


def choose(meters: list[MeterView], wanted: str) -> list[MeterView]:
    """The meters ``wanted`` names: all of them when nothing is named; else those with that
    name, or that unit, or a name starting with it (case does not matter)."""
    if not wanted:
        return meters
    key = wanted.casefold()
    tests: tuple[Callable[[MeterView], bool], ...] = (
        lambda m: m.name.casefold() == key,
        lambda m: m.unit.casefold() == key,
        lambda m: m.name.casefold().startswith(key),
    )
    for matches in tests:
        found = [m for m in meters if matches(m)]
        if found:
            return found
    return []


async def record(api: UserApi, request: RecordReading, equipment: str) -> tuple[str, bool]:
    """Record the reading: (what to say, whether it was recorded). A refusal by the service
    (validation: a counter going back, a time in the future) or a meter that is gone is said
    with its reason; anything else goes to the error handler."""
    try:
        result = await api.record_reading(request)
    except RivetError as exc:
        if exc.code is ErrorCode.VALIDATION:
            return render.refused(exc.info.message), False
        if exc.code is ErrorCode.NOT_FOUND:
            return render.GONE, False
        raise
    return render.recorded(result, equipment), True


@router.message(Command("reading"))
async def reading(message: Message, command: CommandObject, api: UserApi) -> None:
    parts = (command.args or "").split()
    value = parse_number(parts[1]) if len(parts) >= 2 else None
    if value is None:
        await message.answer(render.USAGE)
        return
    ref, wanted = parts[0], " ".join(parts[2:])
    item = await api.get_equipment(ref.upper())
    meters = await api.meters_of(item.id)
    if not meters:
        await message.answer(render.no_meters(item))
        return
    found = choose(meters, wanted)
    if not found:
        await message.answer(render.unknown_meter(item, wanted, meters))
        return
    if len(found) > 1:
        await message.answer(render.which(item, value), reply_markup=keyboards.meters(found, value))
        return
    request = RecordReading(meter_id=found[0].id, value=value)  # out of range: refused
    text, _ = await record(api, request, item.number)
    await message.answer(text)


@router.callback_query(EqCb.filter(F.action == "read"))
async def from_card(
    query: CallbackQuery, callback_data: EqCb, state: FSMContext, api: UserApi
) -> None:
    item = await api.get_equipment(callback_data.number)
    meters = await api.meters_of(item.id)
    if not meters:
        await query.answer(f"{item.number} has no meters.", show_alert=True)
        return
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if len(meters) == 1:
        await ask(query.message, state, meters[0], item.number)
    else:
        await query.message.answer(
            render.which(item, None), reply_markup=keyboards.meters(meters, None)
        )


@router.callback_query(ReadCb.filter(HEX_ID))
async def meter_chosen(
    query: CallbackQuery, callback_data: ReadCb, state: FSMContext, api: UserApi
) -> None:
    meter = await api.meter(UUID(hex=callback_data.meter))
    equipment = (await api.get_equipment(str(meter.equipment_id))).number
    value = parse_number(callback_data.value) if callback_data.value else None
    if value is None:
        await query.answer()
        if isinstance(query.message, Message):
            await ask(query.message, state, meter, equipment)
        return
    text, done = await record(api, RecordReading(meter_id=meter.id, value=value), equipment)
    await query.answer("Recorded" if done else "Not recorded")
    if isinstance(query.message, Message):
        await edit(query.message, text)


async def ask(message: Message, state: FSMContext, meter: MeterView, equipment: str) -> None:
    await state.set_state(ReadingValue.waiting)
    await state.set_data({"meter": meter.id.hex, "equipment": equipment, "unit": meter.unit})
    await message.answer(
        render.ask_value(meter, equipment), reply_markup=ForceReply(input_field_placeholder="1520")
    )


@router.message(ReadingValue.waiting, F.text, ~F.text.startswith("/"))
async def value_given(message: Message, state: FSMContext, api: UserApi) -> None:
    data = await state.get_data()
    first = (message.text or "").split(maxsplit=1)
    value = parse_number(first[0]) if first else None
    if value is None:
        await message.answer(render.not_a_number(data.get("unit", "")))
        return
    try:
        request = RecordReading(meter_id=UUID(hex=data["meter"]), value=value)
    except ValidationError as exc:  # out of range: say the limit and keep waiting
        if (problem := refusal(exc)) is None:
            raise
        await message.answer(problem + AGAIN)
        return
    text, done = await record(api, request, data["equipment"])
    if done or text == render.GONE:
        await state.clear()
        await message.answer(text)
    else:
        await message.answer(text + AGAIN)
