"""Alembic environment of the Telegram service (schema ``telegram``)."""

from rivet_runtime.migrations import run_env
from rivet_telegram.tables import metadata

run_env(metadata)
