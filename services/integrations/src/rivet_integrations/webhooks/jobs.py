"""The webhooks' background work: sending due delivery rows (retries, redeliveries,
replays), the backlog gauges, pruning. The stream's first sends are the fan-out's
(``fanout.py``)."""

import asyncio

from rivet_runtime.jobs import JobContext, JobRouter

from .. import metrics
from ..settings import IntegrationsSettings
from ..state import IntegrationsState
from . import repository as repo
from .channels import DELIVERIES_CHANNEL as CHANNEL
from .delivery import settle
from .repository import Claimed
from .sender import Attempt

jobs: JobRouter[IntegrationsState] = JobRouter()
Ctx = JobContext[IntegrationsState]


def _poll(settings: IntegrationsSettings) -> float:
    """Due deliveries are looked for at least every second (sooner with a short schedule)."""
    return max(0.05, min(1.0, *settings.webhook_schedule))


@jobs.queue("webhook-deliveries", channel=CHANNEL, poll=_poll)
async def deliver(ctx: Ctx) -> int:
    """The retry job. Claim due delivery rows (a lease each; endpoints' rows locked with SKIP
    LOCKED, at most
    ``WEBHOOK_CONCURRENCY`` of an endpoint in flight across replicas, at most
    ``WEBHOOK_BATCH`` in flight in this replica) and send them side by side; as sends finish,
    store the outcomes of those that finished together and claim again for the room they
    left, in one transaction. An endpoint that is slow holds only its own deliveries back.
    The pass ends when nothing is in flight and nothing was claimed. A replica that dies
    mid-send (or a pass that fails) leaves its leases to expire: those deliveries are sent
    again (at least once)."""
    settings = ctx.state.settings
    flying: dict[asyncio.Task[Attempt], Claimed] = {}
    settled = 0
    done: list[asyncio.Task[Attempt]] = []
    try:
        while True:
            sent = [(flying[task], task.result()) for task in done]
            room = settings.webhook_batch - (len(flying) - len(done))
            claiming = room > 0 and not ctx.stopping
            claimed: list[Claimed] = []
            if sent or claiming:
                async with ctx.transaction() as conn:
                    await settle(ctx, conn, sent, settings)  # their leases end here
                    if claiming:
                        claimed = await repo.claim(
                            conn,
                            limit=room,
                            per_endpoint=settings.webhook_concurrency,
                            lease=settings.webhook_lease,
                            scan=settings.webhook_batch,  # past the first endpoints, when full
                        )
                for task in done:
                    del flying[task]
                settled += len(sent)
                for item in claimed:
                    send = ctx.state.sender.send(item.url, item.keys, item.event_id, item.body)
                    flying[asyncio.create_task(send)] = item
            if not flying:
                return settled
            # a timeout (only slow endpoints in flight) claims again too: new events may be due
            finished, _ = await asyncio.wait(
                flying, timeout=_poll(settings), return_when=asyncio.FIRST_COMPLETED
            )
            done = list(finished)
    finally:
        for task in flying:  # the pass failed or was cancelled: their leases expire
            task.cancel()


@jobs.periodic("webhook-gauges", every=15.0, per_replica=True)
async def gauges(ctx: Ctx) -> int:
    async with ctx.reading() as conn:
        pending, overdue = await repo.backlog(conn)
    lag = ctx.state.fanout.lag()
    metrics.WEBHOOK_PENDING.set(pending)
    metrics.WEBHOOK_STREAM_LAG.set(lag)
    metrics.WEBHOOK_OVERDUE.set(max(overdue, lag))
    return 1


@jobs.periodic("webhook-prune", every=3600.0)
async def prune(ctx: Ctx) -> int:
    async with ctx.transaction() as conn:
        return await repo.prune(conn, ctx.state.settings.webhook_retention_days)
