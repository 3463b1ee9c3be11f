"""``/api/upload/nameplate`` and ``/api/scans``: nameplate photos become assets."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile

from rivet_contracts import ErrorCode, Rpc
from rivet_contracts import ocr as contract

from ..deps import Caller, Config, Fwd
from ..errors import error_response
from .docs import errors
from .polling import wait_while_running

router = APIRouter(tags=["nameplates"])
Wait = Annotated[float, Query(ge=0, le=30, description="Seconds to wait for the outcome.")]


@router.post(
    "/api/upload/nameplate",
    response_model=contract.ScanView,
    responses=errors(401, 403, 413, 415, 422) | {202: {"model": contract.ScanView}},
)
async def upload_nameplate(
    request: Request,
    fwd: Fwd,
    meta: Caller,
    config: Config,
    photo: Annotated[UploadFile, File(description="JPEG, PNG or WebP")],
    location: Annotated[str | None, Form(max_length=200)] = None,
    wait: Wait = 10.0,
) -> Response:
    """Scan a nameplate photo. Answers 200 with the fields read and the equipment outcome
    (`created`, `matched`, `possible_duplicates`) or `needs_review` when the scan finishes
    within `wait` seconds; otherwise 202 with the scan to poll at `GET /api/scans/{id}`."""
    limit = config.photo_max_bytes
    data = await photo.read(limit + 1)
    if len(data) > limit:
        return error_response(ErrorCode.PAYLOAD_TOO_LARGE, f"photos up to {limit} bytes")
    uploads = request.app.state.uploads()
    if uploads is None:
        return error_response(ErrorCode.UNAVAILABLE, "uploads are not available yet; try again")
    key = await uploads.put(data, prefix="photos")
    body = contract.SubmitNameplate(upload_key=key, location=location)
    scan = await fwd.fetch(contract.SUBMIT, body, meta)
    if isinstance(scan, Response):
        return scan
    return await _wait(fwd, meta, scan.id, wait)


@router.get(
    "/api/scans/{scan_id}",
    response_model=contract.ScanView,
    responses=errors(401, 404) | {202: {"model": contract.ScanView}},
)
async def get_scan(scan_id: UUID, fwd: Fwd, meta: Caller) -> Response:
    """A scan: the fields read (with confidence), quality notes and the outcome (202 while
    it is still being read or matched)."""
    return await fwd.call(Rpc.OCR_GET_SCAN, contract.GetScan(scan_id=scan_id), meta)


@router.post(
    "/api/scans/{scan_id}/confirm",
    response_model=contract.ScanView,
    responses=errors(401, 403, 404, 409, 422) | {202: {"model": contract.ScanView}},
)
async def confirm_scan(
    scan_id: UUID, body: contract.ScanConfirmation, fwd: Fwd, meta: Caller, wait: Wait = 10.0
) -> Response:
    """Confirm or correct a scan that needs review (or pick among its possible duplicates with
    `merge_into`, or `create_anyway`); the record then goes through create-or-match."""
    request = contract.ConfirmScan(scan_id=scan_id, **body.model_dump(exclude_unset=True))
    confirmed = await fwd.fetch(contract.CONFIRM, request, meta)
    if isinstance(confirmed, Response):
        return confirmed
    return await _wait(fwd, meta, scan_id, wait)


async def _wait(fwd: Fwd, meta: Caller, scan_id: UUID, wait: float) -> Response:
    return await wait_while_running(
        lambda: get_scan(scan_id, fwd, meta), location=f"/api/scans/{scan_id}", wait=wait
    )
