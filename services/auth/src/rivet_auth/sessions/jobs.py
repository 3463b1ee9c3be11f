"""Forgetting revocations no token can need any more: an access token lives ACCESS_TOKEN_TTL
seconds, so a revocation older than that (and a margin) refuses nothing (a periodic job)."""

import logging
from datetime import UTC, datetime, timedelta

from rivet_runtime.jobs import JobContext, JobRouter

from ..state import AuthState
from . import repository as repo

log = logging.getLogger(__name__)

jobs: JobRouter[AuthState] = JobRouter()


@jobs.periodic("revocations-prune", every=3600.0)
async def prune_revocations(ctx: JobContext[AuthState]) -> int:
    keep = timedelta(seconds=2 * ctx.state.settings.access_token_ttl + 300)
    async with ctx.transaction() as conn:
        removed = await repo.prune_revocations(conn, datetime.now(UTC) - keep)
    if removed:
        log.info("forgot %d revocations older than any access token", removed)
    return removed
