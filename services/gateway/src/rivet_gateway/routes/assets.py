"""``/api/equipment``: the asset registry."""

from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, File, Path, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse

from rivet_contracts import ErrorCode, Rpc
from rivet_contracts import assets as contract

from ..deps import Caller, Config, Fwd, KeyedCaller
from ..errors import error_response
from .docs import errors
from .polling import wait_while_running

router = APIRouter(prefix="/api/equipment", tags=["equipment"])

Ref = Annotated[
    str,
    Path(min_length=1, max_length=64, description="Asset id or equipment number (EQ-2026-000123)."),
]
ListQuery = Annotated[contract.ListEquipment, Query()]
ExportQuery = Annotated[contract.EquipmentFilters, Query()]
EXPORT_PART_ROWS = 2000
"""Assets per request of an export (about 0.3 MB of CSV), streamed out part by part."""


@router.get("", response_model=contract.EquipmentPage, responses=errors(401, 422))
async def list_equipment(query: ListQuery, fwd: Fwd, meta: Caller) -> Response:
    """Your organization's assets: filter, sort, page (`limit` at most 200)."""
    return await fwd.call(Rpc.ASSETS_LIST, query, meta)


@router.post(
    "",
    response_model=contract.CreateOrMatchResult,
    responses=errors(401, 403, 404, 422) | {201: {"model": contract.CreateOrMatchResult}},
)
async def create(body: contract.CreateEquipment, fwd: Fwd, meta: KeyedCaller) -> Response:
    """Create-or-match: 201 with `outcome: created` for a new asset; 200 with `matched` (the
    existing asset, enriched with what it lacked) or `possible_duplicates` (candidates to choose
    from: send again with `merge_into` or `create_anyway`)."""
    return await fwd.call(Rpc.ASSETS_CREATE, body, meta)


@router.get("/search/fuzzy", response_model=contract.SearchResult, responses=errors(401, 422))
async def search(
    fwd: Fwd,
    meta: Caller,
    query: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    offset: Annotated[int, Query(ge=0, le=500)] = 0,
) -> Response:
    """Typo-tolerant search over number, manufacturer, model, serial, location and type, best
    first: a whole nameplate line, or a brand, a place or a type alone (that facet's assets,
    most recently changed first). `next_offset` pages on."""
    request = contract.SearchEquipment(query=query, limit=limit, offset=offset)
    return await fwd.call(Rpc.ASSETS_SEARCH, request, meta)


@router.post(
    "/import",
    response_model=contract.ImportView,
    status_code=200,
    responses=errors(401, 403, 413, 415, 422) | {202: {"model": contract.ImportView}},
)
async def import_csv(
    request: Request,
    fwd: Fwd,
    meta: Caller,
    config: Config,
    file: Annotated[UploadFile, File(description="CSV (UTF-8) export")],
    wait: Annotated[float, Query(ge=0, le=30)] = 5.0,
) -> Response:
    """Import a spreadsheet export (CSV, UTF-8; comma, semicolon or tab). Every row goes through
    create-or-match. Answers 200 with the per-row report when done within `wait` seconds,
    otherwise 202 with the job to poll at `GET /api/equipment/import/{id}`."""
    limit = config.import_max_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        return error_response(ErrorCode.PAYLOAD_TOO_LARGE, f"files up to {limit} bytes")
    uploads = request.app.state.uploads()
    if uploads is None:
        return error_response(ErrorCode.UNAVAILABLE, "uploads are not available yet; try again")
    key = await uploads.put(data, prefix="imports")
    body = contract.StartImport(upload_key=key, filename=file.filename)
    job = await fwd.fetch(contract.IMPORT_START, body, meta)
    if isinstance(job, Response):
        return job
    return await _wait_for_import(fwd, meta, job.id, wait)


@router.get(
    "/import/{import_id}",
    response_model=contract.ImportView,
    responses=errors(401, 403, 404) | {202: {"model": contract.ImportView}},
)
async def import_status(
    import_id: UUID,
    fwd: Fwd,
    meta: Caller,
    rows_offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    rows_limit: Annotated[int, Query(ge=0, le=5000)] = 1000,
) -> Response:
    """Progress of an import and its per-row results (202 while it runs)."""
    body = contract.GetImport(import_id=import_id, rows_offset=rows_offset, rows_limit=rows_limit)
    return await fwd.call(Rpc.ASSETS_IMPORT_GET, body, meta)


