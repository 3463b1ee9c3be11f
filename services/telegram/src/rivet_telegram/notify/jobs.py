"""Delivers ``notifications`` rows to Telegram at a pace Telegram accepts; nothing is dropped.

A pass leases a batch (``next_attempt_at`` moves past the lease, so another replica or a
restarted process skips the rows while they are being sent, and picks them up if this process
dies), sends them one by one at ``TELEGRAM_NOTIFY_RATE``, and then:

- delivered: the row is deleted;
- 429 ``retry_after`` (longer than the request middleware waits out itself): this row and the
  rest of the batch are put back for ``retry_after`` seconds, and the sender pauses that long;
  a rate limit never counts as a failed attempt;
- the user blocked the bot, or Telegram refuses the message (400/403): marked failed, kept for
  inspection (sending again cannot succeed);
- anything else (network, Telegram 5xx): retried with a growing delay for up to
  ``TELEGRAM_NOTIFY_MAX_AGE`` seconds.

A queue job: it wakes on the notification the consumer sends at commit, with a safety poll
(``TELEGRAM_NOTIFY_POLL``); replicas share the rows through the lease.
"""

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from sqlalchemy import text

from rivet_runtime.jobs import JobContext, JobRouter

from ..bot import keyboards
from ..metrics import NOTIFICATION_BACKLOG, NOTIFICATIONS, RETRY_AFTER
from ..state import TelegramState

log = logging.getLogger(__name__)

CHANNEL = "telegram_notifications"
"""Notified by the transaction that stores notifications (``events``)."""
BATCH = 20

_LEASE = text(
    "UPDATE notifications SET next_attempt_at = now() + make_interval(secs => :lease) "
    "WHERE id = ANY(ARRAY(SELECT id FROM notifications WHERE failed_at IS NULL "
    "AND next_attempt_at <= now() ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)) "
    "RETURNING id, chat_id, text, work_order, attempts, created_at"
)
_DONE = text("DELETE FROM notifications WHERE id = :id")
_LATER = text(
    "UPDATE notifications SET next_attempt_at = now() + make_interval(secs => :delay), "
    "attempts = attempts + :counted, last_error = :error WHERE id = ANY(:ids)"
)
_FAILED = text(
    "UPDATE notifications SET failed_at = now(), attempts = attempts + 1, last_error = :error "
    "WHERE id = :id"
)
_BACKLOG = text("SELECT count(*) FROM notifications WHERE failed_at IS NULL")


jobs: JobRouter[TelegramState] = JobRouter()
Ctx = JobContext[TelegramState]


def _poll(settings: Any) -> float:
    return float(settings.telegram_notify_poll)


@jobs.queue("notifications", channel=CHANNEL, poll=_poll)
async def send_due(ctx: Ctx) -> int:
    """One pass: lease a batch, send it at the allowed pace; returns the rows handled."""
    settings = ctx.state.settings
    lease = 60.0 + settings.telegram_retry_max_wait
    async with ctx.transaction() as conn:
        rows = (await conn.execute(_LEASE, {"lease": lease, "limit": BATCH})).all()
        NOTIFICATION_BACKLOG.set(int(await conn.scalar(_BACKLOG) or 0))
    gap = 1.0 / settings.telegram_notify_rate
    for index, row in enumerate(rows):
        try:
            await ctx.state.bot.send_message(
                chat_id=row.chat_id,
                text=row.text,
                reply_markup=keyboards.open_order(row.work_order) if row.work_order else None,
            )
        except TelegramRetryAfter as exc:
            RETRY_AFTER.labels("rescheduled").inc()
            rest = [r.id for r in rows[index:]]
            await _later(ctx, rest, float(exc.retry_after), f"429: {exc}", counted=0)
            log.warning("Telegram asked to pause %ss; %d rescheduled", exc.retry_after, len(rest))
            with contextlib.suppress(TimeoutError):  # pause, unless the process is stopping
                await asyncio.wait_for(ctx.stop_event.wait(), float(exc.retry_after))
            return index
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            NOTIFICATIONS.labels("failed").inc()
            log.warning("notification %s to %s refused: %s", row.id, row.chat_id, exc)
            await _execute(ctx, _FAILED, {"id": row.id, "error": str(exc)[:500]})
        except Exception as exc:
            await _retry_or_fail(ctx, row, exc)
        else:
            NOTIFICATIONS.labels("sent").inc()
            await _execute(ctx, _DONE, {"id": row.id})
        await asyncio.sleep(gap)
    return len(rows)


async def _retry_or_fail(ctx: Ctx, row: Any, exc: Exception) -> None:
    age = (datetime.now(UTC) - row.created_at).total_seconds()
    if age > ctx.state.settings.telegram_notify_max_age:
        NOTIFICATIONS.labels("failed").inc()
        log.error("notification %s given up after %d attempts: %r", row.id, row.attempts, exc)
        await _execute(ctx, _FAILED, {"id": row.id, "error": repr(exc)[:500]})
        return
    NOTIFICATIONS.labels("retry").inc()
    delay = min(2.0 ** min(row.attempts, 8), 300.0)
    await _later(ctx, [row.id], delay, repr(exc)[:500], counted=1)


async def _later(ctx: Ctx, ids: list[int], delay: float, error: str, *, counted: int) -> None:
    params = {"ids": ids, "delay": delay, "error": error, "counted": counted}
    await _execute(ctx, _LATER, params)


async def _execute(ctx: Ctx, statement: Any, params: dict[str, Any]) -> None:
    async with ctx.transaction() as conn:
        await conn.execute(statement, params)
