"""The bot next to the service runtime: started when the runtime has started, stopped first.

``BotService`` owns the aiogram Dispatcher and what feeds it:

- getting updates: long polling (default; the webhook is removed first, or getUpdates would be
  refused) or a webhook (registered with the secret token; ``webhook`` answers the POSTs);

Telegram unreachable at start is not fatal: the setup calls are retried in the background.
A stop stops taking updates, lets those in hand finish (``SHUTDOWN_GRACE``), then closes.
"""

import asyncio
import contextlib
import hmac
import logging
from dataclasses import dataclass

from aiogram import Dispatcher
from aiogram.types import Update
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .bot.app import create_dispatcher
from .bot.middlewares import UpdateGate
from .render.help import COMMANDS
from .settings import BotMode, TelegramSettings
from .state import TelegramState

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


class BotService:
    """Made with the runtime; ``start`` gets the state once the runtime has built it."""

    def __init__(self, settings: TelegramSettings) -> None:
        self.settings = settings
        self._started: _Started | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._feeding: set[asyncio.Task[None]] = set()
        self._polling = False
        self._stopping = False

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self, state: TelegramState) -> None:
        gate = UpdateGate(state.db)
        self._started = _Started(state, gate, create_dispatcher(state, gate))
        self._tasks.append(asyncio.create_task(self._run(), name="telegram-updates"))

    async def stop(self) -> None:
        self._stopping = True
        started = self._started
        if started is None:
            return
        if self._polling:
            with contextlib.suppress(RuntimeError, TimeoutError):
                await asyncio.wait_for(started.dp.stop_polling(), self.settings.shutdown_grace)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._feeding:  # webhook updates accepted but maybe not yet at the gate
            await asyncio.wait(set(self._feeding), timeout=self.settings.shutdown_grace)
        if not await started.gate.drained(self.settings.shutdown_grace):
            log.warning("%d updates still in hand at shutdown", started.gate.in_hand)

    async def _run(self) -> None:
        started = self._ready()
        await self._prepare(started)
        if self.settings.telegram_mode is BotMode.POLLING:
            self._polling = True
            await started.dp.start_polling(
                started.state.bot,
                polling_timeout=self.settings.telegram_polling_timeout,
                handle_signals=False,
                close_bot_session=False,
                allowed_updates=started.dp.resolve_used_update_types(),
            )

    def _ready(self) -> "_Started":
        if self._started is None:
            raise RuntimeError("the bot has not started")
        return self._started

    async def _prepare(self, started: "_Started") -> None:
        """Command menu, and the webhook set (webhook mode) or removed (polling)."""
        delay = 1.0
        while True:
            try:
                bot, dp = started.state.bot, started.dp
                await bot.set_my_commands(COMMANDS)
                if self.settings.telegram_mode is BotMode.WEBHOOK:
                    await bot.set_webhook(
                        str(self.settings.telegram_webhook_url),
                        secret_token=self.settings.telegram_webhook_secret,
                        allowed_updates=dp.resolve_used_update_types(),
                    )
                else:
                    await bot.delete_webhook(drop_pending_updates=False)
                log.info("bot ready (%s)", self.settings.telegram_mode.value)
                return
            except Exception as exc:
                log.warning("Telegram setup failed (%r); retrying in %.0fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    # --- webhook ------------------------------------------------------------------------

    async def webhook(self, request: Request) -> Response:
        """Telegram's POST of one update. Refused (401) without the right secret token; answered
        at once, the update being handled in the background (Telegram waits at most 60 s)."""
        expected = (self.settings.telegram_webhook_secret or "").encode()
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not expected or not hmac.compare_digest(given, expected):
            return JSONResponse({"ok": False, "error": "wrong or missing secret token"}, 401)
        started = self._started
        if self._stopping or started is None:
            return JSONResponse({"ok": False, "error": "not running; send it again"}, 503)
        try:
            update = Update.model_validate(await request.json(), context={"bot": started.state.bot})
        except (ValueError, ValidationError):
            return JSONResponse({"ok": False, "error": "not an update"}, 400)
        task = asyncio.create_task(self._feed(started, update))
        self._feeding.add(task)
        task.add_done_callback(self._feeding.discard)
        return JSONResponse({"ok": True})

    async def _feed(self, started: "_Started", update: Update) -> None:
        try:
            await started.dp.feed_update(started.state.bot, update)
        except Exception:
            log.exception("update %s failed", update.update_id)


@dataclass(frozen=True)
class _Started:
    state: TelegramState
    gate: UpdateGate
    dp: Dispatcher
