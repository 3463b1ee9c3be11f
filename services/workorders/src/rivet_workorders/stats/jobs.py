"""Operational gauges for Prometheus: the work-order load of the whole system, summed over all
organizations. Read from the rollups every ``EVERY`` seconds in a few statements (not per
request), so scraping costs nothing. Each replica sets its own (a job per replica: gauges live
in the process); they agree, so dashboards take the max over replicas.

``/metrics`` needs no token, so nothing here names or separates organizations: no
organization id, no per-organization series (whose number would also grow with the tenants).
Labels come from fixed vocabularies only (priority: four values). Each organization sees its
own figures - open, overdue, backlog hours, MTTR and the other KPIs - through the stats API
(``rpc.workorders.stats_*``, ``GET /api/stats/...``), as its own members only.

There is no MTTR here: a mean over every tenant's repairs mixes unrelated fleets (the largest
tenant sets it, and a change in the tenant mix moves it with no repair getting faster or
slower), and no operator acts on it; it is a per-organization KPI (``/api/stats/kpis``).
"""

import logging

from prometheus_client import Gauge
from sqlalchemy import text

from rivet_contracts.workorders import Priority
from rivet_runtime.jobs import JobContext, JobRouter

from ..state import WorkordersState
from ..tables import OPEN_STATUS_SQL
from .service import midnight

log = logging.getLogger(__name__)

EVERY = 30.0

OPEN = Gauge(
    "rivet_wo_open",
    "Open work orders (open, in progress, on hold) of all organizations, by priority.",
    ["priority"],
)
OVERDUE = Gauge("rivet_wo_overdue", "Open work orders past their due date, all organizations.")
BACKLOG_HOURS = Gauge(
    "rivet_wo_backlog_hours", "Estimated hours of the open work orders, all organizations."
)

_OPEN = text(
    "SELECT priority, sum(orders) AS orders, sum(estimated_minutes) AS minutes FROM wo_counts "  # noqa: S608 - literals of the enum
    f"WHERE status IN ({OPEN_STATUS_SQL}) GROUP BY priority"
)
_OVERDUE_BEFORE_TODAY = text("SELECT coalesce(sum(orders), 0) FROM wo_due WHERE due_day < :today")
_OVERDUE_TODAY = text(
    f"SELECT count(*) FROM work_orders WHERE status IN ({OPEN_STATUS_SQL}) "  # noqa: S608 - literals of the enum
    "AND due_at >= :midnight AND due_at < :now"
)


jobs: JobRouter[WorkordersState] = JobRouter()


@jobs.periodic("gauges", every=EVERY, per_replica=True)
async def refresh_gauges(ctx: JobContext[WorkordersState]) -> int:
    now = ctx.state.clock.now()
    today = midnight(now)
    async with ctx.transaction() as conn:  # one snapshot for the three figures
        opened = (await conn.execute(_OPEN)).mappings().all()
        before = await conn.scalar(_OVERDUE_BEFORE_TODAY, {"today": today.date()})
        due_today = await conn.scalar(_OVERDUE_TODAY, {"midnight": today, "now": now})
    by_priority = {row["priority"]: row for row in opened}
    minutes = 0
    for priority in Priority:  # every priority, 0 included: a fixed set of series
        row = by_priority.get(priority.value)
        OPEN.labels(priority.value).set(int(row["orders"] or 0) if row else 0)
        minutes += int(row["minutes"] or 0) if row else 0
    BACKLOG_HOURS.set(minutes / 60)
    OVERDUE.set(int(before or 0) + int(due_today or 0))
    return 1
