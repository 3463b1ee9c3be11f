"""The bot next to the service runtime: started when the runtime has started, stopped first.

``BotService`` owns the aiogram Bot and Dispatcher and the loops around them:

- getting updates: long polling (default; the webhook is removed first, or getUpdates would be
  refused) or a webhook (registered with the secret token; ``webhook`` answers the POSTs);
- the notification sender and housekeeping;
- a plain NATS subscription to ``user.telegram_linked`` in every replica, which drops the cached
  identity of that Telegram id (the durable consumer that keeps the users replica runs in one
  replica only).

Telegram unreachable at start is not fatal: the setup calls are retried in the background.
A stop stops taking updates, lets those in hand finish (``SHUTDOWN_GRACE``), then closes.
"""

import asyncio
import contextlib
import hmac
import logging
from typing import Any

from aiogram.types import Update
from nats.aio.msg import Msg
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rivet_contracts import Events
from rivet_contracts.auth import UserTelegramLinked
from rivet_contracts.envelope import EventEnvelope
from rivet_runtime import ServiceRuntime

from . import housekeeping
from .bot.app import create_bot, create_dispatcher
from .bot.middlewares import UpdateGate
from .notify.sender import NotificationSender
from .render.help import COMMANDS
from .settings import BotMode
from .state import TelegramState

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


class BotService:
    def __init__(self, state: TelegramState, runtime: ServiceRuntime[TelegramState]) -> None:
        self.state = state
        self.settings = state.settings
        self.runtime = runtime
        self.bot = create_bot(state)
        self.gate = UpdateGate(state.db)
        self.dp = create_dispatcher(state, self.gate)
        self.sender = NotificationSender(self.settings, state.db, self.bot)
        self._tasks: list[asyncio.Task[None]] = []
        self._feeding: set[asyncio.Task[None]] = set()
        self._subscription: Any = None
        self._polling = False
        self._stopping = False

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        connection = self.runtime.broker.connection
        self._subscription = await connection.subscribe(
            self.settings.subject(Events.USER_TELEGRAM_LINKED), cb=self._on_linked
        )
        self.sender.start()
        self._tasks.append(asyncio.create_task(housekeeping.run_forever(self.state.db)))
        self._tasks.append(asyncio.create_task(self._run(), name="telegram-updates"))

    async def stop(self) -> None:
        self._stopping = True
        if self._polling:
            with contextlib.suppress(RuntimeError, TimeoutError):
                await asyncio.wait_for(self.dp.stop_polling(), self.settings.shutdown_grace)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._feeding:  # webhook updates accepted but maybe not yet at the gate
            await asyncio.wait(set(self._feeding), timeout=self.settings.shutdown_grace)
        if not await self.gate.drained(self.settings.shutdown_grace):
            log.warning("%d updates still in hand at shutdown", self.gate.in_hand)
        await self.sender.stop()
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()
        await self.bot.session.close()

    async def _run(self) -> None:
        await self._prepare()
        if self.settings.telegram_mode is BotMode.POLLING:
            self._polling = True
            await self.dp.start_polling(
                self.bot,
                polling_timeout=self.settings.telegram_polling_timeout,
                handle_signals=False,
                close_bot_session=False,
                allowed_updates=self.dp.resolve_used_update_types(),
            )

    async def _prepare(self) -> None:
        """Command menu, and the webhook set (webhook mode) or removed (polling)."""
        delay = 1.0
        while True:
            try:
                await self.bot.set_my_commands(COMMANDS)
                if self.settings.telegram_mode is BotMode.WEBHOOK:
                    await self.bot.set_webhook(
                        str(self.settings.telegram_webhook_url),
                        secret_token=self.settings.telegram_webhook_secret,
                        allowed_updates=self.dp.resolve_used_update_types(),
                    )
                else:
                    await self.bot.delete_webhook(drop_pending_updates=False)
                log.info("bot ready (%s)", self.settings.telegram_mode.value)
                return
            except Exception as exc:
                log.warning("Telegram setup failed (%r); retrying in %.0fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    async def _on_linked(self, msg: Msg) -> None:
        try:
            event = EventEnvelope[UserTelegramLinked].model_validate_json(msg.data)
        except ValidationError:
            return
        self.state.identities.forget(event.data.telegram_user_id)

    # --- webhook ------------------------------------------------------------------------

    async def webhook(self, request: Request) -> Response:
        """Telegram's POST of one update. Refused (401) without the right secret token; answered
        at once, the update being handled in the background (Telegram waits at most 60 s)."""
        expected = (self.settings.telegram_webhook_secret or "").encode()
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not expected or not hmac.compare_digest(given, expected):
            return JSONResponse({"ok": False, "error": "wrong or missing secret token"}, 401)
        if self._stopping:
            return JSONResponse({"ok": False, "error": "stopping; send it again"}, 503)
        try:
            update = Update.model_validate(await request.json(), context={"bot": self.bot})
        except (ValueError, ValidationError):
            return JSONResponse({"ok": False, "error": "not an update"}, 400)
        task = asyncio.create_task(self._feed(update))
        self._feeding.add(task)
        task.add_done_callback(self._feeding.discard)
        return JSONResponse({"ok": True})

    async def _feed(self, update: Update) -> None:
        try:
            await self.dp.feed_update(self.bot, update)
        except Exception:
            log.exception("update %s failed", update.update_id)
