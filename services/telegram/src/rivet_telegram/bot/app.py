"""The aiogram Bot and Dispatcher, wired to Rivet.

The bot talks to ``TELEGRAM_API_BASE`` (Telegram, a local Bot API server, or the tests' fake)
and sends HTML by default (every dynamic value is escaped by ``render``). The dispatcher keeps
conversation state in PostgreSQL, handles one update per user at a time (``SimpleEventIsolation``:
two quick taps cannot both create an order), drops duplicate updates, and hands handlers the
service state as ``app`` and the sender as ``who``.
"""

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.memory import SimpleEventIsolation

from ..handlers import routers
from ..state import TelegramState
from .errors import on_error
from .middlewares import UpdateGate, WhoMiddleware
from .ratelimit import RetryAfterMiddleware
from .storage import PostgresStorage


def create_bot(state: TelegramState) -> Bot:
    settings = state.settings
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    session.middleware(RetryAfterMiddleware(settings.telegram_retry_max_wait))
    return Bot(
        settings.telegram_bot_token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def create_dispatcher(state: TelegramState, gate: UpdateGate) -> Dispatcher:
    dp = Dispatcher(storage=PostgresStorage(state.db), events_isolation=SimpleEventIsolation())
    dp["app"] = state
    dp.update.outer_middleware(gate)
    who = WhoMiddleware(state.identities)
    dp.message.outer_middleware(who)
    dp.callback_query.outer_middleware(who)
    dp.errors.register(on_error)
    dp.include_routers(*routers())
    return dp
