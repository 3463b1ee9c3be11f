"""Alembic environment of the maintenance service (schema ``maintenance``)."""

from rivet_maintenance.tables import metadata
from rivet_runtime.migrations import run_env

run_env(metadata)
