"""Middlewares around every update.

``UpdateGate`` makes each update count once: Telegram may deliver one twice (a webhook retried
after a timeout, polling resumed after a crash before the offset was confirmed), and a second
"start work" or comment must not happen. The update id is recorded in ``updates`` before the
handlers run, so a copy finds it and is dropped. It also counts the updates in hand, so a stop
can let them finish.

``WhoMiddleware`` gives handlers ``who``: the sender, resolved to a Rivet identity on first use.
Only private chats are resolved; the bot does not act for anyone in a group.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.enums import ChatType
from aiogram.types import Chat, TelegramObject, Update, User
from sqlalchemy import text

from rivet_runtime.db import Database

from ..metrics import UPDATES
from .who import Identities, Who

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

_CLAIM = text(
    "INSERT INTO updates (bot_id, update_id) VALUES (:bot, :update) "
    "ON CONFLICT DO NOTHING RETURNING update_id"
)


class UpdateGate(BaseMiddleware):
    def __init__(self, db: Database) -> None:
        self.db = db
        self.in_hand = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        bot_id = data["bot"].id
        async with self.db.transaction() as conn:
            first = (await conn.execute(_CLAIM, {"bot": bot_id, "update": event.update_id})).first()
        if first is None:
            UPDATES.labels("duplicate").inc()
            log.info("update %d was already handled; skipped", event.update_id)
            return None
        UPDATES.labels("handled").inc()
        self.in_hand += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self.in_hand -= 1
            if self.in_hand == 0:
                self._idle.set()

    async def drained(self, within: float) -> bool:
        """Wait until no update is in hand (True) or ``within`` seconds pass (False)."""
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            return False
        return True


class WhoMiddleware(BaseMiddleware):
    def __init__(self, identities: Identities) -> None:
        self.identities = identities

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        update: Update | None = data.get("event_update")
        private = chat is not None and chat.type == ChatType.PRIVATE
        telegram_id = user.id if user is not None and not user.is_bot and private else None
        correlation = f"telegram-{update.update_id}" if update is not None else "telegram"
        data["who"] = Who(self.identities, telegram_id, correlation)
        return await handler(event, data)
