"""Alembic environment of the assets service (schema ``assets``)."""

from rivet_assets.tables import metadata
from rivet_runtime.migrations import run_env

run_env(metadata)
