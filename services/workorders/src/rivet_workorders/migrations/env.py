"""Alembic environment of the work orders service (schema ``workorders``)."""

from rivet_runtime.migrations import run_env
from rivet_workorders.tables import metadata

run_env(metadata)
