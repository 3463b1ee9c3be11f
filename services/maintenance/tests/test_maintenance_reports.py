"""Reading ahead and looking back: the forecast per organization, asset and assignee, the
overdue list and the PM KPIs."""

import base64
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from maintenance_support import Org, Stack, until

from rivet_contracts import ErrorCode, Events, Role, ServiceError
from rivet_contracts import maintenance as m
from rivet_contracts.auth import OrganizationUpdated
from rivet_contracts.workorders import WorkOrderStatus
from rivet_maintenance.reports import cursor
from rivet_maintenance.reports.cursor import METERED, PROJECTED, RECORDED, Key

T0 = datetime(2026, 11, 2, 6, tzinfo=UTC)  # a Monday


async def plan(stack: Stack, org: Org, trigger: Any, **more: Any) -> m.PlanView:
    body: dict[str, Any] = {
        "equipment_id": str(more.pop("asset", None) or stack.peers.asset(org)),
        "title": more.pop("title", "Check"),
        "trigger": trigger,
    }
    view: m.PlanView = await stack.call(
        m.CREATE_PLAN, m.CreatePlan.model_validate(body | more), org.identity()
    )
    return view


async def pages(
    stack: Stack, org: Org, limit: int, clock: list[datetime] | None = None, **query: Any
) -> list[m.Forecast]:
    """Every page of a forecast, following ``next_cursor`` (the clock moved on to the next of
    ``clock`` before each later page)."""
    found = [await stack.call(m.FORECAST, m.GetForecast(limit=limit, **query), org.identity())]
    moments = iter(clock or [])
    while found[-1].next_cursor is not None:
        assert len(found[-1].items) == limit  # only the last page is short
        if (moment := next(moments, None)) is not None:
            stack.state.clock.freeze(moment)
        request = m.GetForecast(limit=limit, cursor=found[-1].next_cursor, **query)
        found.append(await stack.call(m.FORECAST, request, org.identity()))
        assert len(found) < 500
    return found


def sequence(found: list[m.Forecast]) -> list[tuple[Any, ...]]:
    """The items as (due, plan, recorded, threshold) (a recorded one's order may be opened
    between two pages: its status moves on)."""
    return [
        (i.due_at, i.plan_id, i.status is not None, i.threshold)
        for page in found
        for i in page.items
    ]


async def test_a_long_forecast_is_the_soonest_items_first_whatever_order_plans_were_made_in(
    stack: Stack, org: Org
) -> None:
    """The first page is the soonest items, also when the plans made first come due last;
    items due at the same time are in the order of their plans."""
    stack.state.clock.freeze(T0 - timedelta(days=1))
    late = await plan(stack, org, weekly(first_due=date(2026, 11, 20)), title="Late")
    daily = [
        await plan(stack, org, weekly(unit="days", first_due=date(2026, 11, 3)), title=f"D{n}")
        for n in range(5)
    ]
    stack.state.clock.freeze(T0)
    first = await stack.call(m.FORECAST, m.GetForecast(days=30, limit=10), org.identity())
    by_plan = sorted(p.id for p in daily)
    assert [(i.due_at, i.plan_id) for i in first.items] == [
        (T0 + timedelta(days=day), plan_id) for day in (1, 2) for plan_id in by_plan
    ]
    assert first.next_cursor is not None
    short = await stack.call(m.FORECAST, m.GetForecast(days=2), org.identity())
    assert ([i.plan_id for i in short.items], short.next_cursor) == (by_plan, None)
    full = await stack.call(m.FORECAST, m.GetForecast(days=3, limit=10), org.identity())
    assert (len(full.items), full.next_cursor) == (10, None)  # exactly a page: no next one
    everything = await stack.call(m.FORECAST, m.GetForecast(days=30, limit=500), org.identity())
    assert len(everything.items) == 5 * 29 + 2  # the late weekly plan: 20 and 27 November
    assert {i.due_at for i in everything.items if i.plan_id == late.id} == {
        T0 + timedelta(days=18),
        T0 + timedelta(days=25),
    }


