"""Rows as the contract's views and events."""

from sqlalchemy.engine import RowMapping

from rivet_contracts.attachments import (
    AttachmentAdded,
    AttachmentKind,
    AttachmentView,
    RecordKind,
    Rendition,
)


def renditions(row: RowMapping) -> list[Rendition]:
    found = [Rendition.ORIGINAL]
    if row["screen_key"]:
        found.append(Rendition.SCREEN)
    if row["thumbnail_key"]:
        found.append(Rendition.THUMBNAIL)
    return found


def to_view(row: RowMapping) -> AttachmentView:
    return AttachmentView(
        id=row["id"],
        org_id=row["org_id"],
        record_kind=RecordKind(row["record_kind"]),
        record_id=row["record_id"],
        filename=row["filename"],
        caption=row["caption"],
        content_type=row["content_type"],
        kind=AttachmentKind(row["kind"]),
        size_bytes=row["size_bytes"],
        sha256=row["sha256"],
        width=row["width"],
        height=row["height"],
        renditions=renditions(row),
        uploader_id=row["uploader_id"],
        created_at=row["created_at"],
    )


def link(row: RowMapping) -> str:
    return f"/api/attachments/{row['id']}"


def added(row: RowMapping) -> AttachmentAdded:
    return AttachmentAdded(
        attachment_id=row["id"],
        record_kind=RecordKind(row["record_kind"]),
        record_id=row["record_id"],
        filename=row["filename"],
        caption=row["caption"],
        content_type=row["content_type"],
        kind=AttachmentKind(row["kind"]),
        size_bytes=row["size_bytes"],
        width=row["width"],
        height=row["height"],
        uploader_id=row["uploader_id"],
        link=link(row),
        created_at=row["created_at"],
    )
