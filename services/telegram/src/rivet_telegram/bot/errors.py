"""The last word on a failed update: the user always hears something, the loop never stops.

A service that does not answer (or fails inside) gets a polite "try again"; a refusal with a
reason (not found, not allowed, invalid) is shown as the service worded it; anything else is
logged with its traceback and answered with a generic apology. Failing to say even that (Telegram
itself unreachable) is logged and swallowed.
"""

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent

from ..render.common import esc
from ..rivet import RivetError, RivetUnavailable

log = logging.getLogger(__name__)

TRY_AGAIN = "⏳ Rivet is not answering right now. Please try again in a minute."
OOPS = "😕 Something went wrong on my side; it has been logged. Please try again."


def explain(exc: Exception) -> tuple[str, str]:
    """(HTML for a message, plain text for a button alert)."""
    if isinstance(exc, RivetUnavailable):
        return TRY_AGAIN, TRY_AGAIN
    if isinstance(exc, RivetError):
        return f"⚠️ {esc(exc.info.message, 1000)}", f"⚠️ {exc.info.message}"[:190]
    return OOPS, OOPS


async def on_error(event: ErrorEvent, bot: Bot) -> bool:
    exc = event.exception
    update = event.update
    if isinstance(exc, RivetUnavailable):
        log.warning("update %s: a service is unavailable: %s", update.update_id, exc)
    elif isinstance(exc, RivetError):
        log.info("update %s refused: %s %s", update.update_id, exc.code.value, exc)
    else:
        log.error("update %s failed", update.update_id, exc_info=exc)
    html, plain = explain(exc)
    try:
        if update.callback_query is not None:
            query = update.callback_query
            try:
                await query.answer(plain, show_alert=True)
            except TelegramAPIError:  # already answered, or too old: say it in the chat
                await bot.send_message(query.from_user.id, html)
        elif update.message is not None:
            await update.message.answer(html)
    except Exception as reply_failed:
        log.warning("could not tell the user about the failure: %r", reply_failed)
    return True
