"""The ``attachments`` schema. Only this service reads or writes it.

- ``attachments``: one row per file attached to a work order or an asset: what it is (sniffed
  type, size, SHA-256, pixels), where its objects are in the ``ATTACHMENTS`` object store
  (original, and for images a screen rendition and a thumbnail), who added it; a removed one
  keeps its row (``deleted_at``) until its objects are deleted (``purged_at``);
- ``usage``: the bytes each organization's live attachments take (originals and renditions),
  counted under a lock of the row for the quota;
- the runtime's messaging, job and idempotency tables.

Ids are time-ordered (UUID version 7): a page is read in id order, and the sweep tells from an
object's key how old it is.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID

from rivet_runtime.tables import add_idempotency_table, add_job_table, add_messaging_tables

SCHEMA = "attachments"
metadata = MetaData(schema=SCHEMA)

attachments = Table(
    "attachments",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, comment="UUID version 7"),
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("record_kind", Text, nullable=False, comment="work_order or equipment"),
    Column("record_id", UUID(as_uuid=True), nullable=False),
    Column("filename", Text, nullable=False),
    Column("caption", Text),
    Column("content_type", Text, nullable=False, comment="sniffed from the content"),
    Column("kind", Text, nullable=False, comment="image, pdf, text or office"),
    Column("size_bytes", BigInteger, nullable=False, comment="the original as kept"),
    Column("stored_bytes", BigInteger, nullable=False, comment="original and renditions"),
    Column("sha256", Text, nullable=False),
    Column("width", Integer),
    Column("height", Integer),
    Column("original_key", Text, nullable=False),
    Column("screen_key", Text),
    Column("screen_type", Text),
    Column("thumbnail_key", Text),
    Column("thumbnail_type", Text),
    Column("uploader_id", UUID(as_uuid=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("deleted_at", DateTime(timezone=True)),
    Column("deleted_by", UUID(as_uuid=True)),
    Column("purged_at", DateTime(timezone=True), comment="its objects were deleted"),
    Index(
        "attachments_record",
        "org_id",
        "record_kind",
        "record_id",
        "id",
        postgresql_where=text("deleted_at IS NULL"),
    ),
    Index(
        "attachments_to_purge",
        "deleted_at",
        postgresql_where=text("deleted_at IS NOT NULL AND purged_at IS NULL"),
    ),
)

usage = Table(
    "usage",
    metadata,
    Column("org_id", UUID(as_uuid=True), primary_key=True),
    Column("bytes_used", BigInteger, nullable=False, server_default="0"),
    Column("files", Integer, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

add_messaging_tables(metadata)
add_job_table(metadata)
add_idempotency_table(metadata)
