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
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts import maintenance as contract
from rivet_runtime import RequestContext

from ..occurrences import repository as occurrences
from ..occurrences.repository import OccurrenceRecord
from ..occurrences.views import occurrence_view
from ..organizations.service import recent_zone
from ..schedule import usage
from ..schedule.calendar import CalendarTrigger, Mode, Unit
from ..schedule.compliance import PmOrder, overdue, pm_compliance
from ..schedule.localtime import local_date, local_instant
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
TICK = timedelta(microseconds=1)

Candidate = tuple[Key, Callable[[], contract.ForecastItem]]
"""An item of the forecast: its key (``cursor.Key``, the answer's order) and how to build it
(only the items of the page are built)."""


async def forecast(ctx: Ctx, req: contract.GetForecast) -> contract.Forecast:
    """One page of the forecast: the ``limit`` items after the cursor's (the first ones
    without one) in the order of ``cursor.Key``, and the cursor of the next page.

    A page is built from what can come before its last item only. Three sources are read in
    that order from the cursor on: the recorded occurrences (``limit + 1`` of them), the
    calendar plans' occurrences day by day (``_calendar``: ``limit + 1`` of them, found by
    where each plan is in its cycle, so a page far into the window reads what a first page
    reads), and the meter plans (few; all). The earlier of the first two sources' last items
    read, ``bound``, is at or after the page's last item; every item up to it is found."""
    async with ctx.reading() as conn:  # reads only: no BEGIN and COMMIT round trips
        return await _forecast(ctx, conn, req)


async def _forecast(
    ctx: Ctx, conn: AsyncConnection, req: contract.GetForecast
) -> contract.Forecast:
    org_id = ctx.caller.org_id
    days = req.days or ctx.state.settings.forecast_days
    of = cursor.digest(org_id, days, req.equipment_id, req.assignee_id)
    after: Key | None = None
    if req.cursor is None:
        since = ctx.state.clock.now()
    else:
        since, after = cursor.decode(req.cursor, of)
    until = since + timedelta(days=days)
    tz = await recent_zone(conn, org_id)  # one round trip fewer on most pages
    filters = {"equipment_id": req.equipment_id, "assignee_id": req.assignee_id}
    want = req.limit + 1
    found: list[Candidate] = []
    while len(found) < want:
        more, bound = await _after(ctx, conn, since, until, tz, after, want - len(found), filters)
        found += more
        if bound is None:
            break
        after = bound  # a day's plans that were no items (a month's end): read on from it
    page = found[: req.limit]
    return contract.Forecast(
        since=since,
        until=until,
        days=days,
        items=[make() for _, make in page],
        next_cursor=cursor.encode(since, page[-1][0], of) if len(found) > req.limit else None,
    )


async def _after(
    ctx: Ctx,
    conn: AsyncConnection,
    since: datetime,
    until: datetime,
    tz: ZoneInfo,
    after: Key | None,
    want: int,
    filters: dict[str, UUID | None],
) -> tuple[list[Candidate], Key | None]:
    """Items after ``after`` (from the start without it), in order, up to ``want`` of them,
    and the key up to which every item is among them (None: every item to the end). Fewer
    than ``want`` only when some plans read were found to have no item there."""
    org_id = ctx.caller.org_id
    found: list[Candidate] = []
    bound: Key | None = None  # every item up to it is found (None: every item)
    if after is None or not after[0]:  # dated items may follow
        start = (after[1], after[2]) if after is not None else None
        # one more row than wanted: the cursor's own item may be among them
        recorded = await repo.recorded_from(
            conn, org_id, since=since, until=until, start=start, limit=want + 1, **filters
        )
        frontiers = []
        if len(recorded) > want:
            frontiers.append((False, recorded[-1].due_at, recorded[-1].plan.id, RECORDED))
        if filters["equipment_id"] is not None:
            projected, reach = await _of_equipment(ctx, conn, since, until, tz, after, filters)
        else:
            projected, reach = await _calendar(ctx, conn, since, until, tz, after, want, filters)
        if reach is not None:
            frontiers.append(reach)
        bound = min(frontiers) if frontiers else None
        found += [
            (key, partial(_recorded, item))
            for item in recorded
            if _between(key := (False, item.due_at, item.plan.id, RECORDED), after, bound)
        ]
        found += [item for item in projected if _between(item[0], after, bound)]
    found += await _metered(ctx, conn, since, until, after, bound, filters)
    found.sort(key=lambda candidate: candidate[0])
    if len(found) > want:
        found = found[:want]
        bound = found[-1][0]
    return found, bound


FIRST_PLAN = UUID(int=0)
BATCHES = (2, 7, 30, 90, 400)
"""Days read at once, in turn, while a page has fewer items than it wants: the rest of the
first day and the next (a page of a large organization is within them: one statement, which
reads only index entries beyond the rows it keeps), then more at once (a sparse forecast: an
assignee's few plans)."""


