"""Typo-tolerant search over equipment number, manufacturer, model, serial, location and type.

PostgreSQL finds candidates through exact lookups only (pigeonhole keys of codes, the
per-organization dictionary, the equipment number, the rows of a named brand, type or place);
Python ranks them (see ``ranking``). Design and measurements: docs/search.md.
"""

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts.assets import SearchHit, SearchResult
from rivet_runtime import UnitOfWork

from ..equipment.views import to_view
from . import planner, ranking
from . import repository as repo
from .keys import query_keys

MIN_SCORE = 20.0
"""Hits explaining less of the query than this (percent of its characters) are dropped."""


MAX_OFFSET = 500
"""Deepest page (``offset``) a search reaches."""


async def find(
    conn: AsyncConnection, org_id: UUID, query: str, limit: int, offset: int = 0
) -> list[ranking.Ranked]:
    """Ranked ids of the organization's assets for ``query``, best first, from ``offset``;
    one more than ``limit`` when there are more."""
    p = planner.plan(query)
    if p is None:
        return []
    want = offset + limit + 1
    db = await repo.driver(conn)
    cands: dict[UUID, Any] = {}
    listed: set[UUID] = set()
    terms = await repo.terms(db, org_id, p.code_keys, p.code_probes, p.prefix)
    choice = planner.choose(p, terms)
    if probes := p.serial_probes(choice.used, choice.model_words):
        keys = [(k, x) for x in probes for k in sorted(query_keys(x))]
        for r in await repo.serials(db, org_id, keys):
            cands[r["id"]] = r
    if p.numbers:
        for r in await repo.numbers(db, org_id, p.numbers):
            cands[r["id"]] = r
    any_of, all_of = planner.place_tokens(choice.places)
    if choice.models:
        for r in await repo.model_rows(db, org_id, choice.models, any_of, all_of):
            cands.setdefault(r["id"], r)
    if choice.facets and len(cands) <= limit:
        # The brand's, type's or place's own assets (all named facets together), newest
        # first: what "grundfos", "boiler house" or "abb pumps line 3" asks for. Whether they
        # are read does not depend on the page (``limit``, not ``want``), so pages agree.
        rows = [r for f in choice.facet_sets for r in await repo.facet_rows(db, org_id, f, want)]
        if not rows:  # "baldor electric co...": Baldor has nothing starting with "co"
            for f in choice.relaxed_sets:
                rows += await repo.facet_rows(db, org_id, f, want)
        for r in rows:
            if r["id"] not in cands:
                cands[r["id"]] = r
                listed.add(r["id"])
    ranked = ranking.rank(query, list(cands.values()), want, frozenset(listed))
    return [r for r in ranked if r.score >= MIN_SCORE][offset:]


async def search(
    uow: UnitOfWork[Any], org_id: UUID, query: str, limit: int = 10, offset: int = 0
) -> SearchResult:
    found = await find(uow.conn, org_id, query, limit, offset)
    more = len(found) > limit
    ranked = found[:limit]
    if not ranked:
        return SearchResult(items=[], next_offset=None)
    rows = {r["id"]: r for r in await repo.full_rows(uow.conn, org_id, [x.id for x in ranked])}
    return SearchResult(
        items=[
            SearchHit(equipment=to_view(rows[x.id]), score=x.score, matched_on=x.matched_on)
            for x in ranked
            if x.id in rows
        ],
        next_offset=offset + limit if more and offset + limit <= MAX_OFFSET else None,
    )
