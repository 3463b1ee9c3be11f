"""Recording an occurrence of a plan: the one step every trigger shares.

The occurrence is inserted under its key (``schedule.keys``), so a second recording of the same
occurrence - by another scheduler replica, a retried pass, a redelivered reading - inserts
nothing. An occurrence that will open an order is ``opening`` and carries its work-order
request (``requests``); the commit wakes the order openers (``OPENING_CHANNEL``). When the
plan's previous order is still open and the plan does not allow overlap, the occurrence is
recorded ``skipped`` instead: it opens no order, and the plan goes on to its next one.
"""

from dataclasses import replace
from datetime import datetime
from typing import Any

from rivet_runtime import UnitOfWork
from rivet_runtime.jobs import notify

from ..metrics import OCCURRENCES
from ..plans.repository import PlanRecord
from ..vocabulary import OccurrenceStatus
from . import repository as repo
from .repository import NewOccurrence, OccurrenceRecord
from .requests import work_order_request

OPENING_CHANNEL = "maintenance_opening"
"""Commit notifications that wake the job opening recorded occurrences' work orders."""


async def record(
    ctx: UnitOfWork[Any],
    plan: PlanRecord,
    new: NewOccurrence,
    now: datetime,
    *,
    note: str | None = None,
) -> OccurrenceRecord | None:
    """Record ``new`` for ``plan`` in the open transaction; None when it is recorded already."""
    conn = ctx.conn
    kind = plan.trigger_kind.value
    if not plan.allow_overlap and await repo.has_active(conn, plan.id):
        row = await repo.insert_occurrence(conn, replace(new, status=OccurrenceStatus.SKIPPED), now)
        if row is not None:
            ctx.after_commit.append(OCCURRENCES.labels(kind, "skipped").inc)
        return row
    request = work_order_request(plan, new.key, due_at=new.due_at, now=now, note=note)
    row = await repo.insert_occurrence(conn, replace(new, request=request), now)
    if row is not None:
        await notify(conn, OPENING_CHANNEL)
        ctx.after_commit.append(OCCURRENCES.labels(kind, "opening").inc)
    return row
