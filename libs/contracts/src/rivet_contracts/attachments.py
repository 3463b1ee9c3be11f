"""Attachments service contracts: photos and files on work orders and equipment.

A file reaches the service as a key of the upload store (the gateway, or the bot, put the bytes
there). The service checks the record with its owner (work orders, assets) as the caller, sniffs
the type from the content, checks the size and the organization's quota, keeps the original and,
for images, a screen rendition and a thumbnail (metadata such as GPS positions stripped), and
announces ``attachment.added``. Events carry metadata and a link, never bytes.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, StringConstraints

from .base import Done, EventData, Request, View
from .identity import Role
from .spec import EventSpec, RpcSpec
from .subjects import Events, Rpc
from .wire import Outcome

BUCKET = "ATTACHMENTS"
"""The object store of attachments' files (namespaced like streams): the attachments service
writes it, the gateway reads the files it serves from it."""
RecordRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
"""A work order's id or number (WO-2026-000123), an asset's id or number (EQ-2026-000123)."""
Filename = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Caption = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]


class RecordKind(StrEnum):
    """What an attachment belongs to."""

    WORK_ORDER = "work_order"
    EQUIPMENT = "equipment"


class AttachmentKind(StrEnum):
    """What the content is, as sniffed from its bytes (never from its name)."""

    IMAGE = "image"
    PDF = "pdf"
    TEXT = "text"
    OFFICE = "office"
    """OOXML (docx, xlsx, pptx) or OpenDocument (odt, ods, odp)."""


class Rendition(StrEnum):
    ORIGINAL = "original"
    """The file as kept (an image re-encoded without location metadata, if it had any)."""
    SCREEN = "screen"
    """Images: at most 1600 pixels on the longest side."""
    THUMBNAIL = "thumbnail"
    """Images: at most 256 pixels on the longest side."""


# --- requests -----------------------------------------------------------------------------


class AddAttachment(Request):
    """Attach a file already in the upload store to a work order or an asset."""

    record_kind: RecordKind = Field(description="`work_order` or `equipment`.")
    record_ref: RecordRef = Field(
        description="The record's id or number (WO-2026-000123, EQ-2026-000123)."
    )
    upload_key: str = Field(min_length=1, max_length=200, description="Key of the uploaded file.")
    filename: Filename = Field(description="The file's name as the user gave it (shown only).")
    caption: Caption | None = Field(default=None, description="What the file shows, for people.")


class ListAttachments(Request):
    record_kind: RecordKind = Field(description="`work_order` or `equipment`.")
    record_ref: RecordRef = Field(description="The record's id or number.")
    after: UUID | None = Field(
        default=None, description="The last attachment of the previous page (none: the first)."
    )
    limit: int = Field(default=50, ge=1, le=200, description="Attachments per page, oldest first.")


class GetAttachment(Request):
    attachment_id: UUID = Field(description="The attachment.")
    rendition: Rendition = Field(
        default=Rendition.ORIGINAL,
        description="Which object to answer the key of: `original`, `screen` or `thumbnail` "
        "(files that are not images have only the original).",
    )


class AttachmentChanges(Request):
    """Body of ``PATCH /api/attachments/{attachment_id}``."""

    caption: Caption | None = Field(description="The new caption (null or empty: none).")


class UpdateAttachment(Request):
    attachment_id: UUID = Field(description="The attachment.")
    caption: Caption | None = Field(description="The new caption (null or empty: none).")


class DeleteAttachment(Request):
    attachment_id: UUID = Field(description="The attachment (its uploader or an admin).")


class GetUsage(Request):
    """The caller's organization's storage (admins)."""


# --- views --------------------------------------------------------------------------------


class AttachmentUsage(View):
    """What an organization's attachments take of its storage quota."""

    bytes_used: int = Field(
        description="Bytes its live attachments take: originals and images' renditions."
    )
    quota_bytes: int = Field(
        description="Bytes they may take in all (`ATTACHMENT_ORG_QUOTA_BYTES`)."
    )
    bytes_left: int = Field(description="What an add may still take before it is refused (413).")
    files: int = Field(description="Live attachments, on work orders and assets.")


