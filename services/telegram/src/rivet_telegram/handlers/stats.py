"""``/stats``: the organization's dashboard, its planned maintenance and the caller's own work.

The planned maintenance figures (PM compliance, PM orders overdue and open) come from the
maintenance service; when it does not answer (not running, not deployed) the rest is shown with
a line saying they are not available."""

import asyncio
import logging

from aiogram.filters import Command
from aiogram.types import Message

from rivet_contracts.auth import TelegramIdentity
from rivet_contracts.maintenance import PmKpis

from ..bot.routing import Handlers
from ..render import stats
from ..rivet import RivetError, RivetUnavailable, UserApi

router = Handlers("stats")
log = logging.getLogger(__name__)


async def planned(api: UserApi) -> PmKpis | None:
    try:
        return await api.pm_kpis()
    except (RivetUnavailable, RivetError) as exc:
        log.info("PM figures not shown: %s", exc)
        return None


@router.message(Command("stats"))
async def show_stats(message: Message, me: TelegramIdentity, api: UserApi) -> None:
    overview, summary, pm = await asyncio.gather(api.overview(), api.summary(), planned(api))
    await message.answer(stats.overview(me, overview, summary, pm))
