"""Storing health scores: rescoring assets and keeping the per-organization summary.

Every writer of health data (the rollup consumer, the equipment replica, the health-refresh
job) locks ``equipment`` rows first (in id order) and ``org_health`` last, so they never
deadlock.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts.assets import Criticality

from ..sums import add_rows
from ..tables import OPEN_STATUS_SQL, org_health
from . import health

OrgHealthDeltas = defaultdict[UUID, list[int]]
"""org -> [assets, score_sum, good, fair, poor]"""

BAND_INDEX = {"good": 2, "fair": 3, "poor": 4}

_LOCK = text(
    "SELECT id, org_id, criticality, decay_corrective, decay_downtime, score "
    "FROM equipment WHERE id = ANY(CAST(:ids AS uuid[])) ORDER BY id FOR NO KEY UPDATE"
)
_LIVE = text(
    "SELECT equipment_id, count(*) AS open, count(*) FILTER (WHERE due_at < :now) AS overdue, "  # noqa: S608 - literals of the enum
    "min(due_at) FILTER (WHERE due_at >= :now) AS next_due FROM work_orders "
    "WHERE equipment_id = ANY(CAST(:ids AS uuid[])) "
    f"AND status IN ({OPEN_STATUS_SQL}) GROUP BY equipment_id"
)
_STORE = text(
    "UPDATE equipment AS e SET decay_corrective = u.dc, decay_downtime = u.dd, "
    "open_orders = u.open, overdue_orders = u.overdue, next_due_at = u.next_due, "
    "score = u.score, scored_at = :now "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:dc AS float8[]), CAST(:dd AS float8[]), "
    "CAST(:open AS int[]), CAST(:overdue AS int[]), CAST(:next_due AS timestamptz[]), "
    "CAST(:score AS int[])) AS u(id, dc, dd, open, overdue, next_due, score) WHERE e.id = u.id"
)


def new_deltas() -> OrgHealthDeltas:
    return defaultdict(lambda: [0, 0, 0, 0, 0])


def count_new_asset(deltas: OrgHealthDeltas, org_id: UUID, score: int = 100) -> None:
    entry = deltas[org_id]
    entry[0] += 1
    entry[1] += score
    entry[BAND_INDEX[health.band(score)]] += 1


async def rescore(
    conn: AsyncConnection,
    ids: Sequence[UUID],
    now: datetime,
    deltas: OrgHealthDeltas,
    decay: Mapping[UUID, list[float]] | None = None,
) -> None:
    """Recompute and store the score of assets ``ids`` at ``now``, first adding ``decay``
    (per asset: [corrective, downtime] stored-sum changes); summary changes go to ``deltas``."""
    if not ids:
        return
    id_list = sorted(set(ids))
    rows = (await conn.execute(_LOCK, {"ids": id_list})).mappings().all()
    if not rows:
        return
    live = {
        r["equipment_id"]: r
        for r in (await conn.execute(_LIVE, {"ids": id_list, "now": now})).mappings()
    }
    decay = decay or {}
    out: dict[str, list[object]] = defaultdict(list)
    for row in rows:
        change = decay.get(row["id"], [0.0, 0.0])
        corrective = row["decay_corrective"] + change[0]
        downtime = row["decay_downtime"] + change[1]
        counts = live.get(row["id"])
        open_orders = int(counts["open"]) if counts else 0
        overdue = int(counts["overdue"]) if counts else 0
        result = health.score(
            Criticality(row["criticality"]), corrective, downtime, open_orders, overdue, now
        )
        for key, value in (
            ("ids", row["id"]),
            ("dc", corrective),
            ("dd", downtime),
            ("open", open_orders),
            ("overdue", overdue),
            ("next_due", counts["next_due"] if counts else None),
            ("score", result.score),
        ):
            out[key].append(value)
        old = int(row["score"])
        entry = deltas[row["org_id"]]
        entry[1] += result.score - old
        entry[BAND_INDEX[health.band(old)]] -= 1
        entry[BAND_INDEX[result.band]] += 1
    await conn.execute(_STORE, {**out, "now": now})


async def apply_org_health(conn: AsyncConnection, deltas: OrgHealthDeltas) -> None:
    rows = [
        {"org_id": org, "assets": d[0], "score_sum": d[1], "good": d[2], "fair": d[3], "poor": d[4]}
        for org, d in sorted(deltas.items())
        if any(d)
    ]
    if not rows:
        return
    await add_rows(conn, org_health, ("org_id",), rows)
