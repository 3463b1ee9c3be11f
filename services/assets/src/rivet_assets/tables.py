"""The ``assets`` schema. Only this service reads or writes it."""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from rivet_runtime.tables import add_idempotency_table, add_job_table, add_messaging_tables

SCHEMA = "assets"
metadata = MetaData(schema=SCHEMA)

equipment = Table(
    "equipment",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("number", Text, nullable=False),
    Column("manufacturer", Text, nullable=False, comment="canonical brand name"),
    Column("manufacturer_key", Text, nullable=False, comment="lower-case canonical brand"),
    Column("model", Text),
    Column("model_norm", Text, comment="upper-case, letters and digits only"),
    Column("serial", Text),
    Column("serial_norm", Text, comment="upper-case, letters and digits only"),
    Column("name", Text),
    Column("equipment_type", Text),
    Column("location", Text),
    Column("department", Text),
    Column("criticality", Text, nullable=False, server_default="medium"),
    Column("status", Text, nullable=False, server_default="in_service"),
    Column("parent_id", UUID(as_uuid=True), ForeignKey("equipment.id")),
    Column("installed_on", Date),
    Column("ratings", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("photo_ref", Text),
    Column("source", Text, nullable=False),
    Column("created_by", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("retired_reason", Text),
    Column(
        "attachment_count",
        Integer,
        nullable=False,
        server_default="0",
        comment="files attached (attachment.added less attachment.removed)",
    ),
    Column(
        "picture",
        JSONB,
        comment="the image shown: attachment_id, filename, content_type, width, height",
    ),
    CheckConstraint(
        "criticality IN ('low', 'medium', 'high', 'critical')", name="equipment_criticality_check"
    ),
    CheckConstraint(
        "status IN ('in_service', 'out_of_service', 'retired')", name="equipment_status_check"
    ),
    Index("equipment_org_number_key", "org_id", "number", unique=True),
    Index(
        "equipment_org_serial_key",
        "org_id",
        "serial_norm",
        unique=True,
        postgresql_where=text("serial_norm IS NOT NULL"),
    ),
    Index("equipment_org_brand_model_idx", "org_id", "manufacturer_key", "model_norm"),
    Index("equipment_org_created_idx", "org_id", "created_at"),
    Index("equipment_org_updated_idx", "org_id", "updated_at"),
    Index("equipment_org_type_idx", "org_id", "equipment_type"),
    Index(
        "equipment_org_location_idx",
        "org_id",
        "location",
        postgresql_ops={"location": "text_pattern_ops"},
    ),
    Index("equipment_org_parent_idx", "org_id", "parent_id"),
    Index("equipment_org_status_idx", "org_id", "status"),
)

equipment_numbers = Table(
    "equipment_numbers",
    metadata,
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("year", Integer, nullable=False),
    Column("last", Integer, nullable=False),
    PrimaryKeyConstraint("org_id", "year"),
)

equipment_history = Table(
    "equipment_history",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("equipment_id", UUID(as_uuid=True), ForeignKey("equipment.id"), nullable=False),
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor_id", UUID(as_uuid=True)),
    Column("channel", Text),
    Column("action", Text, nullable=False),
    Column("changes", JSONB, nullable=False),
    Column("reason", Text, comment="why, for retirements and reinstatements"),
    Index("equipment_history_equipment_idx", "equipment_id", "id"),
)

equipment_attachments = Table(
    "equipment_attachments",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, comment="the attachment's id"),
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("equipment_id", UUID(as_uuid=True), ForeignKey("equipment.id"), nullable=False),
    Column("filename", Text, nullable=False),
    Column("content_type", Text),
    Column("kind", Text, nullable=False, comment="image, pdf, text or office"),
    Column("width", Integer),
    Column("height", Integer),
    Column("added_at", DateTime(timezone=True)),
    Column(
        "removed_at",
        DateTime(timezone=True),
        comment="set by attachment.removed (also when it came before attachment.added)",
    ),
    Index(
        "equipment_attachments_images",
        "equipment_id",
        "added_at",
        "id",
        postgresql_where=text("removed_at IS NULL AND kind = 'image'"),
    ),
)
"""What the attachments service's events said of each asset's files (the assets service's
own copy: it never reads the attachments schema)."""

imports = Table(
    "imports",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("created_by", UUID(as_uuid=True), nullable=False),
    Column("role", Text, nullable=False, comment="role of the importer, for the rows' checks"),
    Column("filename", Text),
    Column("upload_key", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("total_rows", Integer, nullable=False, server_default="0"),
    Column("processed_rows", Integer, nullable=False, server_default="0"),
    Column("created", Integer, nullable=False, server_default="0"),
    Column("matched", Integer, nullable=False, server_default="0"),
    Column("possible_duplicates", Integer, nullable=False, server_default="0"),
    Column("rejected", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("columns", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("ignored_columns", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("lease_until", DateTime(timezone=True), comment="a worker holds the job until then"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
    Index("imports_unfinished_idx", "status", postgresql_where=text("finished_at IS NULL")),
)

import_rows = Table(
    "import_rows",
    metadata,
    Column("import_id", UUID(as_uuid=True), ForeignKey("imports.id"), nullable=False),
    Column("row", Integer, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("equipment_id", UUID(as_uuid=True)),
    Column("equipment_number", Text),
    Column("reason", Text),
    PrimaryKeyConstraint("import_id", "row"),
)

outbox, inbox, dead_letters = add_messaging_tables(metadata)
job_runs = add_job_table(metadata)
idempotency_keys = add_idempotency_table(metadata)
