"""Telegram's rate limits, for every Bot API call the bot makes.

Telegram answers 429 with ``retry_after`` when a bot sends too fast (about 30 messages a second
overall, one a second per chat). aiogram raises ``TelegramRetryAfter``; this request middleware
waits the time asked and sends the same call again, so a reply is late rather than lost. A wait
longer than ``max_wait`` is not sat out inside a handler: the error goes up to the caller (the
notification sender reschedules the message; a reply falls to the error handler).
"""

import asyncio
import logging
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods.base import TelegramMethod, TelegramType

from ..metrics import RETRY_AFTER

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response

log = logging.getLogger(__name__)


class RetryAfterMiddleware(BaseRequestMiddleware):
    def __init__(self, max_wait: float, attempts: int = 5) -> None:
        self.max_wait = max_wait
        self.attempts = attempts

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: "Bot",
        method: TelegramMethod[TelegramType],
    ) -> "Response[TelegramType]":
        attempt = 1
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if exc.retry_after > self.max_wait or attempt >= self.attempts:
                    RETRY_AFTER.labels("deferred").inc()
                    raise
                RETRY_AFTER.labels("waited").inc()
                log.warning(
                    "Telegram asked to wait %ss before %s (attempt %d)",
                    exc.retry_after,
                    method.__api_method__,
                    attempt,
                )
                await asyncio.sleep(exc.retry_after)
                attempt += 1
