"""Business gauges for Prometheus, per organization: open and overdue work orders, backlog
hours and MTTR over 30 days. Read from the rollups every ``EVERY`` seconds in a few grouped
queries (not per request), so scraping costs nothing and the dashboard and alerts see the
same figures as ``/api/stats``."""

import asyncio
import logging
from datetime import timedelta

from prometheus_client import Gauge
from sqlalchemy import text

from rivet_runtime.db import Database

from ..clock import Clock
from .service import midnight

log = logging.getLogger(__name__)

EVERY = 30.0
MTTR_DAYS = 30

OPEN = Gauge("rivet_wo_open", "Open work orders (open, in progress, on hold).", ["org"])
OVERDUE = Gauge("rivet_wo_overdue", "Open work orders past their due date.", ["org"])
BACKLOG_HOURS = Gauge("rivet_wo_backlog_hours", "Estimated hours of the open work orders.", ["org"])
MTTR_HOURS = Gauge(
    "rivet_wo_mttr_hours", f"Mean time to repair over the last {MTTR_DAYS} days.", ["org"]
)

_OPEN = text(
    "SELECT org_id, sum(orders) AS orders, sum(estimated_minutes) AS minutes FROM wo_counts "
    "WHERE status IN ('open', 'in_progress', 'on_hold') GROUP BY org_id"
)
_OVERDUE_BEFORE_TODAY = text(
    "SELECT org_id, sum(orders) FROM wo_due WHERE due_day < :today GROUP BY org_id"
)
_OVERDUE_TODAY = text(
    "SELECT org_id, count(*) FROM work_orders WHERE status IN ('open', 'in_progress', 'on_hold') "
    "AND due_at >= :midnight AND due_at < :now GROUP BY org_id"
)
_MTTR = text(
    "SELECT org_id, sum(repair_seconds) AS seconds, sum(repaired) AS repaired FROM wo_daily "
    "WHERE day >= :since GROUP BY org_id"
)


async def refresh(db: Database, clock: Clock) -> None:
    now = clock.now()
    today = midnight(now)
    async with db.transaction() as conn:
        opened = (await conn.execute(_OPEN)).mappings().all()
        before = (await conn.execute(_OVERDUE_BEFORE_TODAY, {"today": today.date()})).all()
        due_today = (await conn.execute(_OVERDUE_TODAY, {"midnight": today, "now": now})).all()
        mttr = (
            (await conn.execute(_MTTR, {"since": (today - timedelta(days=MTTR_DAYS - 1)).date()}))
            .mappings()
            .all()
        )
    overdue: dict[str, int] = {}
    for org_id, count in (*before, *due_today):
        overdue[str(org_id)] = overdue.get(str(org_id), 0) + int(count or 0)
    for gauge in (OPEN, OVERDUE, BACKLOG_HOURS, MTTR_HOURS):
        gauge.clear()  # organizations that no longer have figures disappear
    for row in opened:
        org = str(row["org_id"])
        OPEN.labels(org).set(int(row["orders"] or 0))
        BACKLOG_HOURS.labels(org).set(float(row["minutes"] or 0) / 60)
        OVERDUE.labels(org).set(overdue.pop(org, 0))
    for org, count in overdue.items():
        OVERDUE.labels(org).set(count)
    for row in mttr:
        if row["repaired"]:
            MTTR_HOURS.labels(str(row["org_id"])).set(
                float(row["seconds"]) / 3600 / row["repaired"]
            )


async def run_forever(db: Database, clock: Clock) -> None:
    while True:
        try:
            await refresh(db, clock)
        except Exception as exc:  # a bad pass must not stop the next one
            log.warning("business gauges not refreshed: %r", exc)
        await asyncio.sleep(EVERY)
