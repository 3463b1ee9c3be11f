"""The aiogram Dispatcher, wired to Rivet (the Bot is made in ``client``).

The dispatcher keeps conversation state in PostgreSQL, handles one update per user at a time
(``SimpleEventIsolation``: two quick taps cannot both create an order), drops duplicate updates,
and hands handlers the service state as ``app`` and the sender as ``who``.
"""

from aiogram import Dispatcher
from aiogram.fsm.storage.memory import SimpleEventIsolation

from ..handlers import routers
from ..state import TelegramState
from .errors import on_error
from .middlewares import UpdateGate, WhoMiddleware
from .storage import PostgresStorage


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
