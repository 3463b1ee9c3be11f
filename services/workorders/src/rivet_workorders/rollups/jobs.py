"""Keeps stored health scores true as time passes, without scanning every asset.

Two things change a score with no event: an open order passing its due date (it becomes
overdue) and the decay of old work. Each scored asset stores the earliest due date among its
open orders that were not yet overdue (``next_due_at``); a pass rescores the assets whose
``next_due_at`` has come (indexed) and those scored more than a day ago (decay moves a score
by at most ~2% of its penalty per day). One replica makes each pass (a periodic job).
"""

import logging
from datetime import timedelta

from sqlalchemy import text

from rivet_runtime.jobs import JobContext, JobRouter

from ..settings import WorkordersSettings
from ..state import WorkordersState
from . import scoring

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(days=1)
BATCH = 1000

_DUE = text("SELECT id FROM equipment WHERE next_due_at <= :now ORDER BY next_due_at LIMIT :batch")
_STALE = text("SELECT id FROM equipment WHERE scored_at < :before ORDER BY scored_at LIMIT :batch")

jobs: JobRouter[WorkordersState] = JobRouter()


def _interval(settings: WorkordersSettings) -> float:
    return settings.health_refresh_interval


@jobs.periodic("health-refresh", every=_interval)
async def refresh_health(ctx: JobContext[WorkordersState]) -> int:
    """Rescore what fell due or went stale, a batch per transaction until caught up; returns
    how many assets were rescored."""
    total = 0
    while not ctx.stopping:
        done = await _refresh_batch(ctx)
        total += done
        if done < BATCH:
            break
    return total


async def _refresh_batch(ctx: JobContext[WorkordersState]) -> int:
    now = ctx.state.clock.now()
    async with ctx.transaction() as conn:
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
