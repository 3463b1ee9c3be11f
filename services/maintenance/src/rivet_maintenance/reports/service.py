"""Reading ahead and looking back, per organization: the forecast, the overdue list and the
PM KPIs. The rules are ``schedule``'s (``planning.projection``, ``usage``, ``compliance``).

- **Forecast** over ``[now, now + days)``, a page at a time (``cursor``): the recorded
  occurrences whose orders are open or opening with a due time in it, each active calendar
  plan's projection from its next due time (a floating plan whose latest order is open: from
  one interval after that order's due date, as if completed on time), and each active meter
  plan's next threshold with the date the counter is expected there at its use over the last
  30 days (undated when it cannot be told). Condition plans cannot be foreseen.
- **Overdue**: orders of calendar occurrences open (or opening) past their due time, the most
  overdue first, marked when past their grace too.
- **KPIs**: PM compliance of the calendar occurrences due in the last ``days`` days (on time by
  due + 10 % of the interval; skipped occurrences opened no order and do not count; cancelled
  ones count as missed; those still within their grace are pending), meter PMs completed in the
  period and how many by their threshold + 10 %, PM orders open and overdue now.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from rivet_contracts import maintenance as contract
from rivet_runtime import RequestContext

from ..occurrences import repository as occurrences
from ..occurrences.repository import OccurrenceRecord
from ..occurrences.views import occurrence_view
from ..organizations.service import zone_of
from ..schedule import usage
from ..schedule.calendar import CalendarTrigger, Unit, next_due
from ..schedule.compliance import PmOrder, overdue, pm_compliance
from ..schedule.meters import MeterTrigger
from ..schedule.planning import opening, projection
from ..state import MaintenanceState
from ..vocabulary import OccurrenceStatus
from . import cursor
from . import repository as repo
from .cursor import METERED, PROJECTED, RECORDED, Key
from .repository import ForecastPlan

Ctx = RequestContext[MaintenanceState]
USAGE_WINDOW = timedelta(days=30)
GRACE_FACTOR = 10
COMPLIANCE_FORMULA = "on-time PM orders / PM orders due (on time: by due + 10 % of the interval)"
MIN_GAP = timedelta(hours=22)
"""Less than the time between any two occurrences of any plan (a day of 23 hours)."""
TICK = timedelta(microseconds=1)
LAST_PLAN = UUID(int=(1 << 128) - 1)

Candidate = tuple[Key, Callable[[], contract.ForecastItem]]
"""An item of the forecast: its key (``cursor.Key``, the answer's order) and how to build it
(only the items of the page are built)."""


async def forecast(ctx: Ctx, req: contract.GetForecast) -> contract.Forecast:
    """One page of the forecast: the ``limit`` items after the cursor's (the first ones
    without one) in the order of ``cursor.Key``, and the cursor of the next page.

    A page is built from what can come before its last item only. Three sources are read in
    that order from the cursor on: the recorded occurrences (``limit + 1`` of them), the
    calendar plans by their next occurrence (``limit + 1`` plans, each of which gives an item
    at its next), and the meter plans (few; all). The earlier of the first two sources' last
    rows read, ``bound``, is at or after the page's last item; every item up to it is found:
    the plans read give theirs up to it, and the other calendar plans with one by then are
    those whose next is at least their shortest interval before it (``calendar_recurring``)
    or counted from an open order (``calendar_waiting``). Recurring plans are projected only
    up to ``bound``, so a daily plan gives the page its items of the page, not its 90."""
    conn, org_id = ctx.conn, ctx.caller.org_id
    days = req.days or ctx.state.settings.forecast_days
    of = cursor.digest(org_id, days, req.equipment_id, req.assignee_id)
    after: Key | None = None
    if req.cursor is None:
        since = ctx.state.clock.now()
    else:
        since, after = cursor.decode(req.cursor, of)
    until = since + timedelta(days=days)
    tz = await zone_of(conn, org_id)
    filters = {"equipment_id": req.equipment_id, "assignee_id": req.assignee_id}
    found = await _after(ctx, since, until, tz, after, req.limit + 1, filters)
    page = found[: req.limit]
    more = len(found) > req.limit
    return contract.Forecast(
        since=since,
        until=until,
        days=days,
        items=[make() for _, make in page],
        next_cursor=cursor.encode(since, page[-1][0], of) if more else None,
    )


async def _after(
    ctx: Ctx,
    since: datetime,
    until: datetime,
    tz: ZoneInfo,
    after: Key | None,
    want: int,
    filters: dict[str, UUID | None],
) -> list[Candidate]:
    """The first ``want`` items after ``after`` (from the start without it), in order."""
    conn, org_id = ctx.conn, ctx.caller.org_id
    found: list[Candidate] = []
    bound: Key | None = None  # every item up to it is found (None: every item)
    if after is None or not after[0]:  # dated items may follow
        start = (after[1], after[2]) if after is not None else None
        # one more row than wanted: the cursor's own item may be among them
        recorded = await repo.recorded_from(
            conn, org_id, since=since, until=until, start=start, limit=want + 1, **filters
        )
        fresh = await repo.calendar_from(
            conn, org_id, since=since, until=until, start=start, limit=want + 1, **filters
        )
        frontiers = []
        if len(recorded) > want:
            frontiers.append((False, recorded[-1].due_at, recorded[-1].plan.id, RECORDED))
        if len(fresh) > want:
            last = fresh[-1].next_due_at
            assert last is not None
            frontiers.append((False, last, fresh[-1].id, PROJECTED))
        bound = min(frontiers) if frontiers else None
        found += [
            (key, partial(_recorded, item))
            for item in recorded
            if _between(key := (False, item.due_at, item.plan.id, RECORDED), after, bound)
        ]
        reach = bound[1] if bound is not None else until
        recurring = await repo.calendar_recurring(
            conn, org_id, since=since, bound=reach, min_gap=MIN_GAP, **filters
        )
        waiting = await repo.calendar_waiting(
            conn,
            org_id,
            zone=tz.key,
            bound=(bound[1], bound[2]) if bound is not None else (until, LAST_PLAN),
            changes=clock_changes(tz, since, until),
            **filters,
        )
        start_at = max(since, after[1]) if after is not None else since
        end = min(until, reach + TICK)
        plans = {plan.id: plan for plan in (*fresh, *recurring, *waiting)}
        for plan in plans.values():
            found += _projected(plan, start_at, end, tz, after, bound)
    found += await _metered(ctx, since, until, after, bound, filters)
    found.sort(key=lambda candidate: candidate[0])
    return found[:want]


def clock_changes(tz: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Spans of at most a day around ``[start, end)`` in which the zone's clocks change (its
    offset from UTC differs at their two ends)."""
    found = []
    day = timedelta(days=1)
    at = start - day
    offset = at.astimezone(tz).utcoffset()
    while at < end + day:
        later = at + day
        following = later.astimezone(tz).utcoffset()
        if following != offset:
            found.append((at, later))
        at, offset = later, following
    return found


