"""``/stats``: the organization's dashboard and the caller's own work."""

import asyncio

from aiogram.filters import Command
from aiogram.types import Message

from rivet_contracts.auth import TelegramIdentity

from ..bot.routing import Handlers
from ..render import stats
from ..rivet import UserApi

router = Handlers("stats")


@router.message(Command("stats"))
async def show_stats(message: Message, me: TelegramIdentity, api: UserApi) -> None:
    overview, summary = await asyncio.gather(api.overview(), api.summary())
    await message.answer(stats.overview(me, overview, summary))