async def test_paging_through_recurring_plans_gives_the_sequence_of_one_big_page(
    stack: Stack, org: Org
) -> None:
    """Pages of any size, followed by their cursors, are the one big page cut in pieces: no
    item twice, none left out, in order - with plans that come due many times in the window
    (daily, every other day, weekly, monthly, floating with an open order, one behind its
    schedule), recorded occurrences and a meter plan; per organization, asset and assignee."""
    stack.state.clock.freeze(T0 - timedelta(days=1))
    asset = stack.peers.asset(org)
    hours = await stack.call(
        m.CREATE_METER,
        m.CreateMeter(equipment_id=str(asset), name="Hours", kind="counter", unit="h"),
        org.identity(),
    )
    for day, value in ((0, 100), (10, 340)):  # 24 h a day: 500 h a week after T0
        await stack.call(
            m.RECORD_READING,
            m.RecordReading(meter_id=hours.id, value=value, read_at=T0 - timedelta(days=30 - day)),
            org.identity(),
        )
    meter = m.MeterTrigger(kind="meter", meter_id=hours.id, every=500, base=0)
    await plan(stack, org, meter, asset=asset, title="Meter")
    far = m.MeterTrigger(kind="meter", meter_id=hours.id, every=100_000, base=0)
    await plan(stack, org, far, asset=asset, title="Far meter")  # due beyond the window
    cold = await stack.call(
        m.CREATE_METER,
        m.CreateMeter(equipment_id=str(asset), name="Cycles", kind="counter", unit="cycles"),
        org.identity(),
    )
    undated = m.MeterTrigger(kind="meter", meter_id=cold.id, every=10, base=0)
    await plan(stack, org, undated, asset=asset, title="No readings")  # undated: last
    mine = {"assignee_id": org.technician_id}
    for n, (every, unit, mode) in enumerate(
        [
            (1, "days", "fixed"),
            (1, "days", "fixed"),
            (1, "days", "floating"),
            (2, "days", "fixed"),
            (3, "days", "floating"),
            (1, "weeks", "fixed"),
            (2, "weeks", "floating"),
            (1, "months", "fixed"),
        ]
    ):
        trigger = weekly(every=every, unit=unit, mode=mode, first_due=date(2026, 11, 2))
        extra = mine if n % 3 == 0 else {}
        await plan(stack, org, trigger, title=f"Plan {n}", asset=asset if n < 4 else None, **extra)
    ahead = weekly(first_due=date(2026, 11, 5), lead_hours=72)
    await plan(stack, org, ahead, title="Recorded ahead")
    stack.state.clock.freeze(T0)
    # the first occurrences are recorded: due at T0, and the one ahead's (its order opens now)
    await stack.run("schedule")
    # a day later with no pass since: the daily plans' next (the 3rd, 06:00) is behind
    stack.state.clock.freeze(T0 + timedelta(days=1, hours=1))
    for query in ({}, {"equipment_id": asset}, mine):
        whole = await pages(stack, org, 500, days=40, **query)
        (one,) = whole
        expected = sequence(whole)
        assert len(expected) == len(set(expected))
        keys = [(i.due_at is None, i.due_at or one.since, i.plan_id) for i in one.items]
        assert keys == sorted(keys)
        for limit in (1, 3, 7, 50):
            paged = await pages(stack, org, limit, days=40, **query)
            assert sequence(paged) == expected, (query, limit)
            assert {(p.since, p.until) for p in paged} == {(one.since, one.until)}
    whole = await pages(stack, org, 500, days=40)
    titles = [i.title for page in whole for i in page.items]
    assert titles[-1] == "No readings"
    assert "Far meter" not in titles
    assert titles.count("Plan 0") == 40
    assert titles.count("Plan 7") == 1
    (recorded,) = [i for i in whole[0].items if i.status is not None]  # those due at T0: before
    assert (recorded.title, recorded.due_at) == ("Recorded ahead", T0 + timedelta(days=3))
    assert titles.count("Recorded ahead") == 6  # the 5th (recorded), 12th, ... 10 December
    # the window is the first page's: later pages read it even as the clock moves on
    later = [T0 + timedelta(days=1, hours=1, minutes=n) for n in range(1, 200)]
    assert sequence(await pages(stack, org, 7, clock=later, days=40)) == sequence(whole)


