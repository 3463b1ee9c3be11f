"""Keeps stored health scores true as time passes, without scanning every asset.

Two things change a score with no event: an open order passing its due date (it becomes
overdue) and the decay of old work. Each scored asset stores the earliest due date among its
open orders that were not yet overdue (``next_due_at``); a pass rescores the assets whose
``next_due_at`` has come (indexed) and those scored more than a day ago (decay moves a score
by at most ~2% of its penalty per day). One replica does a pass at a time (advisory lock).
"""

import asyncio
import contextlib
import hashlib
import logging
from datetime import timedelta

from sqlalchemy import text

from rivet_runtime.db import Database

from ..state import WorkordersState
from . import scoring

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(days=1)
BATCH = 1000
LOCK_KEY = int.from_bytes(hashlib.sha256(b"rivet-workorders:health").digest()[:8]) >> 1

_DUE = text("SELECT id FROM equipment WHERE next_due_at <= :now ORDER BY next_due_at LIMIT :batch")
_STALE = text("SELECT id FROM equipment WHERE scored_at < :before ORDER BY scored_at LIMIT :batch")


class HealthRefresher:
    def __init__(self, db: Database, state: WorkordersState) -> None:
        self.db = db
        self.state = state
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="workorders-health-refresher")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        interval = self.state.settings.health_refresh_interval
        while not self._stop.is_set():
            try:
                done = await self.refresh_once()
            except Exception as exc:
                log.warning("health refresh failed: %r", exc)
                done = 0
            if done >= BATCH:
                continue  # catching up
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), interval)

    async def refresh_once(self) -> int:
        """One pass; returns how many assets were rescored (0 if another replica holds it)."""
        now = self.state.clock.now()
        async with self.db.transaction() as conn:
            locked = await conn.scalar(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}
            )
            if not locked:
                return 0
            due = (await conn.execute(_DUE, {"now": now, "batch": BATCH})).scalars().all()
            stale = (
                (await conn.execute(_STALE, {"before": now - STALE_AFTER, "batch": BATCH}))
                .scalars()
                .all()
            )
            ids = sorted({*due, *stale})
            health = scoring.new_deltas()
            await scoring.rescore(conn, ids, now, health)
            await scoring.apply_org_health(conn, health)
        return max(len(due), len(stale))
