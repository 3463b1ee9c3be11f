"""The ``integrations`` schema. Only this service reads or writes it.

- ``org_streams``: the organizations' streams the exporter has created (``ORG_<org id hex>``),
  one row per organization, for operators and the webhooks that come next;
- the runtime's messaging and job tables (outbox, inbox, dead letters, job runs).
"""

from sqlalchemy import Column, DateTime, MetaData, Table, Text, func
from sqlalchemy.dialects.postgresql import UUID

from rivet_runtime.tables import add_job_table, add_messaging_tables

SCHEMA = "integrations"
metadata = MetaData(schema=SCHEMA)

org_streams = Table(
    "org_streams",
    metadata,
    Column("org_id", UUID(as_uuid=True), primary_key=True),
    Column("stream", Text, nullable=False, comment="ORG_<org id hex>, without the namespace"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

add_messaging_tables(metadata)
add_job_table(metadata)
