"""Forgetting what is no longer needed: handled update ids (Telegram redelivers for at most a
day), conversations abandoned for a month, notifications that failed for good a month ago, and
files waiting a day for an order and orders in view a day old (``chat``)."""

import logging

from sqlalchemy import text

from rivet_runtime.jobs import JobContext, JobRouter

from .state import TelegramState

log = logging.getLogger(__name__)

EVERY_SECONDS = 3600.0
PRUNE = (
    text("DELETE FROM updates WHERE received_at < now() - interval '7 days'"),
    text("DELETE FROM fsm WHERE updated_at < now() - interval '30 days'"),
    text("DELETE FROM notifications WHERE failed_at < now() - interval '30 days'"),
    text("DELETE FROM pending_files WHERE created_at < now() - interval '1 day'"),
    text("DELETE FROM order_context WHERE opened_at < now() - interval '1 day'"),
)


jobs: JobRouter[TelegramState] = JobRouter()


@jobs.periodic("housekeeping", every=EVERY_SECONDS)
async def prune(ctx: JobContext[TelegramState]) -> int:
    removed = 0
    async with ctx.transaction() as conn:
        for statement in PRUNE:
            removed += int((await conn.execute(statement)).rowcount)
    if removed:
        log.info("pruned %d old rows", removed)
    return removed
