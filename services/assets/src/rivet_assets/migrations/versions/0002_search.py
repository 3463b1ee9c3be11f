"""search index: pigeonhole keys of serials, per-organization term dictionary

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 10:00:00

The application keeps these tables current (rivet_assets.search.index, called by the
repository in the transaction of each insert or update); this migration creates them and fills
them for the rows that exist. ``search_code_keys`` mirrors ``rivet_assets.search.keys.code_keys``
(a test compares them) and serves backfills. Design: docs/search.md.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Levenshtein verification of candidates (trusted extension, like pg_trgm in 0001).
    op.execute("CREATE EXTENSION IF NOT EXISTS fuzzystrmatch WITH SCHEMA public")
    op.execute(
        """
        CREATE OR REPLACE FUNCTION assets.search_code_keys(t text) RETURNS text[]
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        RETURN CASE WHEN length(t) < 6 THEN ARRAY(
            SELECT DISTINCT 'd.' || x FROM (
                SELECT t AS x
                UNION ALL
                SELECT overlay(t PLACING '' FROM i FOR 1) FROM generate_series(1, length(t)) i
                UNION ALL
                SELECT overlay(overlay(t PLACING '' FROM j FOR 1) PLACING '' FROM i FOR 1)
                  FROM generate_series(1, length(t)) i, generate_series(i + 1, length(t)) j
            ) d WHERE x <> '' ORDER BY 1)
        ELSE ARRAY[
            length(t) || '.0.' || substr(t, 1, length(t) / 3),
            length(t) || '.1.' || substr(t, length(t) / 3 + 1, length(t) / 3),
            length(t) || '.2.' || substr(t, 2 * (length(t) / 3) + 1)] END
        """
    )
    op.execute(
        """
        CREATE TABLE assets.equipment_serial_key (
            org_id      uuid NOT NULL,
            k           text NOT NULL,
            serial_norm text NOT NULL,
            id          uuid NOT NULL)
        """
    )
    op.execute(
        """
        CREATE TABLE assets.equipment_term (
            org_id  uuid NOT NULL,
            kind    text NOT NULL,
            norm    text NOT NULL,
            brand   text NOT NULL,
            display text NOT NULL,
            CONSTRAINT equipment_term_pkey PRIMARY KEY (org_id, kind, norm, brand))
        """
    )
    op.execute(
        """
        CREATE TABLE assets.equipment_term_key (
            org_id uuid NOT NULL,
            k      text NOT NULL,
            norm   text NOT NULL,
            CONSTRAINT equipment_term_key_pkey PRIMARY KEY (org_id, k, norm))
        """
    )
    # Backfill before the big index exists (faster than maintaining it row by row).
    op.execute(
        """
        INSERT INTO assets.equipment_serial_key (org_id, k, serial_norm, id)
        SELECT e.org_id, k, e.serial_norm, e.id
          FROM assets.equipment e, unnest(assets.search_code_keys(e.serial_norm)) AS k
         WHERE e.serial_norm IS NOT NULL AND e.serial_norm <> ''
        """
    )
    op.execute(
        """
        INSERT INTO assets.equipment_term (org_id, kind, norm, brand, display)
        SELECT DISTINCT ON (org_id, kind, norm, brand) org_id, kind, norm, brand, display
        FROM (
            SELECT org_id, 'm' AS kind, model_norm AS norm, manufacturer_key AS brand,
                   coalesce(model, model_norm) AS display
              FROM assets.equipment WHERE model_norm IS NOT NULL AND model_norm <> ''
            UNION ALL
            SELECT org_id, 'b', regexp_replace(upper(manufacturer), '[^0-9A-Z]+', '', 'g'),
                   manufacturer_key, manufacturer
              FROM (SELECT DISTINCT org_id, manufacturer, manufacturer_key
                      FROM assets.equipment) b
            UNION ALL
            SELECT l.org_id, 'l', regexp_replace(upper(seg), '[^0-9A-Z]+', '', 'g'), '',
                   regexp_replace(btrim(seg), '[[:space:]]+', ' ', 'g')
              FROM (SELECT DISTINCT org_id, location FROM assets.equipment
                     WHERE location IS NOT NULL) l,
                   unnest(string_to_array(l.location, '/')) AS seg
        ) t
        WHERE norm <> ''
        ORDER BY org_id, kind, norm, brand, display
        """
    )
    op.execute(
        """
        INSERT INTO assets.equipment_term_key (org_id, k, norm)
        SELECT DISTINCT t.org_id, k, t.norm
          FROM assets.equipment_term t, unnest(assets.search_code_keys(t.norm)) AS k
         WHERE t.kind = 'm'
        """
    )
    op.execute(
        """
        CREATE INDEX equipment_serial_key_k ON assets.equipment_serial_key (org_id, k)
            INCLUDE (serial_norm, id)
        """
    )
    op.execute(
        """
        CREATE INDEX equipment_search_model_idx
            ON assets.equipment (org_id, manufacturer_key, model_norm) INCLUDE (location, id)
        """
    )
    for table in ("equipment_serial_key", "equipment_term", "equipment_term_key"):
        op.execute(f"ANALYZE assets.{table}")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS assets.equipment_search_model_idx")
    op.execute("DROP TABLE IF EXISTS assets.equipment_term_key")
    op.execute("DROP TABLE IF EXISTS assets.equipment_term")
    op.execute("DROP TABLE IF EXISTS assets.equipment_serial_key")
    op.execute("DROP FUNCTION IF EXISTS assets.search_code_keys(text)")