async def test_recorded_occurrences_in_the_window_page_with_the_projected_ones(
    stack: Stack, org: Org
) -> None:
    """Open orders due in the window come once, with their status, before the same plans'
    projected occurrences; many due at the same time are paged by plan."""
    stack.state.clock.freeze(T0 - timedelta(days=5))
    made = []
    for n in range(6):
        lead = {"lead_hours": 72} if n % 2 else {}
        trigger = weekly(first_due=date(2026, 11, 4), **lead)
        made.append(await plan(stack, org, trigger, title=f"Lead {n}"))
    stack.state.clock.freeze(T0)
    await stack.run("schedule")  # the three with a lead open their orders (due on the 4th)
    whole = await pages(stack, org, 500, days=15)
    first = whole[0].items[:6]
    assert {i.due_at for i in first} == {datetime(2026, 11, 4, 6, tzinfo=UTC)}
    assert [i.plan_id for i in first] == sorted(p.id for p in made)
    assert {i.plan_id for i in first if i.status is not None} == {p.id for p in made[1::2]}
    assert len([i for i in whole[0].items if i.status is not None]) == 3
    assert len(whole[0].items) == 6 * 2  # the 4th and the 11th
    for limit in (1, 2, 4):
        assert sequence(await pages(stack, org, limit, days=15)) == sequence(whole)


async def test_a_cursor_that_is_not_this_forecasts_is_refused_and_the_limit_is_bounded(
    stack: Stack, org: Org
) -> None:
    stack.state.clock.freeze(T0 - timedelta(days=1))
    asset = stack.peers.asset(org)
    for n in range(3):
        await plan(stack, org, weekly(unit="days"), title=f"Daily {n}", asset=asset)
    stack.state.clock.freeze(T0)
    first = await stack.call(m.FORECAST, m.GetForecast(days=10, limit=2), org.identity())
    good = first.next_cursor
    assert good is not None
    assert len(first.items) == 2
    other = Org()
    foreign = [
        (org, m.GetForecast(days=11, limit=2, cursor=good)),  # other days
        (org, m.GetForecast(days=10, equipment_id=asset, cursor=good)),  # other filters
        (org, m.GetForecast(cursor=good)),  # the default days (90)
        (other, m.GetForecast(days=10, limit=2, cursor=good)),  # another organization
    ]
    malformed = [
        "nonsense",
        "f1.",
        "f1.!!!",
        "f1." + base64.urlsafe_b64encode(b"[1, 2]").decode(),
        "f1." + base64.urlsafe_b64encode(b'{"s": "x", "t": 1, "p": "", "k": 1}').decode(),
        "f1." + base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        good[:-4],
        good.replace("f1.", "f2."),
    ]
    requests = foreign + [(org, m.GetForecast(days=10, cursor=bad)) for bad in malformed]
    for who, request in requests:
        with pytest.raises(ServiceError) as caught:
            await stack.call(m.FORECAST, request, who.identity(Role.VIEWER))
        error = caught.value
        assert error.code is ErrorCode.VALIDATION, (request.cursor, error)
        details = error.info.details
        assert isinstance(details, list), details
        assert details[0]["loc"] == ["cursor"], details
        assert "cursor" in error.info.message
    # a cursor too long for one is refused before it is read
    with pytest.raises(ValueError, match="cursor"):
        m.GetForecast(cursor="f1." + "A" * 300)
    for limit in (0, 501):
        with pytest.raises(ValueError, match="limit"):
            m.GetForecast(limit=limit)
    assert m.GetForecast().limit == 100
    biggest = await stack.call(m.FORECAST, m.GetForecast(days=366, limit=500), org.identity())
    assert len(biggest.items) == 500
    assert biggest.next_cursor is not None
    with pytest.raises(ServiceError):
        await stack.call(m.FORECAST, m.GetForecast.model_construct(limit=501), org.identity())


async def stored(stack: Stack, org: Org, plan_id: Any) -> bool:
    """The plan's occurrences have their orders opened and the answers stored (the fake
    work-order service knows an order a moment before the maintenance service has stored it)."""
    view = await stack.call(m.GET_PLAN, m.GetPlan(plan_id=plan_id), org.identity())
    return bool(view.occurrences) and all(
        o.status is m.OccurrenceStatus.OPEN for o in view.occurrences or []
    )


def weekly(**more: Any) -> m.CalendarTrigger:
    values: dict[str, Any] = {
        "kind": "calendar",
        "every": 1,
        "unit": "weeks",
        "first_due": date(2026, 11, 2),
    }
    return m.CalendarTrigger.model_validate(values | more)


