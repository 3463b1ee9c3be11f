"""Calendar triggers: month ends, leap days, DST changes, fixed against floating, lead times.

Expected instants are worked out by hand (offsets: CET +1, CEST +2, EST -5, EDT -4; 2026's
changes in tests/test_schedule_localtime.py).
"""

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta

from rivet_maintenance.schedule import calendar
from rivet_maintenance.schedule.calendar import (
    MAX_OCCURRENCES,
    CalendarTrigger,
    Mode,
    Unit,
    interval_before,
    next_due,
    occurrences,
    opens_at,
)
from rivet_maintenance.schedule.errors import ScheduleError
from rivet_maintenance.schedule.localtime import local_instant

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
Z = ZoneInfo("UTC")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def fixed(every: int, unit: Unit, anchor: date, **more: Any) -> CalendarTrigger:
    return CalendarTrigger(every, unit, anchor, Mode.FIXED, **more)


def floating(every: int, unit: Unit, anchor: date, **more: Any) -> CalendarTrigger:
    return CalendarTrigger(every, unit, anchor, Mode.FLOATING, **more)


# --- month ends and leap days ---------------------------------------------------------------


def test_every_three_months_from_31_january_keeps_the_31st_where_the_month_has_it() -> None:
    trigger = fixed(3, Unit.MONTHS, date(2026, 1, 31))
    got = occurrences(trigger, utc(2026, 1, 1), utc(2027, 2, 1), Z)
    assert got == [
        utc(2026, 1, 31, 6),
        utc(2026, 4, 30, 6),
        utc(2026, 7, 31, 6),
        utc(2026, 10, 31, 6),
        utc(2027, 1, 31, 6),
    ]


def test_monthly_from_31_january_clamps_february_and_returns_to_the_31st() -> None:
    trigger = fixed(1, Unit.MONTHS, date(2027, 12, 31))
    got = occurrences(trigger, utc(2028, 1, 1), utc(2028, 5, 1), Z)
    assert [d.date() for d in got] == [
        date(2028, 1, 31),
        date(2028, 2, 29),  # leap year
        date(2028, 3, 31),
        date(2028, 4, 30),
    ]
    assert next_due(trigger, utc(2028, 2, 29, 6), None, Z) == utc(2028, 3, 31, 6)


def test_every_first_of_the_month() -> None:
    trigger = fixed(1, Unit.MONTHS, date(2026, 1, 1), at=time(7, 30))
    assert next_due(trigger, utc(2026, 3, 1, 7, 30), None, Z) == utc(2026, 4, 1, 7, 30)
    assert next_due(trigger, utc(2026, 3, 1, 7, 29), None, Z) == utc(2026, 3, 1, 7, 30)
    assert next_due(trigger, utc(2026, 3, 17), None, Z) == utc(2026, 4, 1, 7, 30)


def test_yearly_from_29_february_is_28_february_in_common_years() -> None:
    trigger = fixed(1, Unit.YEARS, date(2024, 2, 29))
    got = occurrences(trigger, utc(2024, 1, 1), utc(2029, 1, 1), Z)
    assert [d.date() for d in got] == [
        date(2024, 2, 29),
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
    ]


# --- next_due and the forecast ----------------------------------------------------------------


def test_next_due_is_strictly_after_and_the_anchor_first() -> None:
    trigger = fixed(2, Unit.WEEKS, date(2026, 6, 1))  # a Monday
    assert next_due(trigger, None, None, Z) == utc(2026, 6, 1, 6)
    assert next_due(trigger, utc(2026, 6, 1, 6), None, Z) == utc(2026, 6, 15, 6)
    assert next_due(trigger, utc(2026, 5, 1), None, Z) == utc(2026, 6, 1, 6)
    # completions do not move a fixed plan
    assert next_due(trigger, utc(2026, 6, 1, 6), utc(2026, 6, 12), Z) == utc(2026, 6, 15, 6)


def test_next_due_far_from_the_anchor() -> None:
    daily = fixed(1, Unit.DAYS, date(2026, 1, 1))
    assert next_due(daily, utc(2036, 5, 17, 12), None, Z) == utc(2036, 5, 18, 6)
    five_months = fixed(5, Unit.MONTHS, date(2026, 1, 31))
    # 2026-01-31 + 45 months = 2029-10-31; + 50 months = 2030-03-31
    assert next_due(five_months, utc(2030, 1, 1), None, Z) == utc(2030, 3, 31, 6)
    assert next_due(five_months, utc(2029, 10, 31, 5), None, Z) == utc(2029, 10, 31, 6)


