"""Deleting stored objects: those of removed attachments (a queue job, woken when a removal
commits) and those no attachment holds (a periodic sweep: the objects of an add that failed
half-way, of a removal whose purge was lost).

The sweep reads the bucket a page at a time (``SWEEP_PAGE`` keys, checked against the database
in one query) and looks at ``SWEEP_PASS`` keys at most per pass; the next pass goes on where
this one stopped and starts again from the beginning after the end. Its memory and the length
of a pass are bounded whatever the bucket holds; a bucket larger than ``SWEEP_PASS`` is gone
through in several passes. Where it stopped is kept by the process (a restarted one starts from
the beginning, which only means looking at some keys again)."""

from datetime import UTC, datetime

from rivet_runtime.jobs import JobContext, JobRouter

from .. import metrics, storage
from ..settings import AttachmentsSettings
from ..state import AttachmentsState
from . import repository as repo
from . import rules
from .service import PURGE_CHANNEL

jobs: JobRouter[AttachmentsState] = JobRouter()
Ctx = JobContext[AttachmentsState]
PURGE_BATCH = 50
SWEEP_PAGE = 500
"""Keys read from the bucket and checked against the database at a time."""
SWEEP_PASS = 10_000
"""Keys a pass of the sweep looks at, at most."""
_resume: dict[str, int] = {}
"""Bucket -> the stream sequence the next pass of the sweep starts at."""


@jobs.queue("attachments-purge", channel=PURGE_CHANNEL, poll=30.0)
async def purge(ctx: Ctx) -> int:
    """Delete the objects of removed attachments, then mark them purged. No transaction is
    open while objects are deleted; two replicas may delete the same objects (harmless)."""
    async with ctx.reading() as conn:
        rows = await repo.claim_to_purge(conn, PURGE_BATCH)
    if not rows:
        return 0
    keys = [
        key
        for row in rows
        for key in (row["original_key"], row["screen_key"], row["thumbnail_key"])
        if key
    ]
    await storage.delete_all(ctx.state.files, keys)
    async with ctx.transaction() as conn:
        await repo.mark_purged(conn, [row["id"] for row in rows])
    metrics.PURGED_OBJECTS.labels("removed").inc(len(keys))
    return len(rows)


def _sweep_every(settings: AttachmentsSettings) -> float:
    return settings.attachment_sweep_every


@jobs.periodic("attachments-sweep", every=_sweep_every)
async def sweep(ctx: Ctx) -> int:
    """Delete stored objects that no live attachment holds, once they are older than
    ``ATTACHMENT_ORPHAN_AGE`` (by the time in their attachment's id): up to ``SWEEP_PASS``
    keys, a page of ``SWEEP_PAGE`` at a time, from where the last pass stopped."""
    settings, files = ctx.state.settings, ctx.state.files
    start, looked, deleted = _resume.get(files.bucket, 1), 0, 0
    while looked < SWEEP_PASS and not ctx.stopping:
        page = await storage.key_page(files, start, min(SWEEP_PAGE, SWEEP_PASS - looked))
        looked += len(page.keys)
        owners = {key: rules.attachment_of(key) for key in page.keys}
        async with ctx.reading() as conn:
            live = await repo.live_among(conn, [a for a in set(owners.values()) if a])
        now = datetime.now(UTC)
        orphans = [
            key
            for key, owner in owners.items()
            if rules.is_orphan(owner, owner in live, now, settings.attachment_orphan_age)
        ]
        await storage.delete_all(files, orphans)
        deleted += len(orphans)
        start = page.next_sequence or 1  # after the end: from the beginning, next pass
        if not page.next_sequence:
            break
    _resume[files.bucket] = start
    metrics.PURGED_OBJECTS.labels("orphan").inc(deleted)
    return deleted