async def test_the_forecast_of_calendar_and_meter_plans(stack: Stack, org: Org) -> None:
    stack.state.clock.freeze(T0 - timedelta(days=1))
    asset = stack.peers.asset(org)
    hours = await stack.call(
        m.CREATE_METER,
        m.CreateMeter(equipment_id=str(asset), name="Hours", kind="counter", unit="h"),
        org.identity(),
    )
    for day, value in ((0, 100), (10, 340)):  # 24 h a day
        at = T0 - timedelta(days=30 - day)
        await stack.call(
            m.RECORD_READING,
            m.RecordReading(meter_id=hours.id, value=value, read_at=at),
            org.identity(),
        )
    fixed = await plan(
        stack, org, weekly(), asset=asset, title="Fixed", assignee_id=org.technician_id
    )
    floating = await plan(stack, org, weekly(mode="floating"), title="Floating")
    await plan(
        stack,
        org,
        m.MeterTrigger(kind="meter", meter_id=hours.id, every=500, base=0),
        asset=asset,
        title="Meter",
    )
    stack.state.clock.freeze(T0)
    await stack.run("schedule")  # both calendar plans' first occurrences open now

    for p in (fixed, floating):
        await until(lambda p=p: stored(stack, org, p.id), what="orders")
    ahead = await stack.call(m.FORECAST, m.GetForecast(days=22), org.identity())
    assert (ahead.since, ahead.until, ahead.days) == (T0, T0 + timedelta(days=22), 22)
    by_title: dict[str, list[m.ForecastItem]] = {}
    for item in ahead.items:
        by_title.setdefault(item.title, []).append(item)
    assert [(i.due_at, i.status) for i in by_title["Fixed"]] == [
        (T0, m.OccurrenceStatus.OPEN),
        (T0 + timedelta(days=7), None),
        (T0 + timedelta(days=14), None),
        (T0 + timedelta(days=21), None),
    ]
    # floating: its open one, then projected as if completed on time
    assert [i.due_at for i in by_title["Floating"]] == [
        T0 + timedelta(days=k) for k in (0, 7, 14, 21)
    ]
    (meter_item,) = by_title["Meter"]
    # 340 h ten days before the start of this, 24 h a day: 500 h in 6 2/3 days from then
    assert meter_item.threshold == 500
    assert meter_item.units_to_go == 160
    assert meter_item.due_at is not None
    expected = T0 - timedelta(days=20) + timedelta(days=160 / 24)
    assert abs((meter_item.due_at - max(expected, T0)).total_seconds()) < 1
    mine = await stack.call(
        m.FORECAST, m.GetForecast(days=22, assignee_id=org.technician_id), org.identity()
    )
    assert {i.title for i in mine.items} == {"Fixed"}
    on_asset = await stack.call(
        m.FORECAST, m.GetForecast(days=22, equipment_id=asset), org.identity()
    )
    assert {i.title for i in on_asset.items} == {"Fixed", "Meter"}
    with pytest.raises(ValueError, match="366"):
        m.GetForecast(days=367)
    with pytest.raises(ServiceError):
        await stack.call(m.FORECAST, m.GetForecast.model_construct(days=367), org.identity())


async def test_overdue_and_compliance(stack: Stack, org: Org) -> None:
    stack.state.clock.freeze(T0 - timedelta(days=1))
    on_time = await plan(stack, org, weekly(), title="On time")
    late = await plan(stack, org, weekly(), title="Late")
    left = await plan(stack, org, weekly(), title="Left open")
    stack.state.clock.freeze(T0)
    await stack.run("schedule")
    for p in (on_time, late, left):
        await until(lambda p=p: stored(stack, org, p.id), what="orders")
    (first,) = stack.peers.orders_of(on_time.id)
    (second,) = stack.peers.orders_of(late.id)
    # grace: 10 % of a week, 16.8 hours
    done = await stack.order_status(first, WorkOrderStatus.COMPLETED, T0 + timedelta(hours=10))
    await stack.applied(done, "maintenance-orders")
    done = await stack.order_status(second, WorkOrderStatus.COMPLETED, T0 + timedelta(days=2))
    await stack.applied(done, "maintenance-orders")
    stack.state.clock.freeze(T0 + timedelta(days=3))
    overdue = await stack.call(m.OVERDUE, m.ListOverdue(), org.identity())
    (item,) = overdue.items
    assert (item.title, item.overdue_hours, item.beyond_grace) == ("Left open", 72.0, True)
    kpis = await stack.call(m.KPIS, m.GetPmKpis(days=7), org.identity())
    assert (kpis.compliance.due, kpis.compliance.on_time, kpis.compliance.pending) == (3, 1, 0)
    assert kpis.compliance.percent == pytest.approx(33.3)
    assert (kpis.overdue, kpis.open) == (1, 1)
    # within the grace, an order not done yet is pending, not missed
    stack.state.clock.freeze(T0 + timedelta(hours=12))
    early = await stack.call(m.KPIS, m.GetPmKpis(days=7), org.identity())
    # (a completion after the moment asked about is not known then)
    assert (early.compliance.due, early.compliance.on_time, early.compliance.pending) == (
        1,
        1,
        2,
    )


