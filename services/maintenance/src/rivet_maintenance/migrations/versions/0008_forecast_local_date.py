"""forecast cycles: a zone PostgreSQL does not know is read as UTC, not an error

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 21:55:00

``maintenance.local_date(zone, at)``: the date ``at`` falls on in ``zone``, or in UTC when
PostgreSQL does not know the zone (as the service reads a zone its own tz database lacks).
``plans.repository.refresh_cycles`` computes a plan's ``forecast_on`` with it, so a zone name
that PostgreSQL refuses cannot make the scheduler's batch (or a plan's change) fail.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE OR REPLACE FUNCTION maintenance.local_date(zone text, at timestamptz) "
        "RETURNS date LANGUAGE plpgsql STABLE AS $$ BEGIN "
        "RETURN (timezone(zone, at))::date; "
        "EXCEPTION WHEN invalid_parameter_value THEN RETURN (timezone('UTC', at))::date; "
        "END $$"
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS maintenance.local_date(text, timestamptz)")
