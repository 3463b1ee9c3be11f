"""``/api/work-orders/{ref}/attachments``, ``/api/equipment/{ref}/attachments`` and
``/api/attachments``: photos and files on work orders and assets.

An upload is stored in the upload store and handed to the attachments service by its key (as
nameplate photos and CSV imports are). A download is read from the attachments' object store
and served with the type sniffed when it was added and ``Content-Security-Policy: sandbox``
(beside the gateway's ``X-Content-Type-Options: nosniff`` on every answer): inline for images,
as a download for every other file.
"""

import hashlib
import re
from typing import Annotated
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse

from rivet_contracts import Done, ErrorCode, Rpc
from rivet_contracts import attachments as contract
from rivet_contracts.attachments import AttachmentKind, RecordKind, Rendition
from rivet_runtime.client import CallMeta
from rivet_runtime.uploads import UploadStore

from ..deps import Caller, Config, Fwd, KeyedCaller
from ..errors import error_response
from ..forward import Forwarder
from ..objects import find_object
from ..settings import GatewaySettings
from .docs import errors

router = APIRouter(tags=["attachments"])

WorkOrderRef = Annotated[
    str, Path(max_length=64, description="Work order id or number (WO-2026-000123).")
]
EquipmentRef = Annotated[
    str, Path(max_length=64, description="Asset id or equipment number (EQ-2026-000123).")
]
AttachmentId = Annotated[UUID, Path(description="The attachment's id.")]
TheFile = Annotated[
    UploadFile,
    File(description="A photo (JPEG, PNG, WebP, GIF, HEIC), a PDF, plain text or an Office "
         "document (docx, xlsx, pptx, odt, ods, odp)."),
]  # fmt: skip
CaptionForm = Annotated[
    str | None, Form(max_length=1000, description="What the file shows, for people.")
]
After = Annotated[
    UUID | None,
    Query(description="The last attachment of the previous page (`next_after`; none: the first)."),
]
Limit = Annotated[int, Query(ge=1, le=200, description="Attachments per page, oldest first.")]
Which = Annotated[
    Rendition,
    Query(description="`original`, `screen` (images, at most 1600 px) or `thumbnail` (256 px)."),
]

UPLOADS = re.compile(r"/api/(work-orders|equipment)/[^/]+/attachments")
"""The paths that take a file (the gateway's body limit there is the file's)."""
UPLOAD_ERRORS = errors(401, 403, 404, 413, 415, 422)


async def _add(
    request: Request,
    fwd: Forwarder,
    meta: CallMeta,
    config: GatewaySettings,
    kind: RecordKind,
    ref: str,
    file: UploadFile,
    caption: str | None,
    subject: str,
) -> Response:
    limit = config.attachment_max_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        return error_response(ErrorCode.PAYLOAD_TOO_LARGE, f"attachments are at most {limit} bytes")
    uploads = request.app.state.uploads()
    if uploads is None:
        return error_response(ErrorCode.UNAVAILABLE, "uploads are not available yet; try again")
    key = await uploads.put(data, prefix="attachments", key=_upload_key(meta, data))
    body = contract.AddAttachment(
        record_kind=kind,
        record_ref=ref,
        upload_key=key,
        filename=(file.filename or "").strip()[:255] or "file",
        caption=caption,
    )
    return await fwd.call(subject, body, meta)


def _upload_key(meta: CallMeta, data: bytes) -> str | None:
    """With an ``Idempotency-Key``, the upload's key is made of the caller, the key and the
    bytes, so that a repeat is the same request (and answers the first reply) while the same
    key with another file is a reuse (422); without one, a fresh key."""
    if meta.idempotency_key is None or meta.identity is None:
        return None
    who = meta.identity
    seed = f"{who.org_id}:{who.user_id}:{meta.idempotency_key}:{hashlib.sha256(data).hexdigest()}"
    return f"attachments/{hashlib.sha256(seed.encode()).hexdigest()}"


@router.post(
    "/api/work-orders/{ref}/attachments",
    status_code=201,
    response_model=contract.AttachmentView,
    responses=UPLOAD_ERRORS,
)
async def add_to_work_order(
    request: Request,
    ref: WorkOrderRef,
    file: TheFile,
    fwd: Fwd,
    meta: KeyedCaller,
    config: Config,
    caption: CaptionForm = None,
) -> Response:
    """Attach a photo or a file to a work order (technicians and admins; multipart field
    `file`, optional `caption`). The type is read from the content, never from the name:
    anything else is 415. A file over the size limit, or one that would take the organization
    over its storage quota, is 413."""
    return await _add(
        request, fwd, meta, config, RecordKind.WORK_ORDER, ref, file, caption, Rpc.ATTACHMENTS_ADD
    )


@router.post(
    "/api/equipment/{ref}/attachments",
    status_code=201,
    response_model=contract.AttachmentView,
    responses=UPLOAD_ERRORS,
)
async def add_to_equipment(
    request: Request,
    ref: EquipmentRef,
    file: TheFile,
    fwd: Fwd,
    meta: KeyedCaller,
    config: Config,
    caption: CaptionForm = None,
) -> Response:
    """Attach a photo or a file to an asset (as for work orders)."""
    return await _add(
        request, fwd, meta, config, RecordKind.EQUIPMENT, ref, file, caption, Rpc.ATTACHMENTS_ADD
    )


