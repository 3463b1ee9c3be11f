"""Time-driven facts about orders: ``wo.overdue`` when an open order's due date passes.

Nothing happens to an order when its deadline passes, so no request or event can announce it;
the ``overdue`` job does, every ``OVERDUE_INTERVAL`` seconds in one replica (a periodic job).
Each pass marks a batch of open orders whose deadline passed unannounced
(``overdue_announced_for = due_at``) and writes their ``wo.overdue`` in the same transaction,
so an order is announced once per deadline, however often passes run, replicas race or
processes die: a rolled-back pass marked nothing and wrote nothing. A deadline moved later and
passed again is announced again; an order closed before its pass is not announced.
"""

import logging

from rivet_contracts import Events
from rivet_contracts.workorders import WorkOrderOverdue
from rivet_runtime.jobs import JobContext, JobRouter

from ..settings import WorkordersSettings
from ..state import WorkordersState
from . import repository as repo
from . import views

log = logging.getLogger(__name__)

BATCH = 500
"""Orders marked and announced per transaction."""

jobs: JobRouter[WorkordersState] = JobRouter()


def _interval(settings: WorkordersSettings) -> float:
    return settings.overdue_interval


@jobs.periodic("overdue", every=_interval)
async def announce_overdue(ctx: JobContext[WorkordersState]) -> int:
    """Announce every open order whose deadline passed unannounced, a batch per transaction;
    returns how many were announced."""
    total = 0
    while not ctx.stopping:
        now = ctx.state.clock.now()
        async with ctx.transaction() as conn:
            rows = await repo.claim_overdue(conn, now, BATCH)
            if rows:
                events = [
                    (WorkOrderOverdue(**views.snapshot_fields(row)), row["org_id"]) for row in rows
                ]
                await ctx.emit_many(Events.WO_OVERDUE, events)
        total += len(rows)
        if len(rows) < BATCH:
            break
    if total:
        log.info("announced %d overdue work orders", total)
    return total
