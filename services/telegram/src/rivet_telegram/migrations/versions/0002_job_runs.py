"""job_runs: when each periodic background job is next due (one replica runs it per period)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 04:30:00
"""

from collections.abc import Sequence

from rivet_runtime.migrations import create_job_table, drop_job_table

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_job_table("telegram")


def downgrade() -> None:
    drop_job_table("telegram")
