"""Small helpers the handlers share: argument parsing and showing an order or an asset."""

import contextlib
import logging
import math
import re
from uuid import UUID

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, Message

from rivet_contracts.assets import EquipmentView
from rivet_contracts.attachments import Rendition
from rivet_contracts.auth import TelegramIdentity
from rivet_contracts.maintenance import MeterView
from rivet_contracts.workorders import WorkOrderView

from .. import chat, objects
from ..bot import keyboards
from ..render import equipment, workorders
from ..rivet import RivetError, RivetUnavailable, UserApi
from ..state import TelegramState

log = logging.getLogger(__name__)

EQ_NUMBER = re.compile(r"^EQ-\d{4}-\d{6}$", re.IGNORECASE)
WO_NUMBER = re.compile(r"^WO-\d{4}-\d{6}$", re.IGNORECASE)
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def split_args(args: str | None) -> tuple[str, str]:
    """``"search baldor pump"`` -> ``("search", "baldor pump")``."""
    head, _, rest = (args or "").strip().partition(" ")
    return head.lower(), rest.strip()


def parse_number(text: str) -> float | None:
    """A reading as people type it: ``1520``, ``-3.5``, ``3,5`` (a decimal comma), ``1e3``;
    None for anything else."""
    text = text.strip()
    if "," in text and "." not in text and text.count(",") == 1:
        text = text.replace(",", ".")
    if not NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


async def send_order(
    message: Message, order: WorkOrderView, me: TelegramIdentity, app: TelegramState
) -> Message:
    """The order's card; the chat now looks at the order (a photo sent next goes on it)."""
    sent = await message.answer(
        workorders.card(order), reply_markup=keyboards.work_order(order, me.user.role)
    )
    await chat.show_order(app.db, message.chat.id, me.user.id, order.number)
    return sent


async def edit(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Edit a message the bot sent; an unchanged text is not an error."""
    with contextlib.suppress(TelegramBadRequest):
        await message.edit_text(text, reply_markup=markup)


async def edit_order(
    message: Message, order: WorkOrderView, me: TelegramIdentity, app: TelegramState
) -> None:
    """The card as the order is now; the chat looks at the order again."""
    await edit(message, workorders.card(order), keyboards.work_order(order, me.user.role))
    await chat.show_order(app.db, message.chat.id, me.user.id, order.number)


async def known_meters(api: UserApi, equipment_id: UUID) -> list[MeterView] | None:
    """The asset's meters, or None when the maintenance service cannot say (not running, not
    answering): the asset is shown without them."""
    try:
        return await api.meters_of(equipment_id)
    except (RivetUnavailable, RivetError) as exc:
        log.info("meters of %s not shown: %s", equipment_id, exc)
        return None


async def send_equipment(
    message: Message, item: EquipmentView, me: TelegramIdentity, api: UserApi, app: TelegramState
) -> None:
    """The asset's picture (its screen copy, when it has one and it can be read now), then its
    card, with its meters and a reading button when it has meters."""
    picture = item.picture
    if picture is not None:
        data = await objects.read_file(api, app.files, picture.attachment_id, Rendition.SCREEN)
        if data is not None:
            photo = BufferedInputFile(data, filename=picture.filename)
            await message.answer_photo(photo, caption=equipment.picture_caption(item, picture))
    meters = await known_meters(api, item.id)
    await message.answer(
        equipment.card(item, meters),
        reply_markup=keyboards.equipment(item, me.user.role, meters),
    )
