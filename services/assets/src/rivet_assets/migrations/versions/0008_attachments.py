"""attachments: each asset's attachment count and picture, and the attachments it has

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 01:00:00

``equipment.attachment_count`` and ``equipment.picture`` (the image the asset is shown with),
kept by the consumers of ``attachment.added`` and ``attachment.removed`` (the attachments
service's events); ``equipment_attachments``: what those events said of each of the asset's
files, so that a removed picture is replaced by the newest remaining image, a chosen picture is
checked, and an event seen twice changes nothing. Only adds, with defaults: the previous
release keeps working during a rolling upgrade.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "equipment",
        sa.Column(
            "attachment_count",
            sa.Integer(),
            nullable=False,
            server_default="0",
            comment="files attached (attachment.added less attachment.removed)",
        ),
        schema="assets",
    )
    op.add_column(
        "equipment",
        sa.Column(
            "picture",
            JSONB(),
            nullable=True,
            comment="the image shown: attachment_id, filename, content_type, width, height",
        ),
        schema="assets",
    )
    op.create_table(
        "equipment_attachments",
        sa.Column("id", sa.UUID(), nullable=False, comment="the attachment's id"),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("equipment_id", sa.UUID(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False, comment="image, pdf, text or office"),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "removed_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="set by attachment.removed (also when it came before attachment.added)",
        ),
        sa.ForeignKeyConstraint(["equipment_id"], ["assets.equipment.id"]),
        sa.PrimaryKeyConstraint("id"),
        schema="assets",
    )
    op.create_index(
        "equipment_attachments_images",
        "equipment_attachments",
        ["equipment_id", "added_at", "id"],
        schema="assets",
        postgresql_where=sa.text("removed_at IS NULL AND kind = 'image'"),
    )


def downgrade() -> None:
    op.drop_index("equipment_attachments_images", "equipment_attachments", schema="assets")
    op.drop_table("equipment_attachments", schema="assets")
    op.drop_column("equipment", "picture", schema="assets")
    op.drop_column("equipment", "attachment_count", schema="assets")