@pytest.mark.parametrize(
    ("trigger", "after"),
    [
        (fixed(1, Unit.DAYS, date(2026, 1, 1)), utc(2125, 7, 9, 12)),
        (fixed(1, Unit.MONTHS, date(2026, 1, 31)), utc(2125, 7, 9, 12)),
        (fixed(1, Unit.YEARS, date(2024, 2, 29)), utc(2123, 3, 1)),
    ],
)
def test_next_due_far_from_the_anchor_takes_a_few_steps(
    trigger: CalendarTrigger, after: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A century of daily occurrences is not walked one by one: the search starts next to the
    answer."""
    steps = []

    def counted(day: date, at: time, tz: ZoneInfo) -> datetime:
        steps.append(day)
        return local_instant(day, at, tz)

    monkeypatch.setattr(calendar, "local_instant", counted)
    due = next_due(trigger, after, None, BERLIN)
    assert due is not None
    assert due > after
    assert due - after < timedelta(days=366)
    assert len(steps) <= 4


@pytest.mark.parametrize(
    ("every", "unit", "anchor"),
    [
        (1, Unit.DAYS, date(2026, 1, 1)),
        (10, Unit.DAYS, date(2026, 2, 28)),
        (3, Unit.WEEKS, date(2026, 3, 25)),
        (1, Unit.MONTHS, date(2026, 1, 31)),
        (7, Unit.MONTHS, date(2026, 8, 30)),
        (2, Unit.YEARS, date(2024, 2, 29)),
    ],
)
def test_next_due_agrees_with_walking_the_series(every: int, unit: Unit, anchor: date) -> None:
    """The search (an estimate, then a few steps) finds what walking every step finds, in a
    zone with DST changes, for instants all over ten years."""
    trigger = fixed(every, unit, anchor, at=time(2, 30))
    step = {
        Unit.DAYS: relativedelta(days=every),
        Unit.WEEKS: relativedelta(weeks=every),
        Unit.MONTHS: relativedelta(months=every),
        Unit.YEARS: relativedelta(years=every),
    }[unit]
    series = []
    k = 0
    while (day := anchor + k * step) < date(2037, 1, 1):
        series.append(datetime.combine(day, time(2, 30), BERLIN).astimezone(UTC))
        k += 1
    probe = utc(2025, 12, 1)
    while probe < utc(2036, 1, 1):
        expected = next(d for d in series if d > probe)
        assert next_due(trigger, probe, None, BERLIN) == expected, probe
        probe += timedelta(days=17, hours=5, minutes=7)


def test_the_forecast_is_start_inclusive_end_exclusive() -> None:
    trigger = fixed(1, Unit.DAYS, date(2026, 1, 1))
    assert occurrences(trigger, utc(2026, 1, 5, 6), utc(2026, 1, 8, 6), Z) == [
        utc(2026, 1, 5, 6),
        utc(2026, 1, 6, 6),
        utc(2026, 1, 7, 6),
    ]
    assert occurrences(trigger, utc(2025, 1, 1), utc(2026, 1, 1, 6), Z) == []
    assert len(occurrences(trigger, utc(2026, 1, 1), utc(2046, 1, 1), Z)) == MAX_OCCURRENCES


# --- DST ------------------------------------------------------------------------------------


def test_a_weekly_plan_stays_at_six_local_through_the_year_in_berlin() -> None:
    trigger = fixed(1, Unit.WEEKS, date(2026, 1, 5))  # Mondays
    got = occurrences(trigger, utc(2026, 1, 1), utc(2027, 1, 1), BERLIN)
    assert len(got) == 52
    assert {d.astimezone(BERLIN).time() for d in got} == {time(6)}
    assert {d.astimezone(BERLIN).weekday() for d in got} == {0}
    spring = [d for d in got if date(2026, 3, 20) < d.date() < date(2026, 4, 3)]
    assert spring == [utc(2026, 3, 23, 5), utc(2026, 3, 30, 4)]
    autumn = [d for d in got if date(2026, 10, 15) < d.date() < date(2026, 10, 30)]
    assert autumn == [utc(2026, 10, 19, 4), utc(2026, 10, 26, 5)]


def test_a_daily_plan_across_the_changes_in_new_york() -> None:
    trigger = fixed(1, Unit.DAYS, date(2026, 1, 1))
    assert occurrences(trigger, utc(2026, 3, 7), utc(2026, 3, 10), NEW_YORK) == [
        utc(2026, 3, 7, 11),
        utc(2026, 3, 8, 10),
        utc(2026, 3, 9, 10),
    ]
    assert occurrences(trigger, utc(2026, 10, 31), utc(2026, 11, 3), NEW_YORK) == [
        utc(2026, 10, 31, 10),
        utc(2026, 11, 1, 11),
        utc(2026, 11, 2, 11),
    ]


def test_a_plan_at_a_skipped_or_repeated_time_is_due_once_each_day() -> None:
    trigger = fixed(1, Unit.DAYS, date(2026, 1, 1), at=time(2, 30))
    assert occurrences(trigger, utc(2026, 3, 28), utc(2026, 3, 31), BERLIN) == [
        utc(2026, 3, 28, 1, 30),  # 02:30 CET
        utc(2026, 3, 29, 1, 30),  # 02:30 does not exist: 03:30 CEST
        utc(2026, 3, 30, 0, 30),  # 02:30 CEST
    ]
    assert occurrences(trigger, utc(2026, 10, 24), utc(2026, 10, 27), BERLIN) == [
        utc(2026, 10, 24, 0, 30),  # 02:30 CEST
        utc(2026, 10, 25, 0, 30),  # 02:30 twice: the first, CEST
        utc(2026, 10, 26, 1, 30),  # 02:30 CET
    ]
    # the occurrence after the repeated one is the next day's, not the second 02:30
    assert next_due(trigger, utc(2026, 10, 25, 0, 30), None, BERLIN) == utc(2026, 10, 26, 1, 30)


# --- fixed against floating -------------------------------------------------------------------


def test_a_late_completion_moves_a_floating_plan_and_not_a_fixed_one() -> None:
    first_due = utc(2026, 3, 1, 5)  # 1 March 06:00 CET
    completed = utc(2026, 3, 15, 10)  # two weeks late
    anchored = fixed(1, Unit.MONTHS, date(2026, 3, 1))
    moving = floating(1, Unit.MONTHS, date(2026, 3, 1))
    assert next_due(anchored, None, None, BERLIN) == first_due
    assert next_due(moving, None, None, BERLIN) == first_due
    assert next_due(anchored, first_due, completed, BERLIN) == utc(2026, 4, 1, 4)  # CEST
    assert next_due(moving, first_due, completed, BERLIN) == utc(2026, 4, 15, 4)


def test_a_floating_plan_waits_for_the_completion() -> None:
    moving = floating(1, Unit.MONTHS, date(2026, 3, 1))
    assert next_due(moving, utc(2026, 3, 1, 5), None, BERLIN) is None


def test_a_floating_plan_counts_from_the_local_date_of_the_completion() -> None:
    moving = floating(1, Unit.MONTHS, date(2026, 3, 1))
    # 23:30 UTC on 15 March is 00:30 on 16 March in Berlin
    assert next_due(moving, utc(2026, 3, 1, 5), utc(2026, 3, 15, 23, 30), BERLIN) == utc(
        2026, 4, 16, 4
    )
    assert next_due(moving, utc(2026, 3, 1, 5), utc(2026, 3, 15, 23, 30), NEW_YORK) == utc(
        2026, 4, 15, 10
    )


def test_a_floating_plan_completed_long_before_its_due_date_skips_the_occurrence_it_has() -> None:
    daily = floating(1, Unit.DAYS, date(2026, 6, 1))
    latest_due = utc(2026, 6, 3, 6)
    # completed on 1 June: 2 and 3 June are not after the latest occurrence; 4 June is
    assert next_due(daily, latest_due, utc(2026, 6, 1, 9), Z) == utc(2026, 6, 4, 6)
    assert next_due(daily, latest_due, utc(2026, 6, 3, 9), Z) == utc(2026, 6, 4, 6)
    assert next_due(daily, latest_due, utc(2026, 6, 5, 9), Z) == utc(2026, 6, 6, 6)


def test_a_floating_month_from_the_31st_clamps_and_then_follows_the_completions() -> None:
    moving = floating(1, Unit.MONTHS, date(2026, 1, 31), at=time(8))
    assert next_due(moving, utc(2026, 1, 31, 8), utc(2026, 1, 31, 12), Z) == utc(2026, 2, 28, 8)
    forecast = occurrences(moving, utc(2026, 1, 1), utc(2026, 6, 1), Z, utc(2026, 1, 31, 12))
    assert [d.date() for d in forecast] == [
        date(2026, 2, 28),
        date(2026, 3, 28),
        date(2026, 4, 28),
        date(2026, 5, 28),
    ]
    never_done = occurrences(moving, utc(2026, 1, 1), utc(2026, 3, 1), Z)
    assert [d.date() for d in never_done] == [date(2026, 1, 31), date(2026, 2, 28)]


# --- lead times ------------------------------------------------------------------------------


def test_a_lead_is_counted_on_the_wall_clock() -> None:
    three_days = timedelta(days=3)
    # due Monday 30 March 06:00 CEST; opens Friday 27 March 06:00 CET: 71 hours before
    spring = opens_at(utc(2026, 3, 30, 4), three_days, BERLIN)
    assert spring == utc(2026, 3, 27, 5)
    assert utc(2026, 3, 30, 4) - spring == timedelta(hours=71)
    # due Monday 26 October 06:00 CET; opens Friday 23 October 06:00 CEST: 73 hours before
    autumn = opens_at(utc(2026, 10, 26, 5), three_days, BERLIN)
    assert autumn == utc(2026, 10, 23, 4)
    assert utc(2026, 10, 26, 5) - autumn == timedelta(hours=73)
    # New York: due Monday 2 November 06:00 EST, two days before is Saturday 06:00 EDT
    assert opens_at(utc(2026, 11, 2, 11), timedelta(days=2), NEW_YORK) == utc(2026, 10, 31, 10)


def test_a_lead_that_lands_on_a_skipped_time_follows_the_wall_clock_rule() -> None:
    # due 29 March 06:00 CEST; four hours earlier on the wall is 02:00, which is skipped
    assert opens_at(utc(2026, 3, 29, 4), timedelta(hours=4), BERLIN) == utc(2026, 3, 29, 1)
    assert opens_at(utc(2026, 3, 29, 4), timedelta(0), BERLIN) == utc(2026, 3, 29, 4)


def test_the_trigger_carries_its_lead() -> None:
    trigger = fixed(1, Unit.WEEKS, date(2026, 3, 23), lead=timedelta(days=2))
    due = next_due(trigger, utc(2026, 3, 23, 5), None, BERLIN)
    assert due == utc(2026, 3, 30, 4)
    assert opens_at(due, trigger.lead, BERLIN) == utc(2026, 3, 28, 5)  # Saturday 06:00 CET


# --- intervals and validation ---------------------------------------------------------------


def test_the_interval_before_a_due_date() -> None:
    monthly = fixed(1, Unit.MONTHS, date(2026, 1, 31))
    assert interval_before(monthly, utc(2026, 3, 31, 6), Z) == timedelta(days=31)  # from 28 Feb
    assert interval_before(monthly, utc(2026, 4, 30, 6), Z) == timedelta(days=31)  # from 30 Mar
    weekly = fixed(1, Unit.WEEKS, date(2026, 3, 23))
    assert interval_before(weekly, utc(2026, 3, 30, 4), BERLIN) == timedelta(days=7, hours=-1)
    yearly = fixed(1, Unit.YEARS, date(2024, 2, 29))
    assert interval_before(yearly, utc(2028, 2, 29, 6), Z) == timedelta(days=366)


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda: fixed(0, Unit.DAYS, date(2026, 1, 1)), "interval"),
        (lambda: fixed(-2, Unit.MONTHS, date(2026, 1, 1)), "interval"),
        (lambda: fixed(1, Unit.DAYS, date(2026, 1, 1), lead=timedelta(hours=-1)), "lead"),
        (lambda: fixed(1, Unit.DAYS, date(2026, 1, 1), lead=timedelta(days=367)), "lead"),
        (lambda: fixed(101, Unit.YEARS, date(2026, 1, 1)), "interval"),
        (lambda: fixed(1201, Unit.MONTHS, date(2026, 1, 1)), "interval"),
        (
            lambda: fixed(1, Unit.DAYS, date(2026, 1, 1), at=time(6, tzinfo=UTC)),
            "aware_time_of_day",
        ),
    ],
)
def test_a_bad_trigger_is_refused_with_a_reason(
    build: Callable[[], CalendarTrigger], reason: str
) -> None:
    with pytest.raises(ScheduleError) as refused:
        build()
    assert refused.value.reason == reason


def test_the_longest_interval_and_lead_are_accepted() -> None:
    century = fixed(100, Unit.YEARS, date(2026, 1, 1), lead=timedelta(days=366))
    assert next_due(century, utc(2026, 1, 1, 6), None, Z) == utc(2126, 1, 1, 6)
    assert opens_at(utc(2126, 1, 1, 6), century.lead, Z) == utc(2124, 12, 31, 6)


def test_naive_instants_are_refused() -> None:
    trigger = fixed(1, Unit.DAYS, date(2026, 1, 1))
    with pytest.raises(ScheduleError) as refused:
        next_due(trigger, datetime(2026, 1, 1), None, Z)
    assert refused.value.reason == "naive_datetime"
    with pytest.raises(ScheduleError):
        occurrences(trigger, datetime(2026, 1, 1), utc(2026, 2, 1), Z)
    with pytest.raises(ScheduleError):
        opens_at(datetime(2026, 1, 1), timedelta(days=1), Z)
