"""Pure rules of attachments: ids, object keys, who may change an attachment, the quota."""

import os
import time
from datetime import UTC, datetime
from uuid import UUID

from rivet_contracts import ErrorCode, Identity, Role, ServiceError
from rivet_contracts.attachments import Rendition

PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff"
WEBP = (b"RIFF", b"WEBP")


def new_id(now: float | None = None) -> UUID:
    """A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Ids sort
    by creation time, and an object's key tells how old it is."""
    millis = int((time.time() if now is None else now) * 1000)
    value = (millis & ((1 << 48) - 1)) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return UUID(int=value)


def id_time(value: UUID) -> datetime | None:
    """When a version 7 id was made (None for another version)."""
    if value.version != 7:
        return None
    return datetime.fromtimestamp((value.int >> 80) / 1000, UTC)


def object_key(org_id: UUID, attachment_id: UUID, rendition: Rendition) -> str:
    """``<org id>/<attachment id>/<rendition>`` in the ATTACHMENTS object store."""
    return f"{org_id}/{attachment_id}/{rendition.value}"


def attachment_of(key: str) -> UUID | None:
    """The attachment id in an object key (None: not a key this service wrote)."""
    parts = key.split("/")
    if len(parts) != 3:
        return None
    try:
        return UUID(parts[1])
    except ValueError:
        return None


def image_type(data: bytes, default: str) -> str:
    """The content type of re-encoded image bytes (a rendition), from their magic bytes."""
    if data.startswith(JPEG):
        return "image/jpeg"
    if data.startswith(PNG):
        return "image/png"
    if data[:4] == WEBP[0] and data[8:12] == WEBP[1]:
        return "image/webp"
    return default


def may_change(caller: Identity, uploader_id: UUID) -> bool:
    """An attachment is changed or removed by the one who added it, or by an admin."""
    return caller.role.at_least(Role.ADMIN) or caller.user_id == uploader_id


def check_may_change(caller: Identity, uploader_id: UUID, action: str) -> None:
    if not may_change(caller, uploader_id):
        raise ServiceError(
            ErrorCode.FORBIDDEN,
            f"only the one who added an attachment, or an admin, may {action} it",
        )


def check_size(size: int, limit: int) -> None:
    if size > limit:
        raise ServiceError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"the file is {size} bytes; attachments are at most {limit} bytes",
            details={"size_bytes": size, "max_bytes": limit},
        )


def check_quota(used: int, adding: int, quota: int) -> None:
    """Refuse a file that would take the organization over its quota."""
    if used + adding > quota:
        raise ServiceError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"the organization's attachments would take {used + adding} bytes, over its quota "
            f"of {quota} bytes ({used} used): remove attachments or ask for a larger quota",
            details={"used_bytes": used, "adding_bytes": adding, "quota_bytes": quota},
        )


def is_orphan(attachment_id: UUID | None, live: bool, now: datetime, min_age: float) -> bool:
    """An object the sweep deletes: no live attachment holds it, and it is older than
    ``min_age`` seconds (younger ones may belong to an attachment being added). Keys this
    service did not write are left alone."""
    if attachment_id is None or live:
        return False
    made = id_time(attachment_id)
    return made is not None and (now - made).total_seconds() >= min_age