async def _calendar(
    ctx: Ctx,
    conn: AsyncConnection,
    since: datetime,
    until: datetime,
    tz: ZoneInfo,
    after: Key | None,
    want: int,
    filters: dict[str, UUID | None],
) -> tuple[list[Candidate], Key | None]:
    """The calendar plans' projected items after ``after``: ``want`` or more, read day by
    day (a few days at once) by where each plan is in its cycle, and the key up to which
    every projected item is among them (None: to the end of the window).

    A day's plans come in the order (local time, plan), which is the items' order except on
    a day the clocks change (a skipped local time is read as the later one): such a day is
    read whole and sorted."""
    org_id, assignee = ctx.caller.org_id, filters["assignee_id"]
    begin = max(since, after[1]) if after is not None else since
    day, last = local_date(begin, tz), local_date(until - TICK, tz)
    changed = _changed_days(tz, since, until)
    start = (begin.astimezone(tz).time().replace(tzinfo=None, fold=0), FIRST_PLAN)
    if after is not None and after[1] == begin:
        start = (start[0], after[2])
    found: list[Candidate] = []
    turn = 0
    while day <= last:
        if day in changed:
            batch, limit = [day], None
            start = _DAY_START
        else:
            size = BATCHES[min(turn, len(BATCHES) - 1)]
            batch = [day]
            while len(batch) < size and (following := batch[-1] + ONE_DAY) <= last:
                if following in changed:
                    break
                batch.append(following)
            limit = want + 1
            turn += 1
        rows = await repo.calendar_days(
            conn, org_id, days=batch, start=start, limit=limit, assignee_id=assignee
        )
        for d, plan in rows:
            item = _on_day(plan, d, tz)
            if item is not None and since <= item[0][1] < until and _between(item[0], after, None):
                found.append(item)
        if limit is not None and len(rows) == limit:  # the batch goes on past the last row
            d, plan = rows[-1]
            at = plan.trigger.at if isinstance(plan.trigger, CalendarTrigger) else time()
            return found, (False, local_instant(d, at, tz), plan.id, PROJECTED)
        day, start = batch[-1] + ONE_DAY, _DAY_START
        if len(found) >= want:
            found.sort(key=lambda candidate: candidate[0])
            return found, found[-1][0]
    return found, None


ONE_DAY = timedelta(days=1)
_DAY_START = (time(0), FIRST_PLAN)


def _on_day(plan: ForecastPlan, day: date, tz: ZoneInfo) -> Candidate | None:
    """The plan's item on ``day``, which its cycle says it may have: sure for days and weeks
    and a month's day up to the 28th; else (a month's end, a floating plan that moved to an
    earlier day) checked against its projection."""
    trigger = plan.trigger
    if not isinstance(trigger, CalendarTrigger) or plan.forecast_on is None:
        return None
    due = local_instant(day, trigger.at, tz)
    if trigger.unit in (Unit.MONTHS, Unit.YEARS) and (
        day.day >= 28 or trigger.mode is Mode.FLOATING
    ):
        first = local_instant(plan.forecast_on, trigger.at, tz)
        if due not in projection(trigger, first, due, due + TICK, tz):
            return None
    key = (False, due, plan.id, PROJECTED)
    return key, partial(_calendar_item, plan, trigger, due, tz)


async def _of_equipment(
    ctx: Ctx,
    conn: AsyncConnection,
    since: datetime,
    until: datetime,
    tz: ZoneInfo,
    after: Key | None,
    filters: dict[str, UUID | None],
) -> tuple[list[Candidate], Key | None]:
    """An asset's projected items after ``after``: all of its few plans' in the window."""
    equipment = filters["equipment_id"]
    assert equipment is not None
    plans = await repo.calendar_of_equipment(
        conn, ctx.caller.org_id, equipment, filters["assignee_id"]
    )
    start = max(since, after[1]) if after is not None else since
    found: list[Candidate] = []
    for plan in plans:
        found += _projected(plan, start, until, tz, after)
    return found, None


def _changed_days(tz: ZoneInfo, since: datetime, until: datetime) -> set[date]:
    """The local dates within a few hours of a change of the clocks in the window."""
    found: set[date] = set()
    slack = timedelta(hours=3)
    for start, end in clock_changes(tz, since, until):
        day, stop = local_date(start - slack, tz), local_date(end + slack, tz)
        while day <= stop:
            found.add(day)
            day += ONE_DAY
    return found


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
) -> list[Candidate]:
    """The plan's projected occurrences in ``[start, end)`` after ``after``."""
    trigger = plan.trigger
    if not isinstance(trigger, CalendarTrigger) or plan.forecast_on is None:
        return []
    first = local_instant(plan.forecast_on, trigger.at, tz)
    if first >= end:
        return []
    if start <= first and end - first < _shortest(trigger):
        dues = [first]  # the next after it is past the end
    else:
        dues = projection(trigger, first, start, end, tz)
    return [
        (key, partial(_calendar_item, plan, trigger, due, tz))
        for due in dues
        if _between(key := (False, due, plan.id, PROJECTED), after, None)
    ]


def _shortest(trigger: CalendarTrigger) -> timedelta:
    """Less than any time between two of the trigger's occurrences (a day of 23 hours when the
    clocks change, a month of 28 days)."""
    days = {Unit.DAYS: 1, Unit.WEEKS: 7, Unit.MONTHS: 28, Unit.YEARS: 365}[trigger.unit]
    return timedelta(days=days * trigger.every) - timedelta(hours=2)


async def _metered(
    ctx: Ctx,
    conn: AsyncConnection,
    since: datetime,
    until: datetime,
    after: Key | None,
    bound: Key | None,
    filters: dict[str, UUID | None],
) -> list[Candidate]:
    """The meter plans' items between ``after`` and ``bound``: dated ones due in the window,
    undated ones (last, by plan). With a bound, only the plans expected by then are read."""
    by = bound[1] if bound is not None else None
    metered = await repo.meter_plans(conn, ctx.caller.org_id, window=USAGE_WINDOW, by=by, **filters)
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
    # a projected due time is a local time read by ``local_instant``: with no lead its order
    # opens then (``opens_at`` would read the same wall time back); the rule otherwise
    opens = due if not trigger.lead else opening(trigger, due, tz)
    return _item(plan, {"due_at": due, "opens_at": opens})


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
