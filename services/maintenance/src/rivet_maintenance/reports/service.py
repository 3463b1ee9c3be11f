"""Reading ahead and looking back, per organization: the forecast, the overdue list and the
PM KPIs. The rules are ``schedule``'s (``planning.projection``, ``usage``, ``compliance``).

- **Forecast** over ``[now, now + days)``: the recorded occurrences whose orders are open or
  opening with a due time in it, then each active calendar plan's projection from its next due
  time (a floating plan whose latest order is open: from one interval after that order's due
  date, as if completed on time), and each active meter plan's next threshold with the date the
  counter is expected there at its use over the last 30 days (undated when it cannot be told).
  Condition plans cannot be foreseen.
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
from uuid import UUID
from zoneinfo import ZoneInfo

from rivet_contracts import maintenance as contract
from rivet_runtime import RequestContext

from ..meters import repository as meters
from ..occurrences import repository as occurrences
from ..occurrences.repository import OccurrenceRecord
from ..occurrences.views import occurrence_view
from ..organizations.service import zone_of
from ..plans.repository import PlanRecord
from ..plans.triggers import load
from ..schedule import usage
from ..schedule.calendar import CalendarTrigger, Mode, Unit, next_due
from ..schedule.compliance import PmOrder, overdue, pm_compliance
from ..schedule.meters import MeterTrigger
from ..schedule.planning import opening, projection
from ..state import MaintenanceState
from ..vocabulary import OccurrenceStatus, TriggerKind
from . import repository as repo

Ctx = RequestContext[MaintenanceState]
MAX_ITEMS = 5000
CHUNK = 250
"""Calendar plans read at a time by the forecast."""
USAGE_WINDOW = timedelta(days=30)
GRACE_FACTOR = 10
COMPLIANCE_FORMULA = "on-time PM orders / PM orders due (on time: by due + 10 % of the interval)"


def _item(plan: PlanRecord, **fields: object) -> contract.ForecastItem:
    values: dict[str, object] = {
        "plan_id": plan.id,
        "title": plan.title,
        "equipment_id": plan.equipment_id,
        "assignee_id": plan.assignee_id,
        "trigger_kind": plan.trigger_kind,
        "estimated_hours": float(plan.estimated_hours)
        if plan.estimated_hours is not None
        else None,
        "opens_at": None,
        "status": None,
        "work_order_id": None,
        "threshold": None,
        "units_to_go": None,
    }
    return contract.ForecastItem.model_validate(values | fields)


Candidate = tuple[tuple[bool, datetime, str, str], Callable[[], contract.ForecastItem]]
"""An item of the forecast: its sort key (undated last, soonest first, title, plan) and how
to build it (only the items kept are built)."""


async def forecast(ctx: Ctx, req: contract.GetForecast) -> contract.Forecast:
    """The soonest ``MAX_ITEMS`` occurrences of the window (``truncated`` when there are more).

    Calendar plans are read a page at a time in the order of their next occurrence (due time,
    title, id: the order of the answer; ``plans_forecast_idx``); once ``MAX_ITEMS`` are kept, a
    plan is projected only up to the last one kept, and reading stops at the first plan whose
    next occurrence comes after it: all of that plan's occurrences, and the following plans',
    come later. The plans whose next is counted from their open order come last, projected
    only as far as the items kept by then. So a large
    organization is not read whole for a short answer, and the answer holds the soonest
    items, not the first plans' items."""
    conn, org_id = ctx.conn, ctx.caller.org_id
    now = ctx.state.clock.now()
    days = req.days or ctx.state.settings.forecast_days
    end = now + timedelta(days=days)
    tz = await zone_of(conn, org_id)
    kept: list[Candidate] = []
    recorded = await repo.active_occurrences(
        conn,
        org_id,
        due_from=now,
        due_before=end,
        equipment_id=req.equipment_id,
        assignee_id=req.assignee_id,
        limit=MAX_ITEMS + 1,
    )
    kept += [_built(_recorded(found.plan, found.occurrence), now) for found in recorded]
    metered = await repo.active_plans(
        conn, org_id, kind=TriggerKind.METER, equipment_id=req.equipment_id,
        assignee_id=req.assignee_id,
    )  # fmt: skip
    watched = await meters.meters_by_id(conn, [p.meter_id for p in metered if p.meter_id])
    since = await meters.earliest_since_many(conn, list(watched.values()), USAGE_WINDOW)
    for plan in metered:
        trigger = load(plan.trigger_kind, plan.trigger)
        if isinstance(trigger, MeterTrigger) and plan.meter_id in watched:
            item = _meter_item(plan, trigger, watched[plan.meter_id], since, now)
            if item.due_at is None or item.due_at < end:
                kept.append(_built(item, now))
    truncated = _cut(kept)
    filters = {"equipment_id": req.equipment_id, "assignee_id": req.assignee_id}
    last: repo.PlanKey | None = None
    while True:  # the plans with a next occurrence stored, in its order
        chunk = await repo.calendar_plans_page(
            conn, org_id, before=end, after=last, limit=CHUNK, **filters
        )
        if not chunk:
            break
        last = chunk[-1]
        first_id, first_due, first_title = chunk[0]
        # each plan's later occurrences come after its next: past the last item kept, this
        # plan and the rest are left out
        if (
            len(kept) >= MAX_ITEMS
            and (False, first_due, first_title, str(first_id)) > (kept[-1][0])
        ):
            truncated = True
            break
        truncated = await _project(ctx, chunk, kept, now, end, tz) or truncated
    # then those whose next is counted from their open order, only as far as the items kept
    waiting = await repo.calendar_plans_without_next(conn, org_id, **filters)
    for start in range(0, len(waiting), CHUNK):
        chunk = waiting[start : start + CHUNK]
        truncated = await _project(ctx, chunk, kept, now, end, tz) or truncated
    return contract.Forecast(
        since=now,
        until=end,
        days=days,
        items=[make() for _, make in kept],
        truncated=truncated,
    )


