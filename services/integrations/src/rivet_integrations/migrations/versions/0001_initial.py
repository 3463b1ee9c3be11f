"""initial: the organizations' streams and the runtime's tables

Revision ID: 0001
Revises:
Create Date: 2026-12-07 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rivet_runtime.migrations import (
    create_job_table,
    create_messaging_tables,
    drop_job_table,
    drop_messaging_tables,
)

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "integrations"


def upgrade() -> None:
    create_messaging_tables(SCHEMA)
    create_job_table(SCHEMA)
    op.create_table(
        "org_streams",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column(
            "stream",
            sa.Text(),
            nullable=False,
            comment="ORG_<org id hex>, without the namespace",
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("org_id"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("org_streams", schema=SCHEMA)
    drop_job_table(SCHEMA)
    drop_messaging_tables(SCHEMA)
