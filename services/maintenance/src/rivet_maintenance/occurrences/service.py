"""Recording an occurrence of a plan: the one step every trigger shares.

The occurrence is inserted under its key (``schedule.keys``), so a second recording of the same
occurrence - by another scheduler replica, a retried pass, a redelivered reading - inserts
nothing. An occurrence that will open an order is ``opening`` and carries its work-order
request (``requests``); the commit wakes the order openers (``OPENING_CHANNEL``). When the
plan's previous order is still open and the plan does not allow overlap, the occurrence is
recorded ``skipped`` instead: it opens no order, and the plan goes on to its next one.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
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
    return (await record_many(ctx, [(plan, new, note)], now))[0]


async def record_many(
    ctx: UnitOfWork[Any],
    batch: Sequence[tuple[PlanRecord, NewOccurrence, str | None]],
    now: datetime,
) -> list[OccurrenceRecord | None]:
    """Record occurrences of different plans (a scheduler pass's batch) in the open
    transaction, in a few statements: ``record`` for each (plan, occurrence, note); None for
    one recorded already."""
    conn = ctx.conn
    if len({plan.id for plan, _, _ in batch}) != len(batch):
        raise ValueError("one occurrence per plan in a batch")
    busy = await repo.plans_with_active(
        conn, [plan.id for plan, _, _ in batch if not plan.allow_overlap]
    )
    rows: list[NewOccurrence] = []
    for plan, new, note in batch:
        if plan.id in busy:
            rows.append(replace(new, status=OccurrenceStatus.SKIPPED))
        else:
            request = work_order_request(plan, new.key, due_at=new.due_at, now=now, note=note)
            rows.append(replace(new, request=request))
    stored = await repo.insert_occurrences(conn, rows, now)
    results: list[OccurrenceRecord | None] = []
    counts: Counter[tuple[str, str]] = Counter()
    for (plan, _, _), row in zip(batch, rows, strict=True):
        found = stored.get(row.key)
        results.append(found)
        if found is not None:
            counts[(plan.trigger_kind.value, found.status.value)] += 1
    if any(status == OccurrenceStatus.OPENING.value for _, status in counts):
        await notify(conn, OPENING_CHANNEL)
    for (kind, status), n in counts.items():
        outcome = "skipped" if status == OccurrenceStatus.SKIPPED.value else "opening"
        ctx.after_commit.append(partial(OCCURRENCES.labels(kind, outcome).inc, n))
    return results
