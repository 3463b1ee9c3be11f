"""Housekeeping every service with a database runs in the background.

The inbox only needs to remember an event as long as it could come again: streams keep events
30 days (``StreamSpec.max_age``), so ids older than that, plus a margin, are forgotten.
"""

import asyncio
import contextlib
import logging

from sqlalchemy import text

from .db import Database

log = logging.getLogger(__name__)

INBOX_DAYS = 35
EVERY_SECONDS = 3600.0

_PRUNE_INBOX = text("DELETE FROM inbox WHERE processed_at < now() - make_interval(days => :days)")


async def prune_inbox(db: Database, days: int = INBOX_DAYS) -> int:
    async with db.transaction() as conn:
        result = await conn.execute(_PRUNE_INBOX, {"days": days})
    return int(result.rowcount)


async def run_forever(db: Database) -> None:
    while True:
        with contextlib.suppress(Exception):
            removed = await prune_inbox(db)
            if removed:
                log.info("pruned %d inbox rows", removed)
        await asyncio.sleep(EVERY_SECONDS)
