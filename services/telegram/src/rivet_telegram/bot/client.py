"""The aiogram Bot: the client of the Bot API.

It talks to ``TELEGRAM_API_BASE`` (Telegram, a local Bot API server, or the tests' fake), waits
out short rate limits itself (``RetryAfterMiddleware``) and sends HTML by default (every dynamic
value is escaped by ``render``).
"""

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

from ..settings import TelegramSettings
from .ratelimit import RetryAfterMiddleware


def create_bot(settings: TelegramSettings) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    session.middleware(RetryAfterMiddleware(settings.telegram_retry_max_wait))
    return Bot(
        settings.telegram_bot_token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
