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

The sender wakes on the ``NOTIFY`` the consumer sends at commit, with a safety poll.
"""

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from sqlalchemy import text

from rivet_runtime.db import Database

from ..bot import keyboards
from ..metrics import NOTIFICATION_BACKLOG, NOTIFICATIONS, RETRY_AFTER
from ..settings import TelegramSettings
from .events import CHANNEL

log = logging.getLogger(__name__)

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


class NotificationSender:
    def __init__(self, settings: TelegramSettings, db: Database, bot: Bot) -> None:
        self.settings = settings
        self.db = db
        self.bot = bot
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="telegram-notifications")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close(timeout=2)
            self._listener = None

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            await self._listen()
            try:
                sent, pause = await self.send_due()
                backoff = 0.5
            except Exception as exc:
                log.warning("notification pass failed: %r", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if pause:
                await asyncio.sleep(pause)
                continue
            if sent:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.telegram_notify_poll)
            self._wake.clear()

    async def send_due(self) -> tuple[int, float]:
        """One pass: (rows handled, seconds Telegram asked us to pause)."""
        lease = 60.0 + self.settings.telegram_retry_max_wait
        async with self.db.transaction() as conn:
            rows = (await conn.execute(_LEASE, {"lease": lease, "limit": BATCH})).all()
            NOTIFICATION_BACKLOG.set(int(await conn.scalar(_BACKLOG) or 0))
        gap = 1.0 / self.settings.telegram_notify_rate
        for index, row in enumerate(rows):
            try:
                await self.bot.send_message(
                    chat_id=row.chat_id,
                    text=row.text,
                    reply_markup=keyboards.open_order(row.work_order) if row.work_order else None,
                )
            except TelegramRetryAfter as exc:
                RETRY_AFTER.labels("rescheduled").inc()
                rest = [r.id for r in rows[index:]]
                await self._later(rest, float(exc.retry_after), f"429: {exc}", counted=0)
                log.warning(
                    "Telegram asked to pause %ss; %d rescheduled", exc.retry_after, len(rest)
                )
                return index, float(exc.retry_after)
            except (TelegramForbiddenError, TelegramBadRequest) as exc:
                NOTIFICATIONS.labels("failed").inc()
                log.warning("notification %s to %s refused: %s", row.id, row.chat_id, exc)
                await self._execute(_FAILED, {"id": row.id, "error": str(exc)[:500]})
            except Exception as exc:
                await self._retry_or_fail(row, exc)
            else:
                NOTIFICATIONS.labels("sent").inc()
                await self._execute(_DONE, {"id": row.id})
            await asyncio.sleep(gap)
        return len(rows), 0.0

    async def _retry_or_fail(self, row: Any, exc: Exception) -> None:
        age = (datetime.now(UTC) - row.created_at).total_seconds()
        if age > self.settings.telegram_notify_max_age:
            NOTIFICATIONS.labels("failed").inc()
            log.error("notification %s given up after %d attempts: %r", row.id, row.attempts, exc)
            await self._execute(_FAILED, {"id": row.id, "error": repr(exc)[:500]})
            return
        NOTIFICATIONS.labels("retry").inc()
        delay = min(2.0 ** min(row.attempts, 8), 300.0)
        await self._later([row.id], delay, repr(exc)[:500], counted=1)

    async def _later(self, ids: list[int], delay: float, error: str, *, counted: int) -> None:
        params = {"ids": ids, "delay": delay, "error": error, "counted": counted}
        await self._execute(_LATER, params)

    async def _execute(self, statement: Any, params: dict[str, Any]) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(statement, params)

    async def _listen(self) -> None:
        """LISTEN for new notifications on a dedicated connection; reconnect when lost."""
        if self._listener is not None and not self._listener.is_closed():
            return
        try:
            raw = await self.db.engine.raw_connection()
        except Exception:
            return  # the safety poll carries on
        conn: asyncpg.Connection = raw.driver_connection
        raw.detach()
        await conn.add_listener(CHANNEL, lambda *_: self._wake.set())
        conn.add_termination_listener(lambda *_: self._wake.set())
        self._listener = conn
