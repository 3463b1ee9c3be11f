"""Deleting stored objects: those of removed attachments (a queue job, woken when a removal
commits) and those no attachment holds (a periodic sweep: the objects of an add that failed
half-way, of a removal whose purge was lost)."""

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
SWEEP_BATCH = 500


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
    ``ATTACHMENT_ORPHAN_AGE`` (by the time in their attachment's id)."""
    settings = ctx.state.settings
    found = await storage.keys(ctx.state.files)
    deleted = 0
    for start in range(0, len(found), SWEEP_BATCH):
        if ctx.stopping:
            break
        batch = found[start : start + SWEEP_BATCH]
        owners = {key: rules.attachment_of(key) for key in batch}
        async with ctx.reading() as conn:
            live = await repo.live_among(conn, [a for a in set(owners.values()) if a])
        now = datetime.now(UTC)
        orphans = [
            key
            for key, owner in owners.items()
            if rules.is_orphan(owner, owner in live, now, settings.attachment_orphan_age)
        ]
        await storage.delete_all(ctx.state.files, orphans)
        deleted += len(orphans)
    metrics.PURGED_OBJECTS.labels("orphan").inc(deleted)
    return deleted
