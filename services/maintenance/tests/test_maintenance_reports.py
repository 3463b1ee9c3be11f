"""Reading ahead and looking back: the forecast per organization, asset and assignee, the
overdue list and the PM KPIs."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from maintenance_support import Org, Stack, until

from rivet_contracts import ServiceError
from rivet_contracts import maintenance as m
from rivet_contracts.workorders import WorkOrderStatus

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


async def test_a_long_forecast_holds_the_soonest_items_whatever_order_plans_were_made_in(
    stack: Stack, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More occurrences than one answer holds: the answer is the soonest ones, also when
    the plans made first come due last (the forecast used to keep the first plans' items,
    in the order the plans were made, and leave out sooner ones of later plans)."""
    from rivet_maintenance.reports import service

    monkeypatch.setattr(service, "MAX_ITEMS", 10)
    monkeypatch.setattr(service, "CHUNK", 2, raising=False)
    stack.state.clock.freeze(T0 - timedelta(days=1))
    await plan(stack, org, weekly(first_due=date(2026, 11, 20)), title="Late")
    for n in range(5):
        daily = weekly(unit="days", first_due=date(2026, 11, 3))
        await plan(stack, org, daily, title=f"Daily {n}")
    stack.state.clock.freeze(T0)
    ahead = await stack.call(m.FORECAST, m.GetForecast(days=30), org.identity())
    assert ahead.truncated
    assert [(i.due_at, i.title) for i in ahead.items] == [
        (T0 + timedelta(days=day), f"Daily {n}") for day in (1, 2) for n in range(5)
    ]
    short = await stack.call(m.FORECAST, m.GetForecast(days=2), org.identity())
    assert not short.truncated
    assert [i.title for i in short.items] == [f"Daily {n}" for n in range(5)]
    full = await stack.call(m.FORECAST, m.GetForecast(days=3), org.identity())
    assert (len(full.items), full.truncated) == (10, False)  # exactly as many as it holds


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