SPRING = (  # 02:30 is skipped on 28 March: read as 03:30 summer time
    datetime(2027, 3, 25, 12, tzinfo=UTC),
    [
        datetime(2027, 3, 27, 1, 30),
        datetime(2027, 3, 28, 1, 30),
        datetime(2027, 3, 29, 0, 30),
        datetime(2027, 3, 30, 0, 30),
    ],
)
AUTUMN = (  # 02:30 happens twice on 31 October: the first, in summer time
    datetime(2027, 10, 28, 12, tzinfo=UTC),
    [
        datetime(2027, 10, 30, 0, 30),
        datetime(2027, 10, 31, 0, 30),
        datetime(2027, 11, 1, 1, 30),
        datetime(2027, 11, 2, 1, 30),
    ],
)


@pytest.mark.parametrize(("now", "nights"), [SPRING, AUTUMN], ids=["spring", "autumn"])
async def test_paging_across_a_change_of_the_clocks(
    stack: Stack, org: Org, now: datetime, nights: list[datetime]
) -> None:
    """Plans due at a local time the clocks skip or repeat, floating ones counted from an
    open order (their next is estimated by PostgreSQL, which reads a repeated time as the
    later one, and computed again exactly): pages neither repeat nor skip those due at the
    same instant."""
    update = OrganizationUpdated(
        org_id=org.id,
        name="Plant",
        time_zone="Europe/Berlin",
        working_hours_per_week=40,
        changed_by=org.admin_id,
    )
    envelope = await stack.publish(Events.ORGANIZATION_UPDATED, update, org.id)
    await stack.applied(envelope, "maintenance-organization-updated")
    stack.state.clock.freeze(now)
    for n in range(12):  # five fixed and five floating daily, one of each every other day
        trigger = weekly(
            every=1 if n < 10 else 2,
            unit="days",
            mode="floating" if n % 2 else "fixed",
            first_due=(now + timedelta(days=2)).date(),
            at="02:30",
            lead_hours=48,
        )
        await plan(stack, org, trigger, title=f"Night {n}")
    await stack.run("schedule")  # the first ones are recorded; the floating ones wait
    whole = await pages(stack, org, 500, days=5)
    (one,) = whole
    night = [i.due_at for i in one.items if i.title == "Night 1"]
    assert night == [at.replace(tzinfo=UTC) for at in nights]
    for limit in (1, 2, 3, 4):
        assert sequence(await pages(stack, org, limit, days=5)) == sequence(whole), limit


def _key(item: m.ForecastItem, since: datetime) -> Key:
    source = RECORDED if item.status is not None else METERED if item.threshold else PROJECTED
    return (item.due_at is None, item.due_at or since, item.plan_id, source)


