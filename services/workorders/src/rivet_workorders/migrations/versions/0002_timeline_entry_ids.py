"""timeline entry ids: a random UUID per entry instead of the global sequence

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 12:00:00

Callers used to see ``timeline.id``, a sequence shared by every organization, so any tenant
could tell how much the whole system was doing from the gaps between its own entries. Callers
now see ``entry_id``; ``id`` stays as the internal order of the entries (the primary key and
``timeline_work_order_idx`` are unchanged) and is never shown.

Existing entries get ``rivet_contracts.workorders.legacy_entry_id(id)``, the first 16 bytes of
SHA-256 of ``rivet-timeline-entry:<id>``, so that a ``wo.commented`` event published before
the upgrade (its ``comment_id`` is the old integer) still names its entry (the contract maps
such an integer the same way; a test compares the two). Those old ids were already shown to
their own organization only. New entries get ``gen_random_uuid()``, also when an instance of
the previous release writes them during a rolling upgrade: the change only adds a column, so
that release keeps working (expand, deploy, contract).

The backfill rewrites the table once (``ALTER .. TYPE .. USING`` computes every row's id in
the same pass that checks ``NOT NULL``), under the ``ACCESS EXCLUSIVE`` lock that adding the
column takes anyway: timeline reads and writes wait until it commits. Measured on PostgreSQL
15 (a machine shared with other work): 1,000,000 entries (231 MB) in 8-10 s, of which the
hashing takes under 1 s (the same rewrite with ``DEFAULT gen_random_uuid()`` alone: 7.5 s).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEGACY_ID = (
    "encode(substring(sha256(convert_to('rivet-timeline-entry:' || id::text, 'UTF8')) "
    "FROM 1 FOR 16), 'hex')::uuid"
)
"""SQL twin of ``rivet_contracts.workorders.legacy_entry_id``."""


def upgrade() -> None:
    op.execute("ALTER TABLE workorders.timeline ADD COLUMN entry_id uuid")
    op.execute(
        f"""
        ALTER TABLE workorders.timeline
          ALTER COLUMN entry_id TYPE uuid USING {LEGACY_ID},
          ALTER COLUMN entry_id SET DEFAULT gen_random_uuid(),
          ALTER COLUMN entry_id SET NOT NULL
        """
    )
    op.execute(
        "COMMENT ON COLUMN workorders.timeline.entry_id IS "
        "'the id callers see (TimelineEntry.id, wo.commented comment_id); random'"
    )
    op.execute(
        "COMMENT ON COLUMN workorders.timeline.id IS "
        "'internal: the order of entries (one sequence for all organizations); never shown'"
    )


def downgrade() -> None:
    op.execute("COMMENT ON COLUMN workorders.timeline.id IS NULL")
    op.execute("ALTER TABLE workorders.timeline DROP COLUMN entry_id")