def _between(key: Key, after: Key | None, bound: Key | None) -> bool:
    return (after is None or key > after) and (bound is None or key <= bound)


def _projected(
    plan: ForecastPlan,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    after: Key | None,
    bound: Key | None,
) -> list[Candidate]:
    """The plan's projected occurrences in ``[start, end)`` between ``after`` and ``bound``."""
    trigger = plan.trigger
    if not isinstance(trigger, CalendarTrigger):
        return []
    first = plan.next_due_at or _after_open(trigger, plan.latest_due, tz)
    if first is None or first >= end:
        return []
    if start <= first and end - first < _shortest(trigger):
        dues = [first]  # the next after it is past the end
    else:
        dues = projection(trigger, first, start, end, tz)
    return [
        (key, partial(_calendar_item, plan, trigger, due, tz))
        for due in dues
        if _between(key := (False, due, plan.id, PROJECTED), after, bound)
    ]


def _shortest(trigger: CalendarTrigger) -> timedelta:
    """Less than any time between two of the trigger's occurrences (a day of 23 hours when the
    clocks change, a month of 28 days)."""
    days = {Unit.DAYS: 1, Unit.WEEKS: 7, Unit.MONTHS: 28, Unit.YEARS: 365}[trigger.unit]
    return timedelta(days=days * trigger.every) - timedelta(hours=2)


async def _metered(
    ctx: Ctx,
    since: datetime,
    until: datetime,
    after: Key | None,
    bound: Key | None,
    filters: dict[str, UUID | None],
) -> list[Candidate]:
    """The meter plans' items between ``after`` and ``bound``: dated ones due in the window,
    undated ones (last, by plan). With a bound, only the plans expected by then are read."""
    by = bound[1] if bound is not None else None
    metered = await repo.meter_plans(
        ctx.conn, ctx.caller.org_id, window=USAGE_WINDOW, by=by, **filters
    )
    found: list[Candidate] = []
    for entry in metered:
        plan = entry.plan
        trigger = plan.trigger
        if not isinstance(trigger, MeterTrigger):
            continue
        fields = _meter_fields(entry, trigger, since)
        due = fields["due_at"]
        if due is not None and due >= until:
            continue
        key = (due is None, due or since, plan.id, METERED)
        if _between(key, after, bound):
            found.append((key, partial(_item, plan, fields)))
    return found


