"""search facets as one stored array: brand, type and every location segment, GIN-indexed

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 07:40:00

A query that names facets ("abb drives line 3") wants the newest assets that have all of them.
``equipment.facets`` holds an asset's facets as tokens: ``B:<manufacturer_key>``,
``T:<type in normal form>`` and ``L:<segment in normal form>`` for each location segment
(``Plant 1 / Line 3`` -> ``L:PLANT1``, ``L:LINE3``: a whole segment, so "line 1" is never
Line 10). It is a stored generated column, computed once per write by
``assets.search_facets`` (the SQL twin of ``search.index.facet_tokens``; a test compares them),
so a query filters rows on a plain array instead of running regular expressions on each row, and
``equipment_facets_idx`` (GIN) intersects the facets of rare combinations inside the index.

``equipment_location_trgm_idx`` (trigrams of the raw location), which only the search used, is
dropped. Adding the column rewrites the table under an exclusive lock (about 30 s at a million
rows).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = r"""
CREATE FUNCTION assets.search_facets(brand text, kind text, location text)
RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['B:' || coalesce(brand, ''),
                 'T:' || regexp_replace(upper(coalesce(kind, '')), '[^0-9A-Z]+', '', 'g')]
        || regexp_split_to_array(
               'L:' || regexp_replace(
                   regexp_replace(upper(coalesce(location, '')), '[^0-9A-Z/]+', '', 'g'),
                   '/', '/L:', 'g'),
               '/')
$$
"""


def upgrade() -> None:
    op.execute(FUNCTION)
    op.execute(
        "ALTER TABLE assets.equipment ADD COLUMN facets text[] GENERATED ALWAYS AS "
        "(assets.search_facets(manufacturer_key, equipment_type, location)) STORED"
    )
    op.execute("CREATE INDEX equipment_facets_idx ON assets.equipment USING gin (facets)")
    op.execute("DROP INDEX IF EXISTS assets.equipment_location_trgm_idx")
    op.execute("ANALYZE assets.equipment")


def downgrade() -> None:
    op.execute(
        "CREATE INDEX equipment_location_trgm_idx "
        "ON assets.equipment USING gin (location public.gin_trgm_ops)"
    )
    op.execute("ALTER TABLE assets.equipment DROP COLUMN facets")
    op.execute("DROP FUNCTION assets.search_facets(text, text, text)")
