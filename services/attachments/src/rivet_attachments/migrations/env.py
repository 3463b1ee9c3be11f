"""Alembic environment of the attachments service (schema ``attachments``)."""

from rivet_attachments.tables import metadata
from rivet_runtime.migrations import run_env

run_env(metadata)