def _item(plan: ForecastPlan, fields: dict[str, Any]) -> contract.ForecastItem:
    values: dict[str, Any] = {
        "plan_id": plan.id,
        "title": plan.title,
        "equipment_id": plan.equipment_id,
        "assignee_id": plan.assignee_id,
        "trigger_kind": plan.trigger_kind,
        "due_at": None,
        "opens_at": None,
        "estimated_hours": float(plan.estimated_hours)
        if plan.estimated_hours is not None
        else None,
        "status": None,
        "work_order_id": None,
        "threshold": None,
        "units_to_go": None,
    }
    # the values are the stored ones, of the right types: no validation per item
    return contract.ForecastItem.model_construct(**(values | fields))


def _recorded(found: repo.RecordedItem) -> contract.ForecastItem:
    fields = {
        "due_at": found.due_at,
        "opens_at": found.opens_at,
        "status": found.status,
        "work_order_id": found.work_order_id,
    }
    return _item(found.plan, fields)


def _calendar_item(
    plan: ForecastPlan, trigger: CalendarTrigger, due: datetime, tz: ZoneInfo
) -> contract.ForecastItem:
    return _item(plan, {"due_at": due, "opens_at": opening(trigger, due, tz)})


def _after_open(
    trigger: CalendarTrigger, latest_due: datetime | None, tz: ZoneInfo
) -> datetime | None:
    """A floating plan whose latest order is open: its next, as if completed on its due date."""
    if latest_due is None:
        return None
    return next_due(trigger, latest_due, latest_due, tz)


def _meter_fields(entry: repo.MeteredPlan, trigger: MeterTrigger, now: datetime) -> dict[str, Any]:
    plan = entry.plan
    base = plan.meter_base if plan.meter_base is not None else Decimal(0)
    threshold = usage.next_threshold(trigger, base, entry.last_value)
    current = entry.last_value if entry.last_value is not None else base
    expected: datetime | None = None
    if entry.last_value is not None and entry.last_read_at is not None:
        newest = usage.Sample(entry.last_value, entry.last_read_at)
        if entry.earliest_value is not None and entry.earliest_at is not None:
            oldest = usage.Sample(entry.earliest_value, entry.earliest_at)
            expected = usage.expected_at(threshold, newest, usage.rate(oldest, newest))
    return {
        "due_at": max(expected, now) if expected is not None else None,
        "threshold": float(threshold),
        "units_to_go": float(max(threshold - current, Decimal(0))),
    }


def _pm_order(occurrence: OccurrenceRecord) -> PmOrder | None:
    """What compliance needs of a calendar occurrence (None for any other, or a skipped one)."""
    due, deadline = occurrence.due_at, occurrence.deadline_at
    if due is None or deadline is None or deadline <= due:
        return None
    if occurrence.status is OccurrenceStatus.SKIPPED:
        return None
    done = occurrence.completed_at if occurrence.status is OccurrenceStatus.COMPLETED else None
    return PmOrder(occurrence.key, due, (deadline - due) * GRACE_FACTOR, done)


async def overdue_list(ctx: Ctx, req: contract.ListOverdue) -> contract.OverdueList:
    now = ctx.state.clock.now()
    found = await repo.active_occurrences(
        ctx.conn,
        ctx.caller.org_id,
        due_before=now,
        equipment_id=req.equipment_id,
        assignee_id=req.assignee_id,
        limit=req.limit,
    )
    by_key = {f.occurrence.key: f for f in found}
    orders = [order for f in found if (order := _pm_order(f.occurrence)) is not None]
    items = []
    for late in overdue(orders, now):
        entry = by_key[late.order.key]
        items.append(
            contract.OverdueItem(
                occurrence=occurrence_view(entry.occurrence),
                title=entry.plan.title,
                equipment_id=entry.plan.equipment_id,
                assignee_id=entry.plan.assignee_id,
                overdue_hours=round(late.by.total_seconds() / 3600, 2),
                beyond_grace=late.beyond_grace,
            )
        )
    return contract.OverdueList(as_of=now, items=items)


async def kpis(ctx: Ctx, req: contract.GetPmKpis) -> contract.PmKpis:
    conn, org_id = ctx.conn, ctx.caller.org_id
    now = ctx.state.clock.now()
    since = now - timedelta(days=req.days)
    due = await occurrences.due_between(conn, org_id, since, now)
    orders = [order for o in due if (order := _pm_order(o)) is not None]
    compliance = pm_compliance(orders, since, now, now)
    meter_done, meter_on_time = await repo.meter_completions(conn, org_id, since, now)
    opening_now, open_now, overdue_now = await repo.active_counts(conn, now, org_id)
    return contract.PmKpis(
        days=req.days,
        since=since,
        until=now,
        compliance=contract.PmCompliance(
            percent=round(compliance.percent, 1) if compliance.percent is not None else None,
            due=compliance.due,
            on_time=compliance.on_time,
            pending=compliance.pending,
            formula=COMPLIANCE_FORMULA,
        ),
        meter_completed=meter_done,
        meter_on_time=meter_on_time,
        overdue=overdue_now,
        open=opening_now + open_now,
    )
