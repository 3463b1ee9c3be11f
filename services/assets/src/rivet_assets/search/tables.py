"""Tables of the search index (created by migration 0002; kept by ``index``).

Declared on the service's metadata so that alembic's autogenerate knows them (import this
module next to ``rivet_assets.tables`` in ``migrations/env.py`` before autogenerating).
"""

from sqlalchemy import Column, Index, PrimaryKeyConstraint, Table, Text, text
from sqlalchemy.dialects.postgresql import UUID

from ..tables import equipment, metadata

equipment_serial_key = Table(
    "equipment_serial_key",
    metadata,
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("k", Text, nullable=False, comment="pigeonhole key of serial_norm (search.keys)"),
    Column("serial_norm", Text, nullable=False),
    Column("id", UUID(as_uuid=True), nullable=False, comment="equipment.id"),
    Index("equipment_serial_key_k", "org_id", "k", postgresql_include=["serial_norm", "id"]),
    comment="3 rows per asset with a serial (more for serials under 6 characters)",
)

equipment_term = Table(
    "equipment_term",
    metadata,
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("kind", Text, nullable=False, comment="m model, b brand, l location segment, t type"),
    Column("norm", Text, nullable=False, comment="normal form (search.keys.norm)"),
    Column("brand", Text, nullable=False, comment="manufacturer_key (kinds m and b)"),
    Column("display", Text, nullable=False),
    PrimaryKeyConstraint("org_id", "kind", "norm", "brand"),
    comment="per-organization dictionary; stale terms are harmless (search.index.purge_terms)",
)

equipment_term_key = Table(
    "equipment_term_key",
    metadata,
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("k", Text, nullable=False, comment="pigeonhole key of a model term"),
    Column("norm", Text, nullable=False),
    PrimaryKeyConstraint("org_id", "k", "norm"),
)

# Rows of a chosen model, filtered on location by an index-only scan (ids only).
Index(
    "equipment_search_model_idx",
    equipment.c.org_id,
    equipment.c.manufacturer_key,
    equipment.c.model_norm,
    postgresql_include=["location", "id"],
)

# The first page of a brand, a type or a place, most recently changed first (migration 0005).
Index(
    "equipment_org_brand_recent_idx",
    equipment.c.org_id,
    equipment.c.manufacturer_key,
    equipment.c.updated_at.desc(),
)
Index(
    "equipment_org_type_recent_idx",
    equipment.c.org_id,
    text("regexp_replace(upper(equipment_type), '[^0-9A-Z]+', '', 'g')"),
    equipment.c.updated_at.desc(),
    postgresql_where=text("equipment_type IS NOT NULL"),
)
Index(
    "equipment_location_trgm_idx",
    equipment.c.location,
    postgresql_using="gin",
    postgresql_ops={"location": "public.gin_trgm_ops"},
)
