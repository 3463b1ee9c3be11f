"""Processes import jobs in the background, row by row (see ``imports.service``)."""

import asyncio
import contextlib
import logging
import time
from typing import Any

from sqlalchemy.engine import RowMapping

from rivet_contracts import Identity, Role, ServiceError
from rivet_contracts.assets import CreateEquipment, ImportStatus, Source
from rivet_runtime import RequestContext
from rivet_runtime.db import Database

from ..equipment import repository as equipment_repo
from ..equipment import service as equipment
from ..state import AssetsState
from . import csvfile
from . import repository as repo

log = logging.getLogger(__name__)

IDLE_POLL = 5.0
RENEW_EVERY = 15.0


class ImportWorker:
    def __init__(self, db: Database, state: AssetsState) -> None:
        self.db = db
        self.state = state
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="import-worker")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while not self._stopping:
            try:
                async with self.db.transaction() as conn:
                    job = await repo.claim(conn)
                if job is not None:
                    await self.process(job)
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("import worker pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_POLL)
            self._wake.clear()

    async def process(self, job: RowMapping) -> None:
        try:
            data = await self.state.upload(job["upload_key"])
            sheet = csvfile.read(data, max_rows=self.state.settings.import_max_rows)
        except ServiceError as exc:
            async with self.db.transaction() as conn:
                await repo.finish(conn, job["id"], ImportStatus.FAILED.value, exc.info.message)
            return
        async with self.db.transaction() as conn:
            done = await repo.done_rows(conn, job["id"])
        identity = Identity(user_id=job["created_by"], org_id=job["org_id"], role=Role(job["role"]))
        who = equipment.Who(job["org_id"], job["created_by"], Source.IMPORT, identity.role)
        renewed = time.monotonic()
        for line, values in csvfile.records(sheet):
            if line in done:
                continue
            if time.monotonic() - renewed > RENEW_EVERY:
                async with self.db.transaction() as conn:
                    await repo.renew(conn, job["id"])
                renewed = time.monotonic()
            ctx = RequestContext(
                state=self.state,
                schema=self.db.schema,
                db=self.db,
                correlation_id=f"import:{job['id']}",
                channel="import",
                identity=identity,
            )
            async with ctx.transaction():
                await import_row(ctx, who, job, line, values)
        async with self.db.transaction() as conn:
            await repo.finish(conn, job["id"], ImportStatus.DONE.value, None)
        with contextlib.suppress(Exception):
            await self.state.delete_upload(job["upload_key"])


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
