"""attachment count: the files attached to each work order

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 23:00:00

``work_orders.attachment_count``: kept by the consumers of ``attachment.added`` and
``attachment.removed`` (the attachments service's events). Only adds, with a default: the
previous release keeps working during a rolling upgrade.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "work_orders",
        sa.Column(
            "attachment_count",
            sa.Integer(),
            nullable=False,
            server_default="0",
            comment="files attached (attachment.added less attachment.removed)",
        ),
        schema="workorders",
    )


def downgrade() -> None:
    op.drop_column("work_orders", "attachment_count", schema="workorders")
