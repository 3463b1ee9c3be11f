"""The webhooks' background work: sending due deliveries, the backlog gauges, pruning."""

import asyncio

from rivet_runtime.jobs import JobContext, JobRouter

from .. import metrics
from ..settings import IntegrationsSettings
from ..state import IntegrationsState
from . import repository as repo
from .delivery import settle
from .service import CHANNEL

jobs: JobRouter[IntegrationsState] = JobRouter()
Ctx = JobContext[IntegrationsState]


def _poll(settings: IntegrationsSettings) -> float:
    """Due deliveries are looked for at least every second (sooner with a short schedule)."""
    return max(0.05, min(1.0, *settings.webhook_schedule))


@jobs.queue("webhook-deliveries", channel=CHANNEL, poll=_poll)
async def deliver(ctx: Ctx) -> int:
    """Claim due deliveries (a lease each; endpoints' rows locked with SKIP LOCKED, at most
    ``WEBHOOK_CONCURRENCY`` of an endpoint in flight across replicas), send them side by side,
    store the outcomes. A replica that dies mid-send leaves its leases to expire: those
    deliveries are sent again (at least once)."""
    settings = ctx.state.settings
    async with ctx.transaction() as conn:
        claimed = await repo.claim(
            conn,
            limit=settings.webhook_batch,
            per_endpoint=settings.webhook_concurrency,
            lease=settings.webhook_lease,
        )
    if not claimed:
        return 0
    attempts = await asyncio.gather(*(ctx.state.sender.send(item) for item in claimed))
    async with ctx.transaction() as conn:
        for item, attempt in zip(claimed, attempts, strict=True):
            await settle(ctx, conn, item, attempt, settings)
    return len(claimed)


@jobs.periodic("webhook-gauges", every=15.0, per_replica=True)
async def gauges(ctx: Ctx) -> int:
    async with ctx.reading() as conn:
        pending, overdue = await repo.backlog(conn)
    metrics.WEBHOOK_PENDING.set(pending)
    metrics.WEBHOOK_OVERDUE.set(overdue)
    return 1


@jobs.periodic("webhook-prune", every=3600.0)
async def prune(ctx: Ctx) -> int:
    async with ctx.transaction() as conn:
        return await repo.prune(conn, ctx.state.settings.webhook_retention_days)