async def _project(
    ctx: Ctx,
    chunk: list[repo.PlanKey],
    kept: list[Candidate],
    now: datetime,
    end: datetime,
    tz: ZoneInfo,
) -> bool:
    """Add the chunk's plans' occurrences to ``kept`` (once it is full, only those before the
    last one kept) and keep the soonest; whether any in the window were left out."""
    conn, truncated = ctx.conn, False
    last = kept[-1][0] if len(kept) >= MAX_ITEMS else None
    cutoff = _cutoff(kept)
    until = min(end, cutoff + timedelta(microseconds=1)) if cutoff is not None else end
    plans = await repo.plans_to_project(conn, [plan_id for plan_id, _, _ in chunk])
    latest = await occurrences.latest_of_plans(
        conn, [p.id for p in plans if p.schedule.next_due_at is None]
    )
    for plan in plans:
        trigger = load(plan.trigger_kind, plan.trigger)
        if not isinstance(trigger, CalendarTrigger):
            continue
        first = plan.schedule.next_due_at or _after_open(trigger, latest.get(plan.id), tz)
        if first is None:
            continue
        if last is not None and (False, max(first, now), plan.title, str(plan.id)) > last:
            # even its next comes after the last item kept: nothing of it can be kept
            truncated = truncated or first < end
            continue
        if first >= until:
            dues = []
        elif now <= first and until - first < _shortest(trigger):
            dues = [first]  # the next after it is past the last item kept
        else:
            dues = projection(trigger, first, now, until, tz)
        for due in dues:
            key = (False, due, plan.title, str(plan.id))
            kept.append((key, partial(_calendar_item, plan, trigger, due, tz)))
        if until < end and not truncated and _more(trigger, first, dues, end, tz):
            truncated = True  # an occurrence after the last one kept, in the window
    return _cut(kept) or truncated


def _shortest(trigger: CalendarTrigger) -> timedelta:
    """Less than any time between two of the trigger's occurrences (a day of 23 hours when the
    clocks change, a month of 28 days)."""
    days = {Unit.DAYS: 1, Unit.WEEKS: 7, Unit.MONTHS: 28, Unit.YEARS: 365}[trigger.unit]
    return timedelta(days=days * trigger.every) - timedelta(hours=2)


def _more(
    trigger: CalendarTrigger, first: datetime, dues: list[datetime], end: datetime, tz: ZoneInfo
) -> bool:
    """Whether the plan has an occurrence after ``dues`` (those projected) before ``end``."""
    if not dues:
        return first < end
    last = dues[-1]
    floating = trigger.mode is Mode.FLOATING  # projected as if completed on its due date
    following = next_due(trigger, last, last if floating else None, tz)
    return following is not None and following < end


def _built(item: contract.ForecastItem, now: datetime) -> Candidate:
    key = (item.due_at is None, item.due_at or now, item.title, str(item.plan_id))
    return key, lambda: item


def _calendar_item(
    plan: PlanRecord, trigger: CalendarTrigger, due: datetime, tz: ZoneInfo
) -> contract.ForecastItem:
    return _item(plan, due_at=due, opens_at=opening(trigger, due, tz))


def _cut(kept: list[Candidate]) -> bool:
    """Sort ``kept`` and keep the soonest ``MAX_ITEMS``; whether any were left out."""
    kept.sort(key=lambda candidate: candidate[0])
    if len(kept) <= MAX_ITEMS:
        return False
    del kept[MAX_ITEMS:]
    return True


def _cutoff(kept: list[Candidate]) -> datetime | None:
    """The due time past which nothing more can be kept (None while there is room, or while
    undated meter items could still be displaced)."""
    if len(kept) < MAX_ITEMS:
        return None
    undated, due, _, _ = kept[-1][0]
    return None if undated else due


def _recorded(plan: PlanRecord, occurrence: OccurrenceRecord) -> contract.ForecastItem:
    return _item(
        plan,
        due_at=occurrence.due_at,
        opens_at=occurrence.opens_at,
        status=occurrence.status,
        work_order_id=occurrence.work_order_id,
    )


def _after_open(
    trigger: CalendarTrigger, latest: OccurrenceRecord | None, tz: ZoneInfo
) -> datetime | None:
    """A floating plan whose latest order is open: its next, as if completed on its due date."""
    if latest is None or latest.due_at is None:
        return None
    return next_due(trigger, latest.due_at, latest.due_at, tz)


def _meter_item(
    plan: PlanRecord,
    trigger: MeterTrigger,
    meter: meters.MeterRecord,
    since: dict[UUID, meters.ReadingRecord],
    now: datetime,
) -> contract.ForecastItem:
    base = plan.schedule.meter_base if plan.schedule.meter_base is not None else Decimal(0)
    threshold = usage.next_threshold(trigger, base, meter.last_value)
    current = meter.last_value if meter.last_value is not None else base
    expected: datetime | None = None
    if meter.last_value is not None and meter.last_read_at is not None:
        newest = usage.Sample(meter.last_value, meter.last_read_at)
        oldest = since.get(meter.id)
        if oldest is not None:
            rate = usage.rate(usage.Sample(oldest.value, oldest.read_at), newest)
            expected = usage.expected_at(threshold, newest, rate)
    return _item(
        plan,
        due_at=max(expected, now) if expected is not None else None,
        threshold=float(threshold),
        units_to_go=float(max(threshold - current, Decimal(0))),
    )


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