@router.get(
    "/api/work-orders/{ref}/attachments",
    response_model=contract.AttachmentPage,
    responses=errors(401, 404, 422),
)
async def list_for_work_order(
    ref: WorkOrderRef, fwd: Fwd, meta: Caller, after: After = None, limit: Limit = 50
) -> Response:
    """A work order's attachments, oldest first (`after` = the previous page's `next_after`)."""
    request = contract.ListAttachments(
        record_kind=RecordKind.WORK_ORDER, record_ref=ref, after=after, limit=limit
    )
    return await fwd.call(Rpc.ATTACHMENTS_LIST, request, meta)


@router.get(
    "/api/equipment/{ref}/attachments",
    response_model=contract.AttachmentPage,
    responses=errors(401, 404, 422),
)
async def list_for_equipment(
    ref: EquipmentRef, fwd: Fwd, meta: Caller, after: After = None, limit: Limit = 50
) -> Response:
    """An asset's attachments, oldest first."""
    request = contract.ListAttachments(
        record_kind=RecordKind.EQUIPMENT, record_ref=ref, after=after, limit=limit
    )
    return await fwd.call(Rpc.ATTACHMENTS_LIST, request, meta)


@router.get(
    "/api/attachments/usage",
    response_model=contract.AttachmentUsage,
    responses=errors(401, 403),
)
async def get_usage(fwd: Fwd, meta: Caller) -> Response:
    """The organization's storage (admins): bytes its attachments take (originals and images'
    renditions), its quota, what is left before an add is refused (413), how many files."""
    return await fwd.call(Rpc.ATTACHMENTS_USAGE, contract.GetUsage(), meta)


@router.get(
    "/api/attachments/{attachment_id}",
    response_model=contract.AttachmentView,
    responses=errors(401, 404, 422),
)
async def get_attachment(attachment_id: AttachmentId, fwd: Fwd, meta: Caller) -> Response:
    """An attachment: its record, name, caption, sniffed type, size, SHA-256, pixels, the
    renditions that can be downloaded, who added it and when."""
    found = await fwd.fetch(contract.GET, contract.GetAttachment(attachment_id=attachment_id), meta)
    if isinstance(found, Response):
        return found
    return Response(found.attachment.model_dump_json(), media_type="application/json")


@router.get(
    "/api/attachments/{attachment_id}/content",
    response_class=StreamingResponse,
    responses=errors(401, 404, 422) | {200: {"description": "The file's bytes."}},
)
@router.head("/api/attachments/{attachment_id}/content", include_in_schema=False)
async def get_content(
    request: Request,
    attachment_id: AttachmentId,
    fwd: Fwd,
    meta: Caller,
    config: Config,
    rendition: Which = Rendition.ORIGINAL,
) -> Response:
    """The file: images inline, every other file as a download, with the type sniffed when it
    was added (`X-Content-Type-Options: nosniff`, `Content-Security-Policy: sandbox`).
    `rendition=screen` or `thumbnail` for images' smaller copies (404 for other files).
    `HEAD` answers the same headers without the bytes. The bytes are streamed as they are read
    from the object store and checked against its SHA-256 at the end: should they not match,
    the connection is aborted before the last chunk, short of the announced Content-Length."""
    request_ = contract.GetAttachment(attachment_id=attachment_id, rendition=rendition)
    found = await fwd.fetch(contract.GET, request_, meta)
    if isinstance(found, Response):
        return found
    uploads: UploadStore | None = request.app.state.uploads()
    if uploads is None:
        return error_response(ErrorCode.UNAVAILABLE, "files are not available yet; try again")
    bucket = UploadStore(uploads.js, config, bucket=contract.BUCKET, ttl=None).bucket
    stored = await find_object(uploads.js, bucket, found.object_key)
    if stored is None:
        return error_response(ErrorCode.NOT_FOUND, "the file is not available")
    image = found.attachment.kind is AttachmentKind.IMAGE
    headers = {
        "Content-Length": str(stored.size),
        "Content-Disposition": _disposition("inline" if image else "attachment",
                                            found.attachment.filename),
        "Content-Security-Policy": "sandbox",
        "Cache-Control": "private, max-age=300",
    }  # fmt: skip
    if request.method == "HEAD":
        return Response(media_type=found.content_type, headers=headers)
    return StreamingResponse(stored.chunks(), media_type=found.content_type, headers=headers)


def _disposition(kind: str, filename: str) -> str:
    """``inline`` or ``attachment`` with the name: an ASCII fallback and the UTF-8 name
    (RFC 6266 / 5987); quotes, backslashes and control characters never reach the header."""
    printable = "".join(c for c in filename if " " <= c < "\x7f" and c not in '"\\')
    return f"{kind}; filename=\"{printable or 'file'}\"; filename*=UTF-8''{quote(filename)}"


@router.patch(
    "/api/attachments/{attachment_id}",
    response_model=contract.AttachmentView,
    responses=errors(401, 403, 404, 422),
)
async def update_attachment(
    attachment_id: AttachmentId, body: contract.AttachmentChanges, fwd: Fwd, meta: Caller
) -> Response:
    """Change the caption (the one who added it, or an admin; null or empty: none)."""
    request = contract.UpdateAttachment(attachment_id=attachment_id, caption=body.caption)
    return await fwd.call(Rpc.ATTACHMENTS_UPDATE, request, meta)


@router.delete(
    "/api/attachments/{attachment_id}",
    response_model=Done,
    responses=errors(401, 403, 404, 422),
)
async def delete_attachment(attachment_id: AttachmentId, fwd: Fwd, meta: Caller) -> Response:
    """Remove an attachment (the one who added it, or an admin); its files are deleted
    shortly after and its bytes no longer count against the organization's quota."""
    request = contract.DeleteAttachment(attachment_id=attachment_id)
    return await fwd.call(Rpc.ATTACHMENTS_DELETE, request, meta)
