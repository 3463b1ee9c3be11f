"""Opening the work orders of recorded occurrences through the work-order service.

The request is slow I/O, so no transaction is open while it waits: an occurrence is claimed
(a lease by the database's clock, FOR UPDATE SKIP LOCKED), the stored request is sent with the
occurrence's key as ``idempotency_key``, and the answer is stored in a short transaction of its
own, with ``pm.due``. Exactly one order per occurrence, whatever fails in between:

- another replica skips a claimed occurrence until its lease ends, and when a lease ends while
  a request is still on its way, the work-order service answers the second request with the
  order the first created (same key, same stored request);
- a request that failed (NATS or the work-order service away, a timeout whose request may have
  arrived) leaves the occurrence ``opening``: it is sent again, unchanged, after a delay that
  doubles; an occurrence recorded but never sent (a crash) is taken again when its lease ends;
- a reply stored twice changes nothing the second time (``store_opened`` only moves an
  ``opening`` occurrence), so ``pm.due`` is emitted once.

The order is requested in the name of the plan's author (the admin who created, last changed or
resumed it): a job acts for the person who asked for the work (``JobContext.as_caller``), and
the work-order service applies its own checks to them. Its channel, the order's ``source``, is
``maintenance``.
"""

import asyncio
import logging
from dataclasses import replace

from rivet_contracts import ErrorCode, Events, Identity, Role, ServiceError, workorders
from rivet_contracts.maintenance import PmDue
from rivet_contracts.workorders import GetWorkOrder, WorkOrderView
from rivet_runtime import RequestContext
from rivet_runtime.jobs import JobContext

from ..metrics import ORDER_FAILURES, ORDERS_OPENED
from ..occurrences import repository as occurrences
from ..occurrences import requests
from ..occurrences.repository import OccurrenceRecord
from ..plans import repository as plans
from ..plans.repository import PlanRecord
from ..state import MaintenanceState

log = logging.getLogger(__name__)

BATCH = 32
CONCURRENCY = 8
"""Requests in flight per pass: the work-order service answers each in a few milliseconds,
most of which is waiting (NATS, its transaction), so one at a time left both services idle."""
CHANNEL = "maintenance"
"""The channel of the requests, which the work-order service keeps as the order's source."""
MAX_RETRY = 600.0

Ctx = JobContext[MaintenanceState]


async def open_orders(ctx: Ctx) -> int:
    """Claim a batch of occurrences waiting for their order and request them, ``CONCURRENCY``
    at a time (each its own unit of work); how many were handled (the job runs again at once
    while there are some)."""
    settings = ctx.state.settings
    async with ctx.transaction() as conn:
        claimed = await occurrences.claim_opening(conn, settings.open_lease, BATCH)
    waiting = iter(claimed)

    async def worker() -> None:
        one = replace(ctx, connection=None, emitted=[], after_commit=[])
        for occurrence in waiting:
            if ctx.stopping:  # the leases end and another pass takes the rest
                return
            await open_one(one, occurrence)

    await asyncio.gather(*(worker() for _ in range(min(CONCURRENCY, len(claimed)))))
    return len(claimed)


async def open_one(ctx: Ctx, occurrence: OccurrenceRecord) -> bool:
    """Request the occurrence's order and store it; whether it is open now."""
    async with ctx.reading() as conn:
        plan = await plans.get_plan(conn, occurrence.org_id, occurrence.plan_id)
    if plan is None or plan.author_id is None or occurrence.request is None:
        why = "the plan has no author: an admin takes it over by changing it"
        await _failed(ctx, occurrence, "no_author", why)
        return False
    caller = _caller(ctx, plan, occurrence)
    try:
        order = await _request(caller, occurrence)
    except ServiceError as exc:
        if requests.due_refused(exc, occurrence.request):
            # its due date has passed while it could not be sent: the priority's default now
            async with ctx.transaction() as conn:
                await occurrences.store_request(
                    conn, occurrence.id, requests.without_due(occurrence.request), exc.info.message
                )
            return False
        await _failed(ctx, occurrence, exc.code.value, exc.info.message)
        return False
    await _opened(ctx, plan, occurrence, order)
    return True


def _caller(
    ctx: Ctx, plan: PlanRecord, occurrence: OccurrenceRecord
) -> RequestContext[MaintenanceState]:
    assert plan.author_id is not None
    author = Identity(user_id=plan.author_id, org_id=plan.org_id, role=Role.ADMIN)
    caller = ctx.as_caller(author, f"pm:{occurrence.id}")
    caller.channel = CHANNEL
    return caller


async def _request(
    caller: RequestContext[MaintenanceState], occurrence: OccurrenceRecord
) -> WorkOrderView:
    """The order of the occurrence: created now, or by an earlier request with its key."""
    assert occurrence.request is not None
    try:
        return await caller.call(workorders.CREATE, requests.parse(occurrence.request))
    except ServiceError as exc:
        if exc.code is not ErrorCode.IDEMPOTENCY_KEY_REUSED:
            raise
        # an earlier request with this key created the order (with another due date: see
        # ``requests.without_due``); it is the occurrence's
        details = exc.info.details if isinstance(exc.info.details, dict) else {}
        number = details.get("number")
        if not isinstance(number, str):
            raise
        return await caller.call(workorders.GET, GetWorkOrder(ref=number))


async def _opened(
    ctx: Ctx, plan: PlanRecord, occurrence: OccurrenceRecord, order: WorkOrderView
) -> None:
    now = ctx.state.clock.now()
    async with ctx.transaction() as conn:
        if not await occurrences.store_opened(conn, occurrence.id, order.id, now, order.number):
            return  # stored by another replica, which emitted pm.due
        await ctx.emit(
            Events.PM_DUE,
            PmDue(
                occurrence_id=occurrence.id,
                key=occurrence.key,
                plan_id=plan.id,
                equipment_id=plan.equipment_id,
                title=plan.title,
                trigger_kind=plan.trigger_kind,
                due_at=occurrence.due_at,
                threshold=float(occurrence.threshold) if occurrence.threshold is not None else None,
                excursion=occurrence.excursion,
                work_order_id=order.id,
                work_order_number=order.number,
                assignee_id=order.assignee_id,
            ),
            org_id=plan.org_id,
        )
        ctx.after_commit.append(ORDERS_OPENED.labels(plan.trigger_kind.value).inc)


async def _failed(ctx: Ctx, occurrence: OccurrenceRecord, code: str, message: str) -> None:
    retry = min(ctx.state.settings.open_retry * 2 ** max(occurrence.attempts - 1, 0), MAX_RETRY)
    log.warning(
        "occurrence %s: work order not opened (%s: %s); retrying in %.0f s",
        occurrence.key,
        code,
        message,
        retry,
    )
    ORDER_FAILURES.labels(code).inc()
    async with ctx.transaction() as conn:
        await occurrences.store_failure(conn, occurrence.id, f"{code}: {message}", retry)
