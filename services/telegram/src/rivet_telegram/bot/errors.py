"""The last word on a failed update: the user always hears something, the loop never stops.

A service that does not answer (or fails inside) gets a polite "try again"; a refusal with a
reason (not found, not allowed, invalid) is shown as the service worded it; a request that
Rivet's contracts refuse before it is even sent (a search text over 200 characters, say) is
shown as what it is, with the limit (``refused``); anything else is logged with its traceback
and answered with a generic apology. Failing to say even that (Telegram itself unreachable) is
logged and swallowed.
"""

import logging
from functools import cache
from typing import Any, get_args

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent
from pydantic import BaseModel, ValidationError

from rivet_contracts.base import Request
from rivet_contracts.catalog import RPCS

from ..render.common import esc, words
from ..rivet import RivetError, RivetUnavailable

log = logging.getLogger(__name__)

TRY_AGAIN = "⏳ Rivet is not answering right now. Please try again in a minute."
OOPS = "😕 Something went wrong on my side; it has been logged. Please try again."

FIELDS = {
    "query": "the search text",
    "body": "the comment",
    "comment": "the comment",
    "note": "the note",
    "code": "the link code",
    "full_name": "the name",
    "email": "the e-mail address",
    "equipment_type": "the type",
    "equipment_id": "the equipment number",
    "upload_key": "the photo",
    "due_at": "the due date",
}
"""Readable names of the fields users fill in; any other is ``the <name with spaces>``."""
REFS = {"Equipment": "the equipment number", "WorkOrder": "the work order number"}
"""``ref`` names an asset or a work order, by the request's name."""
SHOWN = 3
"""At most this many problems of one request are listed."""


@cache
def contract_models() -> frozenset[str]:
    """The names of the catalogue's request models and of the request models inside them (a
    work order's ``changes``, a scan's ``corrections``): the models built from what users type.
    A ``ValidationError`` carries only the model's name (its ``title``)."""
    found: set[type[BaseModel]] = set()
    todo: list[Any] = [spec.request for spec in RPCS.values()]
    while todo:
        model = todo.pop()
        if isinstance(model, type) and issubclass(model, Request):
            if model not in found:
                found.add(model)
                todo += [field.annotation for field in model.model_fields.values()]
        else:
            todo += get_args(model)  # X | None, list[X], Annotated[X, ...]
    return frozenset(model.__name__ for model in found)


def _field(model: str, loc: tuple[int | str, ...]) -> str:
    names = [part for part in loc if isinstance(part, str)]
    if not names:
        return "the request"
    name = names[-1]
    if name == "ref":
        return next((label for key, label in REFS.items() if key in model), "the reference")
    label = FIELDS.get(name, f"the {words(name)}")
    return f"one of {label}" if isinstance(loc[-1], int) else label


def _plural(count: object, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _problem(model: str, error: Any) -> str:
    """One of pydantic's errors in the user's words."""
    field = _field(model, tuple(error["loc"]))
    try:
        return _worded(field, error["type"], error.get("ctx") or {}, error["msg"])
    except (KeyError, IndexError):  # an error without the context it usually has
        return f"Not accepted: {field}: {error['msg']}."


def _worded(field: str, kind: str, ctx: dict[str, Any], msg: str) -> str:
    if kind == "string_too_long":
        return f"Too long: {field} may have at most {_plural(ctx['max_length'], 'character')}."
    if kind == "string_too_short":
        if ctx.get("min_length", 1) <= 1:
            return f"Empty: {field} needs some text."
        return f"Too short: {field} needs at least {_plural(ctx['min_length'], 'character')}."
    if kind == "too_long":
        return f"Too many: {field} may have at most {_plural(ctx['max_length'], 'item')}."
    if kind == "too_short":
        return f"Too few: {field} needs at least {_plural(ctx['min_length'], 'item')}."
    bounds = {
        "greater_than": "more than {gt}",
        "greater_than_equal": "at least {ge}",
        "less_than": "less than {lt}",
        "less_than_equal": "at most {le}",
    }
    if kind in bounds:
        return f"Out of range: {field} must be {bounds[kind].format(**ctx)}."
    if kind == "missing":
        return f"Missing: {field} is needed."
    if kind == "enum":
        return f"Not accepted: {field} must be {ctx.get('expected', 'one of the choices')}."
    if kind.startswith("uuid"):
        return f"Not accepted: {field} is not a valid id."
    if kind.startswith(("int_", "float_", "decimal_")):
        return f"Not accepted: {field} must be a number."
    if kind.startswith(("date", "datetime", "timezone")):
        return f"Not accepted: {field} must be a date."
    return f"Not accepted: {field}: {msg}."


def refused(exc: ValidationError) -> str | None:
    """What a contract's request model refused, in plain text, one problem a line; None when
    the model is not one of the contracts' requests (then it is the bot's own bug)."""
    if exc.title not in contract_models():
        return None
    errors = exc.errors(include_url=False, include_input=False)
    lines = list(dict.fromkeys(_problem(exc.title, error) for error in errors))
    return "\n".join(lines[:SHOWN])


def refusal(exc: ValidationError) -> str | None:
    """``refused`` as a message (HTML), for a handler that answers it itself."""
    text = refused(exc)
    return None if text is None else f"⚠️ {esc(text, 1000)}"


def explain(exc: Exception) -> tuple[str, str]:
    """(HTML for a message, plain text for a button alert)."""
    if isinstance(exc, RivetUnavailable):
        return TRY_AGAIN, TRY_AGAIN
    if isinstance(exc, RivetError):
        return f"⚠️ {esc(exc.info.message, 1000)}", f"⚠️ {exc.info.message}"[:190]
    if isinstance(exc, ValidationError) and (text := refused(exc)) is not None:
        return f"⚠️ {esc(text, 1000)}", f"⚠️ {text}"[:190]
    return OOPS, OOPS


async def on_error(event: ErrorEvent, bot: Bot) -> bool:
    exc = event.exception
    update = event.update
    if isinstance(exc, RivetUnavailable):
        log.warning("update %s: a service is unavailable: %s", update.update_id, exc)
    elif isinstance(exc, RivetError):
        log.info("update %s refused: %s %s", update.update_id, exc.code.value, exc)
    elif isinstance(exc, ValidationError) and exc.title in contract_models():
        problems = [  # without the input: it is the user's text
            (".".join(map(str, e["loc"])), e["type"])
            for e in exc.errors(include_url=False, include_input=False)
        ]
        log.info("update %s refused by %s: %s", update.update_id, exc.title, problems)
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