async def _wait_for_import(fwd: Fwd, meta: Caller, import_id: UUID, wait: float) -> Response:
    return await wait_while_running(
        lambda: import_status(import_id, fwd, meta),
        location=f"/api/equipment/import/{import_id}",
        wait=wait,
        every=0.2,
    )


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses=errors(401, 422)
    | {200: {"content": {"text/csv": {}}, "description": "The register as CSV."}},
)
async def export(filters: ExportQuery, fwd: Fwd, meta: Caller) -> Response:
    """Your organization's assets as a CSV file (UTF-8, the columns the import reads: an export
    re-imports unchanged), in number order, with the list's filters. Cells a spreadsheet would
    run as formulas start with an apostrophe."""
    base = filters.model_dump(exclude_unset=True) | {"limit": EXPORT_PART_ROWS}
    first = await fwd.fetch(contract.EXPORT, contract.ExportEquipment(**base), meta)
    if isinstance(first, Response):
        return first

    async def parts() -> AsyncIterator[bytes]:
        part = first
        yield part.csv.encode()
        while part.next_after:
            request = contract.ExportEquipment(**base, after=part.next_after)
            answer = await fwd.fetch(contract.EXPORT, request, meta)
            if isinstance(answer, Response):
                # Headers are gone: break the transfer so no one takes a short file for whole.
                raise ExportInterrupted(bytes(answer.body).decode(errors="replace"))
            part = answer
            yield part.csv.encode()

    return StreamingResponse(
        parts(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="equipment.csv"'},
    )


class ExportInterrupted(Exception):
    """A later part of an export failed after the first had been sent."""


@router.get("/{ref}", response_model=contract.EquipmentView, responses=errors(401, 404, 422))
async def get(ref: Ref, fwd: Fwd, meta: Caller) -> Response:
    """One asset, by id or equipment number."""
    return await fwd.call(Rpc.ASSETS_GET, contract.GetEquipment(ref=ref), meta)


@router.put(
    "/{ref}", response_model=contract.EquipmentView, responses=errors(401, 403, 404, 409, 422)
)
async def replace(
    ref: Ref,
    body: contract.EquipmentFields,
    fwd: Fwd,
    meta: Caller,
    expected_version: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Replace every editable field (absent ones reset to their defaults). `status` moves an
    asset between in and out of service; retiring and reinstating have their own routes."""
    request = contract.UpdateEquipment(ref=ref, replace=body, expected_version=expected_version)
    return await fwd.call(Rpc.ASSETS_UPDATE, request, meta)


@router.patch(
    "/{ref}", response_model=contract.EquipmentView, responses=errors(401, 403, 404, 409, 422)
)
async def patch(
    ref: Ref,
    body: contract.EquipmentPatch,
    fwd: Fwd,
    meta: Caller,
    expected_version: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Change the fields present in the body (`null` clears one). With `expected_version`,
    a concurrent change gives 409 instead of being overwritten."""
    request = contract.UpdateEquipment(ref=ref, patch=body, expected_version=expected_version)
    return await fwd.call(Rpc.ASSETS_UPDATE, request, meta)


@router.post(
    "/{ref}/retire",
    response_model=contract.EquipmentView,
    responses=errors(401, 403, 404, 409, 422),
)
async def retire(ref: Ref, body: contract.Retirement, fwd: Fwd, meta: Caller) -> Response:
    """Take an asset out of service for good (admins). Its history and work stay."""
    request = contract.RetireEquipment(ref=ref, reason=body.reason)
    return await fwd.call(Rpc.ASSETS_RETIRE, request, meta)


@router.post(
    "/{ref}/reinstate",
    response_model=contract.EquipmentView,
    responses=errors(401, 403, 404, 409, 422),
)
async def reinstate(ref: Ref, body: contract.Reinstatement, fwd: Fwd, meta: Caller) -> Response:
    """Return a retired asset to service (admins), with the reason in its history."""
    request = contract.ReinstateEquipment(ref=ref, reason=body.reason)
    return await fwd.call(Rpc.ASSETS_REINSTATE, request, meta)


@router.delete("/{ref}", status_code=405, responses=errors(401, 405))
async def delete(ref: Ref, meta: Caller) -> Response:
    """Assets are never deleted: their history matters. Retire them instead."""
    return error_response(
        ErrorCode.BAD_REQUEST,
        f"assets are retired, not deleted: POST /api/equipment/{ref}/retire with a reason",
        status=405,
    )


@router.put(
    "/{ref}/picture",
    response_model=contract.EquipmentView,
    responses=errors(401, 403, 404, 422),
)
async def set_picture(ref: Ref, body: contract.PictureChoice, fwd: Fwd, meta: Caller) -> Response:
    """Choose the image the asset is shown with (technicians and admins): `attachment_id` of
    an image attached to this asset, or null for none. An attachment of another asset, or a
    file that is not an image, is 422; one the asset does not have (another organization's,
    a removed one) is 404. The asset's version does not change: a picture is not an edit."""
    request = contract.SetEquipmentPicture(ref=ref, attachment_id=body.attachment_id)
    return await fwd.call(Rpc.ASSETS_SET_PICTURE, request, meta)


@router.get("/{ref}/history", response_model=contract.EquipmentHistory, responses=errors(401, 404))
async def history(
    ref: Ref, fwd: Fwd, meta: Caller, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> Response:
    """Who changed what, newest first."""
    return await fwd.call(
        Rpc.ASSETS_HISTORY, contract.GetEquipmentHistory(ref=ref, limit=limit), meta
    )
