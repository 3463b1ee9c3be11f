"""Alembic environment of the integrations service (schema ``integrations``)."""

from rivet_integrations.tables import metadata
from rivet_runtime.migrations import run_env

run_env(metadata)
