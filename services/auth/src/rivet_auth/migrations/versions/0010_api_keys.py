"""API keys for machine clients

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "org_id", UUID(as_uuid=True), sa.ForeignKey("auth.organizations.id"), nullable=False
        ),
        sa.Column(
            "prefix", sa.Text(), nullable=False, unique=True, comment="public: rvt_<prefix>_..."
        ),
        sa.Column(
            "secret_hash",
            sa.LargeBinary(),
            nullable=False,
            unique=True,
            comment="SHA-256 of the key",
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("read_only", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("created_by", UUID(as_uuid=True), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_by", UUID(as_uuid=True)),
        sa.CheckConstraint("role IN ('admin', 'technician', 'viewer')", name="api_keys_role_check"),
        comment="machine clients' keys; only a hash of the secret is kept",
        schema="auth",
    )
    op.create_index("api_keys_org_idx", "api_keys", ["org_id", "created_at"], schema="auth")


def downgrade() -> None:
    op.drop_table("api_keys", schema="auth")
