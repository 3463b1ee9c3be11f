"""The ``ocr`` schema. Only this service reads or writes it."""

from sqlalchemy import Column, DateTime, Index, MetaData, Table, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from rivet_runtime.tables import add_job_table, add_messaging_tables

SCHEMA = "ocr"
metadata = MetaData(schema=SCHEMA)

scans = Table(
    "scans",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("requested_by", UUID(as_uuid=True)),
    Column("status", Text, nullable=False),
    Column("location", Text),
    Column("photo_ref", Text, nullable=False),
    Column("fields", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("lines", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("quality", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("needs_review", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("seconds", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("outcome", Text),
    Column("equipment_id", UUID(as_uuid=True)),
    Column("equipment_number", Text),
    Column("candidates", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("scans_org_created_idx", "org_id", "created_at"),
)

outbox, inbox, dead_letters = add_messaging_tables(metadata)
job_runs = add_job_table(metadata)
