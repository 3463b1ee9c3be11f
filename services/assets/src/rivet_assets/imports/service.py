"""Import jobs: accepted quickly, processed by the ``imports`` job (``jobs.py``).

Each chunk of rows runs through create-or-match (``bulk``) in one transaction together with the
record of its rows' outcomes, so after any crash the job resumes at the first row without a
result, and the caller always knows which rows were imported, matched, left for review or
rejected (and why).
"""

import asyncio
from collections.abc import Sequence
from uuid import UUID, uuid4

from sqlalchemy.engine import RowMapping

from rivet_contracts import ErrorCode, Identity, ServiceError
from rivet_contracts.assets import ImportRowResult, ImportStatus, ImportView, StartImport
from rivet_runtime import UnitOfWork
from rivet_runtime.jobs import notify

from ..state import AssetsState
from . import csvfile
from . import repository as repo
from .jobs import CHANNEL

Uow = UnitOfWork[AssetsState]


async def start(uow: Uow, caller: Identity, req: StartImport) -> ImportView:
    """Read and check the file (slow: no transaction open; parsing in a worker thread), then
    record the job in one short unit of work."""
    state = uow.state
    data = await state.uploads.get(req.upload_key)
    if len(data) > state.settings.import_max_bytes:
        raise ServiceError(ErrorCode.PAYLOAD_TOO_LARGE, "the file is too large to import")
    sheet = await asyncio.to_thread(csvfile.read, data, max_rows=state.settings.import_max_rows)
    async with uow.transaction():
        job = await repo.insert_job(
            uow.conn,
            id=uuid4(),
            org_id=caller.org_id,
            created_by=caller.user_id,
            role=caller.role.value,
            filename=req.filename,
            upload_key=req.upload_key,
            status=ImportStatus.QUEUED.value,
            total_rows=len(sheet.rows),
            columns=sheet.columns,
            ignored_columns=sheet.ignored,
        )
        await notify(uow.conn, CHANNEL)  # wakes the job when this commits
    return _view(job, [])


async def get(uow: Uow, org_id: UUID, import_id: UUID, offset: int, limit: int) -> ImportView:
    job = await repo.job(uow.conn, org_id, import_id)
    if job is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"import {import_id} not found")
    rows = await repo.rows(uow.conn, import_id, offset, limit) if limit else []
    return _view(job, rows)


def _view(job: RowMapping, rows: Sequence[RowMapping]) -> ImportView:
    results = [ImportRowResult.model_validate(dict(r)) for r in rows]
    return ImportView.model_validate(dict(job) | {"rows": results})
