"""search facets: equipment types in the dictionary; rows by brand, type and place, newest first

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 05:00:00

A query that names only a brand, an equipment type or a place ("grundfos", "pumps", "boiler
house") fetches that facet's assets directly, most recently changed first:

- ``equipment_term`` gains kind ``t`` (equipment type, normal form), backfilled from the rows;
- ``equipment_org_brand_recent_idx (org_id, manufacturer_key, updated_at DESC)`` and
  ``equipment_org_type_recent_idx (org_id, <type's normal form>, updated_at DESC)``: the first
  page of a brand or a type is an index range scan;
- ``equipment_location_trgm_idx``: a trigram GIN index on ``location``, for the rows whose
  location holds a chosen segment (``ILIKE '%segment%'``).

The indexes are built with the table locked against writes (seconds at a million rows).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TYPE_NORM = "regexp_replace(upper(equipment_type), '[^0-9A-Z]+', '', 'g')"
"""SQL twin of ``search.keys.norm`` for ASCII text (a test compares them)."""


def upgrade() -> None:
    op.execute(
        f"""
        INSERT INTO assets.equipment_term (org_id, kind, norm, brand, display)
        SELECT DISTINCT ON (org_id, norm) org_id, 't', norm, '', display
        FROM (
            SELECT org_id, {TYPE_NORM} AS norm,
                   regexp_replace(btrim(equipment_type), '[[:space:]]+', ' ', 'g') AS display
              FROM assets.equipment WHERE equipment_type IS NOT NULL
        ) t
        WHERE norm <> ''
        ORDER BY org_id, norm, display
        ON CONFLICT DO NOTHING
        """  # noqa: S608
    )
    op.execute(
        "CREATE INDEX equipment_org_brand_recent_idx "
        "ON assets.equipment (org_id, manufacturer_key, updated_at DESC)"
    )
    op.execute(
        "CREATE INDEX equipment_org_type_recent_idx "
        f"ON assets.equipment (org_id, ({TYPE_NORM}), updated_at DESC) "
        "WHERE equipment_type IS NOT NULL"
    )
    op.execute(
        "CREATE INDEX equipment_location_trgm_idx "
        "ON assets.equipment USING gin (location public.gin_trgm_ops)"
    )
    op.execute("ANALYZE assets.equipment")


def downgrade() -> None:
    op.execute("DROP INDEX assets.equipment_location_trgm_idx")
    op.execute("DROP INDEX assets.equipment_org_type_recent_idx")
    op.execute("DROP INDEX assets.equipment_org_brand_recent_idx")
    op.execute("DELETE FROM assets.equipment_term WHERE kind = 't'")
