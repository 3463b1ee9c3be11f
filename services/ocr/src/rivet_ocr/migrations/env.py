"""Alembic environment of the OCR service (schema ``ocr``)."""

from rivet_ocr.tables import metadata
from rivet_runtime.migrations import run_env

run_env(metadata)
