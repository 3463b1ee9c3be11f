"""Search: PostgreSQL finds candidates, rapidfuzz ranks them.

Candidates come from trigram similarity (pg_trgm) on each searchable field; the ranking takes,
per asset, the best field score (codes compared as normalized codes, free text with token
ratios) so "siemens g120c", "G-120-C" and a serial with a typo all land on the right asset.
"""

from typing import Any
from uuid import UUID

from rapidfuzz import fuzz
from sqlalchemy import text
from sqlalchemy.engine import RowMapping

from rivet_contracts.assets import SearchHit, SearchResult
from rivet_runtime import UnitOfWork

from ..equipment.views import to_view
from ..matching import normalize
from ..state import AssetsState

CANDIDATES = 200

_CANDIDATES = text(
    """
    SELECT * FROM equipment
    WHERE org_id = :org AND (
        number = :number OR serial_norm = :code OR model_norm = :code
        OR similarity(coalesce(serial_norm, ''), :code) > 0.3
        OR similarity(coalesce(model_norm, ''), :code) > 0.3
        OR word_similarity(:words, lower(manufacturer || ' ' || coalesce(model, '') || ' '
                           || coalesce(location, '') || ' ' || coalesce(name, ''))) > 0.4
    )
    LIMIT :limit
    """
)


def score(query: str, row: RowMapping) -> tuple[float, str]:
    """Best field score (0-100) of ``row`` for ``query`` and the field it came from."""
    code = normalize.code(query) or ""
    words = normalize.words(query)
    scores: dict[str, float] = {"number": 100.0 if query.strip().upper() == row["number"] else 0}
    for field in ("serial_norm", "model_norm"):
        if row[field] and code:
            scores[field.removesuffix("_norm")] = float(fuzz.ratio(code, row[field]))
    doc = normalize.words(
        " ".join(str(row[f] or "") for f in ("manufacturer", "model", "name", "location"))
    )
    if words and doc:
        scores["text"] = float(fuzz.token_set_ratio(words, doc)) * 0.98
    field, best = max(scores.items(), key=lambda item: item[1])
    return best, field


async def search(
    uow: UnitOfWork[AssetsState], org_id: UUID, query: str, limit: int
) -> SearchResult:
    params: dict[str, Any] = {
        "org": org_id,
        "number": query.strip().upper(),
        "code": normalize.code(query) or "",
        "words": normalize.words(query),
        "limit": CANDIDATES,
    }
    rows = (await uow.conn.execute(_CANDIDATES, params)).mappings().all()
    ranked = sorted(((score(query, r), r) for r in rows), key=lambda x: -x[0][0])
    hits = [
        SearchHit(equipment=to_view(row), score=round(s, 1), matched_on=field)
        for (s, field), row in ranked[:limit]
        if s >= 50
    ]
    return SearchResult(items=hits)
