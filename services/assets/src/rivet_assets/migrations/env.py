"""Alembic environment of the assets service (schema ``assets``)."""

import rivet_assets.search.tables  # noqa: F401 - declares the search tables on the metadata
from rivet_assets.tables import metadata
from rivet_runtime.migrations import run_env

run_env(metadata)
