"""Processes import jobs in the background, a chunk of rows per transaction (``bulk``; see
``imports.service``).

A queue job: the transaction that records an import notifies ``CHANNEL``, waking the job in
every replica; one claims the import (a lease, renewed while it works), the others find nothing.
A replica that stops mid-import hands it back at its next chunk; one that dies leaves it to
the next claim when the lease runs out. Rows already recorded are skipped, so none is done twice.
"""

import logging
import time
from typing import Any

from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import DBAPIError

from rivet_contracts import Identity, Role, ServiceError
from rivet_contracts.assets import CreateEquipment, ImportStatus, Source
from rivet_runtime import RequestContext
from rivet_runtime.jobs import JobContext, JobRouter

from ..equipment import repository as equipment_repo
from ..equipment import service as equipment
from ..state import AssetsState
from . import bulk, csvfile
from . import repository as repo

log = logging.getLogger(__name__)

CHANNEL = "assets_imports"
RENEW_EVERY = 15.0
TIDY = (
    "VACUUM (ANALYZE) equipment, equipment_serial_key, equipment_term, equipment_term_key, "
    "equipment_history"
)

jobs: JobRouter[AssetsState] = JobRouter()


@jobs.queue("imports", channel=CHANNEL)
async def run_imports(ctx: JobContext[AssetsState]) -> int:
    """Claim one waiting import and work through it; 1 if there was one."""
    async with ctx.transaction() as conn:
        job = await repo.claim(conn)
    if job is None:
        return 0
    await process(ctx, job)
    return 1


async def process(ctx: JobContext[AssetsState], job: RowMapping) -> None:
    uploads = ctx.state.uploads
    try:
        data = await uploads.get(job["upload_key"])
        sheet = csvfile.read(data, max_rows=ctx.state.settings.import_max_rows)
    except ServiceError as exc:
        async with ctx.transaction() as conn:
            await repo.finish(conn, job["id"], ImportStatus.FAILED.value, exc.info.message)
        return
    async with ctx.reading() as conn:
        done = await repo.done_rows(conn, job["id"])
    identity = Identity(user_id=job["created_by"], org_id=job["org_id"], role=Role(job["role"]))
    who = equipment.Who(job["org_id"], job["created_by"], Source.IMPORT, identity.role)
    renewed = time.monotonic()
    size = ctx.state.settings.import_chunk_rows
    todo = [(line, values) for line, values in csvfile.records(sheet) if line not in done]
    for start in range(0, len(todo), size):
        if ctx.stopping:  # shutting down: hand the rest to the next claim at once
            async with ctx.transaction() as conn:
                await repo.release(conn, job["id"])
            return
        if time.monotonic() - renewed > RENEW_EVERY:
            async with ctx.transaction() as conn:
                await repo.renew(conn, job["id"])
            renewed = time.monotonic()
        chunk = todo[start : start + size]
        if size > 1:
            row = ctx.as_caller(identity, f"import:{job['id']}")
            try:
                async with row.transaction():
                    await bulk.import_chunk(row, who, job, chunk)
                continue
            except (DBAPIError, ServiceError) as exc:
                # a concurrent change (or a deadlock, or too many locks for the server's lock
                # table): this chunk row by row, each row in its own transaction
                log.info("import %s: rows %d-%d one by one (%r)", job["id"], chunk[0][0],
                         chunk[-1][0], exc)  # fmt: skip
        for line, values in chunk:
            row = ctx.as_caller(identity, f"import:{job['id']}")
            async with row.transaction():
                await import_row(row, who, job, line, values)
    if len(sheet.rows) >= ctx.state.settings.import_tidy_rows:
        # before "done": the first searches after a big import run at full speed (fresh
        # statistics for the planner, a visibility map for the index-only scans), whatever
        # autovacuum is doing
        await _tidy(ctx)
    async with ctx.transaction() as conn:
        await repo.finish(conn, job["id"], ImportStatus.DONE.value, None)
    try:
        await uploads.delete(job["upload_key"])
    except Exception as exc:  # the bucket's TTL removes it anyway
        log.warning("import %s: upload not deleted: %r", job["id"], exc)


async def _tidy(ctx: JobContext[AssetsState]) -> None:
    """VACUUM (ANALYZE) the tables an import filled (outside any transaction, as VACUUM must
    be; the simple query protocol, as VACUUM cannot be prepared)."""
    started = time.monotonic()
    async with ctx.reading() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None  # an open asyncpg connection
        await driver.execute(TIDY)
    log.info("tables vacuumed and analysed after an import in %.1f s", time.monotonic() - started)


async def import_row(
    ctx: RequestContext[AssetsState],
    who: equipment.Who,
    job: RowMapping,
    line: int,
    values: dict[str, Any] | str,
) -> None:
    """Create-or-match one row and record what happened, in the caller's transaction. A row
    of an asset already retired in the imported register may create it retired (admins)."""
    import_id = job["id"]
    retired_reason = f"retired in the imported register ({job['filename'] or 'upload'}, row {line})"
    request = csvfile.to_request(values) if isinstance(values, dict) else values
    if isinstance(request, CreateEquipment) and isinstance(values, dict) and values.get("parent"):
        parent = await equipment_repo.by_number(ctx.conn, who.org_id, values["parent"].upper())
        if parent is None:
            request = f"parent {values['parent']} not found"
        else:
            request = request.model_copy(update={"parent_id": parent["id"]})
    if isinstance(request, str):
        await repo.record_row(ctx.conn, import_id, line, "rejected", reason=request)
        return
    try:
        async with ctx.conn.begin_nested():
            result = await equipment.create_or_match(
                ctx, who, request, retired_reason=retired_reason
            )
    except ServiceError as exc:
        await repo.record_row(ctx.conn, import_id, line, "rejected", reason=exc.info.message)
        return
    if result.equipment is not None:
        await repo.record_row(
            ctx.conn,
            import_id,
            line,
            result.outcome.value,
            equipment_id=result.equipment.id,
            equipment_number=result.equipment.number,
        )
        return
    numbers = ", ".join(c.equipment.number for c in result.candidates[:5])
    await repo.record_row(
        ctx.conn, import_id, line, result.outcome.value, reason=f"possible duplicate of {numbers}"
    )
