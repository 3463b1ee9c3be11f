"""PM compliance: the 10 % grace and its edges, pending orders, PMP, the overdue list."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from rivet_maintenance.schedule.calendar import CalendarTrigger, Unit, interval_before
from rivet_maintenance.schedule.compliance import (
    Compliance,
    PmOrder,
    grace,
    meter_on_time,
    on_time,
    overdue,
    planned_percentage,
    pm_compliance,
)
from rivet_maintenance.schedule.errors import ScheduleError

DUE = datetime(2026, 3, 1, tzinfo=UTC)
MONTH = timedelta(days=30)  # grace: 3 days
TICK = timedelta(microseconds=1)


def order(key: str, due: datetime, completed: datetime | None = None) -> PmOrder:
    return PmOrder(key, due, MONTH, completed)


def test_the_grace_is_a_tenth_of_the_interval() -> None:
    assert grace(MONTH) == timedelta(days=3)
    assert grace(timedelta(days=365)) == timedelta(days=36, hours=12)
    assert grace(timedelta(days=7)) == timedelta(hours=16, minutes=48)
    with pytest.raises(ScheduleError) as refused:
        grace(timedelta(0))
    assert refused.value.reason == "interval"


def test_on_time_up_to_and_including_the_deadline() -> None:
    deadline = DUE + timedelta(days=3)
    assert order("a", DUE).deadline == deadline
    assert on_time(order("early", DUE, DUE - timedelta(days=5)))
    assert on_time(order("on due", DUE, DUE))
    assert on_time(order("in grace", DUE, deadline))
    assert not on_time(order("late", DUE, deadline + TICK))
    assert not on_time(order("open", DUE))


def test_the_grace_of_a_real_monthly_plan() -> None:
    """Due 30 April, 06:00 in Berlin: the interval from 30 March is 31 days, the grace 3.1."""
    berlin = ZoneInfo("Europe/Berlin")
    monthly = CalendarTrigger(1, Unit.MONTHS, date(2026, 1, 31))
    due = datetime(2026, 4, 30, 4, tzinfo=UTC)
    interval = interval_before(monthly, due, berlin)
    assert interval == timedelta(days=31)
    pm = PmOrder("april", due, interval, due + timedelta(days=3, hours=2, minutes=24))
    assert pm.deadline == datetime(2026, 5, 3, 6, 24, tzinfo=UTC)
    assert on_time(pm)
    assert not on_time(PmOrder("april", due, interval, pm.deadline + TICK))


def test_meter_pm_grace_is_a_tenth_of_the_interval_in_units() -> None:
    assert meter_on_time(D(1500), D(500), D(1550))
    assert meter_on_time(D(1500), D(500), D(1400))
    assert not meter_on_time(D(1500), D(500), D("1550.01"))


def test_compliance_over_a_month() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    end = datetime(2026, 4, 1, tzinfo=UTC)
    as_of = datetime(2026, 3, 30, tzinfo=UTC)
    orders = [
        order("due at the start, on time", start, start + timedelta(days=1)),
        order("on the deadline", DUE + timedelta(days=5), DUE + timedelta(days=8)),
        order("late", DUE + timedelta(days=5), DUE + timedelta(days=8) + TICK),
        order("missed", DUE + timedelta(days=10)),
        order("open, in grace", datetime(2026, 3, 28, tzinfo=UTC)),
        # done on time, but after as_of: not known yet
        order("done later", datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC)),
        order("due at the end", end, end),
        order("February", start - TICK, start),
    ]
    got = pm_compliance(orders, start, end, as_of)
    assert got == Compliance(due=4, on_time=2, pending=2)
    assert got.percent == 50.0
    # a week later everything is known: the open one is missed, the late-known one on time
    later = pm_compliance(orders, start, end, datetime(2026, 4, 7, tzinfo=UTC))
    assert later == Compliance(due=6, on_time=3, pending=0)
    assert later.percent == 50.0


def test_pending_ends_at_the_deadline() -> None:
    pm = order("x", DUE)
    window = (DUE - timedelta(days=1), DUE + timedelta(days=1))
    assert pm_compliance([pm], *window, DUE + timedelta(days=3)) == Compliance(0, 0, 1)
    assert pm_compliance([pm], *window, DUE + timedelta(days=3) + TICK) == Compliance(1, 0, 0)


def test_compliance_with_nothing_due_has_no_percentage() -> None:
    got = pm_compliance([], DUE, DUE + MONTH, DUE)
    assert got == Compliance(0, 0, 0)
    assert got.percent is None


def test_planned_maintenance_percentage() -> None:
    assert planned_percentage(30, 40) == 75.0
    assert planned_percentage(0, 12.5) == 0.0
    assert planned_percentage(0, 0) is None
    for planned, total in ((50, 40), (-1, 40), (1, -1)):
        with pytest.raises(ScheduleError) as refused:
            planned_percentage(planned, total)
        assert refused.value.reason == "hours"


def test_the_overdue_list_at_an_instant() -> None:
    at = datetime(2026, 3, 10, 12, tzinfo=UTC)
    orders = [
        order("b", DUE + timedelta(days=8)),  # a day and a half overdue, within its grace
        order("done", DUE, DUE + timedelta(days=2)),
        order("done after", DUE, at + timedelta(hours=1)),  # open at `at`
        order("a", DUE + timedelta(days=8)),
        order("due now", at),
        order("future", at + timedelta(days=1)),
    ]
    got = overdue(orders, at)
    assert [(o.order.key, o.by, o.beyond_grace) for o in got] == [
        ("done after", timedelta(days=9, hours=12), True),
        ("a", timedelta(days=1, hours=12), False),
        ("b", timedelta(days=1, hours=12), False),
    ]
    assert overdue(orders, DUE) == []
