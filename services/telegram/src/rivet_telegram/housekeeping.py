"""Forgetting what is no longer needed: handled update ids (Telegram redelivers for at most a
day), conversations abandoned for a month, and notifications that failed for good a month ago."""

import asyncio
import contextlib
import logging

from sqlalchemy import text

from rivet_runtime.db import Database

log = logging.getLogger(__name__)

EVERY_SECONDS = 3600.0
PRUNE = (
    text("DELETE FROM updates WHERE received_at < now() - interval '7 days'"),
    text("DELETE FROM fsm WHERE updated_at < now() - interval '30 days'"),
    text("DELETE FROM notifications WHERE failed_at < now() - interval '30 days'"),
)


async def prune(db: Database) -> int:
    removed = 0
    async with db.transaction() as conn:
        for statement in PRUNE:
            removed += int((await conn.execute(statement)).rowcount)
    return removed


async def run_forever(db: Database) -> None:
    while True:
        with contextlib.suppress(Exception):
            removed = await prune(db)
            if removed:
                log.info("pruned %d old rows", removed)
        await asyncio.sleep(EVERY_SECONDS)
