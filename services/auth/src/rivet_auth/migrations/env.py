"""Alembic environment of the auth service (schema ``auth``)."""

from rivet_auth.tables import metadata
from rivet_runtime.migrations import run_env

run_env(metadata)