class AttachmentView(View):
    id: UUID
    org_id: UUID
    record_kind: RecordKind
    record_id: UUID
    filename: str
    caption: str | None
    content_type: str = Field(description="Sniffed from the content: image/jpeg, application/pdf")
    kind: AttachmentKind
    size_bytes: int = Field(description="Size of the original as kept.")
    sha256: str = Field(description="SHA-256 (hex) of the original as kept.")
    width: int | None = Field(description="Images: pixels, upright.")
    height: int | None
    renditions: list[Rendition] = Field(description="What can be downloaded.")
    uploader_id: UUID
    created_at: datetime


class AttachmentFile(View):
    """An attachment and where one of its renditions is kept (for the gateway's download)."""

    attachment: AttachmentView
    rendition: Rendition
    object_key: str = Field(description="Key in the ATTACHMENTS object store.")
    content_type: str = Field(description="The rendition's content type.")


class AttachmentPage(View):
    items: list[AttachmentView]
    next_after: UUID | None = Field(description="Pass as `after` for the next page; none: last.")


# --- events -------------------------------------------------------------------------------


class AttachmentAdded(EventData):
    """A file was attached to a work order or an asset (metadata and a link, never bytes)."""

    attachment_id: UUID
    record_kind: RecordKind
    record_id: UUID
    filename: str
    caption: str | None = None
    content_type: str
    kind: AttachmentKind
    size_bytes: int
    width: int | None = None
    height: int | None = None
    uploader_id: UUID
    link: str = Field(description="The attachment's API path: /api/attachments/{id}.")
    created_at: datetime


class AttachmentRemoved(EventData):
    attachment_id: UUID
    record_kind: RecordKind
    record_id: UUID
    filename: str
    kind: AttachmentKind
    size_bytes: int
    removed_by: UUID
    removed_at: datetime


# --- catalogue ----------------------------------------------------------------------------

ADD_TIMEOUT = 30.0
"""Seconds the gateway waits for an add: reading a photo of up to 50 megapixels, rendering it
and storing its objects can take several seconds on a busy machine, past an ordinary request's
``RPC_TIMEOUT``."""

RPCS: tuple[RpcSpec[Any, Any], ...] = (
    ADD := RpcSpec(
        Rpc.ATTACHMENTS_ADD,
        AddAttachment,
        AttachmentView,
        "Attach an uploaded file to a work order or an asset (type sniffed, size and quota "
        "checked, images rendered).",
        Role.TECHNICIAN,
        outcome=Outcome.CREATED,
        idempotent=True,
        timeout=ADD_TIMEOUT,
    ),
    LIST := RpcSpec(
        Rpc.ATTACHMENTS_LIST,
        ListAttachments,
        AttachmentPage,
        "A record's attachments, oldest first, paged.",
    ),
    GET := RpcSpec(
        Rpc.ATTACHMENTS_GET,
        GetAttachment,
        AttachmentFile,
        "An attachment and the object key of one of its renditions.",
    ),
    UPDATE := RpcSpec(
        Rpc.ATTACHMENTS_UPDATE,
        UpdateAttachment,
        AttachmentView,
        "Change an attachment's caption (its uploader or an admin).",
        Role.TECHNICIAN,
    ),
    DELETE := RpcSpec(
        Rpc.ATTACHMENTS_DELETE,
        DeleteAttachment,
        Done,
        "Remove an attachment (its uploader or an admin); its files are deleted after.",
        Role.TECHNICIAN,
    ),
    USAGE := RpcSpec(
        Rpc.ATTACHMENTS_USAGE,
        GetUsage,
        AttachmentUsage,
        "The organization's storage: bytes its attachments take, its quota, how many (admins).",
        Role.ADMIN,
    ),
)

EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        Events.ATTACHMENT_ADDED,
        AttachmentAdded,
        "A file was attached to a work order or an asset.",
        exported=True,
    ),
    EventSpec(
        Events.ATTACHMENT_REMOVED,
        AttachmentRemoved,
        "An attachment was removed from its work order or asset.",
        exported=True,
    ),
)
