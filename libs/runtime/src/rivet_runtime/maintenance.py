"""Housekeeping every service with a database runs in the background (a runtime job).

The inbox only needs to remember an event as long as it could come again: streams keep events
30 days (``StreamSpec.max_age``), so ids older than that, plus a margin, are forgotten.
"""

import logging

from sqlalchemy import text

from .jobs import JobContext, JobRouter

log = logging.getLogger(__name__)

INBOX_DAYS = 35
EVERY_SECONDS = 3600.0

_PRUNE_INBOX = text("DELETE FROM inbox WHERE processed_at < now() - make_interval(days => :days)")

jobs: JobRouter[object] = JobRouter()


@jobs.periodic("inbox-prune", every=EVERY_SECONDS)
async def prune_inbox(ctx: JobContext[object]) -> int:
    async with ctx.transaction() as conn:
        removed = int((await conn.execute(_PRUNE_INBOX, {"days": INBOX_DAYS})).rowcount)
    if removed:
        log.info("pruned %d inbox rows", removed)
    return removed