async def test_a_page_far_into_the_window_is_the_one_big_pages_items_from_its_cursor(
    stack: Stack, org: Org
) -> None:
    """A cursor months into the window (as a client that paged that far holds) gives the items
    of the one big page after it, and the pages after it the rest: with plans whose only
    occurrence in the window is late in it, month ends (a fixed plan of the 31st in months of
    30 and 28 days), a floating monthly plan that moves from the 31st to the 28th, a floating
    plan waiting on its open order and an assignee's and an asset's plans among them."""
    stack.state.clock.freeze(T0 - timedelta(days=1))
    asset = stack.peers.asset(org)
    mine = {"assignee_id": org.technician_id}
    triggers: list[tuple[m.CalendarTrigger, dict[str, Any]]] = [
        (weekly(unit="days", first_due=date(2026, 11, 3)), {"asset": asset}),
        (weekly(unit="days", first_due=date(2026, 11, 3), at="05:00"), mine),
        (weekly(every=3, unit="days", mode="floating", first_due=date(2026, 11, 4)), {}),
        (weekly(first_due=date(2026, 11, 2), lead_hours=24, mode="floating"), {}),  # waits
        (weekly(every=2, first_due=date(2026, 11, 9)), mine | {"asset": asset}),
        (weekly(unit="months", first_due=date(2026, 10, 31)), {}),  # 30 Nov, 31 Dec, ...
        (weekly(unit="months", mode="floating", first_due=date(2026, 12, 31)), mine),
        (weekly(every=3, unit="months", first_due=date(2027, 2, 10)), {}),  # late: once
        (weekly(unit="years", first_due=date(2027, 2, 26), at="23:59"), {"asset": asset}),
        (weekly(every=9, unit="weeks", first_due=date(2027, 1, 18)), mine),  # once, day 77
    ]
    late = []
    for n, (trigger, more) in enumerate(triggers):
        made = await plan(stack, org, trigger, title=f"Plan {n}", **more)
        if n in (7, 8, 9):
            late.append(made.id)
    stack.state.clock.freeze(T0)
    await stack.run("schedule")  # the weekly floating one's order opens: it waits on it
    days = 120
    for query in ({}, mine, {"equipment_id": asset}):
        (whole,) = await pages(stack, org, 500, days=days, **query)
        items = whole.items
        assert len(items) > 20
        if not query:
            ids = [i.plan_id for i in items]
            assert [ids.count(plan_id) for plan_id in late] == [1, 1, 1]
            assert {i.plan_id for i in items[len(items) // 2 :]} >= set(late)
            dues = sorted(i.due_at for i in items if i.title == "Plan 6" and i.due_at)
            assert [d.date() for d in dues] == [
                date(2026, 12, 31), date(2027, 1, 31), date(2027, 2, 28)
            ]  # fmt: skip
            dues = sorted(i.due_at for i in items if i.title == "Plan 5" and i.due_at)
            assert [d.date() for d in dues] == [
                date(2026, 11, 30), date(2026, 12, 31), date(2027, 1, 31), date(2027, 2, 28)
            ]  # fmt: skip
        of = cursor.digest(org.id, days, query.get("equipment_id"), query.get("assignee_id"))
        for at in sorted({len(items) // 2, len(items) * 3 // 4, len(items) - 5, len(items) - 2}):
            deep = cursor.encode(whole.since, _key(items[at - 1], whole.since), of)
            request = m.GetForecast(days=days, limit=3, cursor=deep, **query)
            page = await stack.call(m.FORECAST, request, org.identity())
            assert page.items == items[at : at + 3], (query, at)
            assert (page.since, page.until) == (whole.since, whole.until)
            rest = [page]
            while rest[-1].next_cursor is not None:
                request = m.GetForecast(days=days, limit=3, cursor=rest[-1].next_cursor, **query)
                rest.append(await stack.call(m.FORECAST, request, org.identity()))
            assert sequence(rest) == sequence([whole])[at:], (query, at)


async def test_a_plan_waiting_on_its_open_order_is_forecast_in_the_organizations_new_zone(
    stack: Stack, org: Org
) -> None:
    """A floating plan whose order is open is forecast from one interval after that order's
    local due date: in the organization's zone once it changes (its stored place in its cycle
    is computed again), not in the zone it was recorded in."""
    stack.state.clock.freeze(T0 - timedelta(days=1))
    trigger = weekly(unit="days", mode="floating", first_due=date(2026, 11, 2), at="23:30",
                     lead_hours=24)  # fmt: skip
    made = await plan(stack, org, trigger, title="Night")
    stack.state.clock.freeze(T0)
    await stack.run("schedule")  # due 2 November 23:30 UTC: its order opens now
    before = await stack.call(m.FORECAST, m.GetForecast(days=5), org.identity())
    dues = [i.due_at for i in before.items if i.plan_id == made.id and i.status is None]
    assert dues[0] == datetime(2026, 11, 3, 23, 30, tzinfo=UTC)
    update = OrganizationUpdated(
        org_id=org.id,
        name="Plant",
        time_zone="Pacific/Kiritimati",  # UTC+14: the order is due 3 November 13:30 there
        working_hours_per_week=40,
        changed_by=org.admin_id,
    )
    envelope = await stack.publish(Events.ORGANIZATION_UPDATED, update, org.id)
    await stack.applied(envelope, "maintenance-organization-updated")
    after = await stack.call(m.FORECAST, m.GetForecast(days=5), org.identity())
    dues = [i.due_at for i in after.items if i.plan_id == made.id and i.status is None]
    assert dues[:2] == [  # 4 and 5 November 23:30 in Kiritimati
        datetime(2026, 11, 4, 9, 30, tzinfo=UTC),
        datetime(2026, 11, 5, 9, 30, tzinfo=UTC),
    ]
