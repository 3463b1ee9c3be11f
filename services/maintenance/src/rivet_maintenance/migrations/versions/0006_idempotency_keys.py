"""idempotency_keys: the replies of creates sent with an Idempotency-Key, kept 24 hours

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 21:10:00

The runtime's table for idempotent requests (``rivet_runtime.idempotency``, ADR 0015), created
by ``create_idempotency_table`` as ``rivet_runtime.tables.add_idempotency_table`` declares it.
"""

from collections.abc import Sequence

from rivet_runtime.migrations import create_idempotency_table, drop_idempotency_table

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_idempotency_table("maintenance")


def downgrade() -> None:
    drop_idempotency_table("maintenance")
