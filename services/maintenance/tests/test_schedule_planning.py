"""A calendar plan's schedule: the first occurrence not in the past, the one after each
recorded, catching up after the scheduler was away, resuming, deadlines and the forecast."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rivet_maintenance.schedule.calendar import CalendarTrigger, Mode, Unit
from rivet_maintenance.schedule.localtime import local_instant
from rivet_maintenance.schedule.planning import (
    after_recorded,
    catch_up,
    deadline,
    first_due,
    opening,
    projection,
    resumed,
)

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def monthly(anchor: date, mode: Mode = Mode.FIXED, **more: object) -> CalendarTrigger:
    return CalendarTrigger(1, Unit.MONTHS, anchor, mode, **more)  # type: ignore[arg-type]


def test_the_first_occurrence_is_the_first_not_in_the_past() -> None:
    trigger = monthly(date(2026, 1, 31))
    # created on 10 March: 31 January and 28 February are gone
    assert first_due(trigger, utc(2026, 3, 10), BERLIN) == utc(2026, 3, 31, 4)
    # created before the anchor: the anchor
    assert first_due(trigger, utc(2026, 1, 1), BERLIN) == utc(2026, 1, 31, 5)
    # a floating plan starts the same way
    floating = monthly(date(2026, 1, 31), Mode.FLOATING)
    assert first_due(floating, utc(2026, 3, 10), BERLIN) == utc(2026, 3, 31, 4)


def test_month_ends_keep_the_anchor_day() -> None:
    trigger = CalendarTrigger(3, Unit.MONTHS, date(2026, 1, 31))
    due = first_due(trigger, utc(2026, 1, 1), UTC)
    seen = [due]
    for _ in range(4):
        nxt = after_recorded(trigger, seen[-1], UTC)
        assert nxt is not None
        seen.append(nxt)
    assert [d.date() for d in seen] == [
        date(2026, 1, 31),
        date(2026, 4, 30),
        date(2026, 7, 31),
        date(2026, 10, 31),
        date(2027, 1, 31),
    ]


def test_a_floating_plan_has_no_next_until_its_occurrence_is_done() -> None:
    trigger = monthly(date(2026, 1, 31), Mode.FLOATING)
    assert after_recorded(trigger, utc(2026, 1, 31, 5), BERLIN) is None


def test_06_00_stays_06_00_local_across_the_dst_change() -> None:
    weekly = CalendarTrigger(1, Unit.WEEKS, date(2026, 3, 23), lead=timedelta(days=3))
    before = first_due(weekly, utc(2026, 3, 20), BERLIN)
    after = after_recorded(weekly, before, BERLIN)
    assert before == utc(2026, 3, 23, 5)  # CET
    assert after == utc(2026, 3, 30, 4)  # CEST: still 06:00 local
    # the lead is on the wall clock: Friday 06:00 local, 71 hours before across the change
    assert opening(weekly, after, BERLIN) == utc(2026, 3, 27, 5)
    assert after - opening(weekly, after, BERLIN) == timedelta(hours=71)  # type: ignore[operator]


def test_a_skipped_local_time_and_a_repeated_one() -> None:
    skipped = CalendarTrigger(1, Unit.DAYS, date(2026, 3, 29), at=time(2, 30))
    assert first_due(skipped, utc(2026, 3, 28), BERLIN) == utc(2026, 3, 29, 1, 30)  # 03:30 CEST
    repeated = CalendarTrigger(1, Unit.DAYS, date(2026, 10, 25), at=time(2, 30))
    assert first_due(repeated, utc(2026, 10, 24), BERLIN) == utc(2026, 10, 25, 0, 30)  # CEST


def test_catching_up_opens_the_latest_occurrence_whose_order_should_be_open() -> None:
    daily = CalendarTrigger(1, Unit.DAYS, date(2026, 5, 1), lead=timedelta(hours=12))
    due = utc(2026, 5, 1, 6)
    # on time: itself
    assert catch_up(daily, due, utc(2026, 4, 30, 19), UTC) == (due, 0)
    # the scheduler was away four days: 5 May (opens 4 May 18:00) is the one; four passed over
    assert catch_up(daily, due, utc(2026, 5, 4, 20), UTC) == (utc(2026, 5, 5, 6), 4)
    floating = CalendarTrigger(1, Unit.DAYS, date(2026, 5, 1), Mode.FLOATING)
    assert catch_up(floating, due, utc(2026, 5, 4, 20), UTC) == (due, 0)


def test_resuming_counts_on_from_now() -> None:
    trigger = monthly(date(2026, 1, 15))
    now = utc(2026, 6, 2)
    # latest occurrence 15 February; paused since: the next is 15 June, not March
    assert resumed(trigger, utc(2026, 2, 15, 6), None, False, now, UTC) == utc(2026, 6, 15, 6)
    # never recorded: the first not in the past
    assert resumed(trigger, None, None, False, now, UTC) == utc(2026, 6, 15, 6)
    floating = monthly(date(2026, 1, 15), Mode.FLOATING)
    # floating, latest open: none until it is done
    assert resumed(floating, utc(2026, 5, 15, 6), None, True, now, UTC) is None
    # floating, completed 20 May: a month after the completion
    completed = utc(2026, 5, 20, 9)
    assert resumed(floating, utc(2026, 5, 15, 6), completed, False, now, UTC) == utc(2026, 6, 20, 6)


def test_the_deadline_is_due_plus_a_tenth_of_the_interval() -> None:
    trigger = monthly(date(2026, 1, 31))
    # the interval ending 31 March: from 28 February, 31 days; the grace 3.1 days
    due = utc(2026, 3, 31, 6)
    assert deadline(trigger, due, UTC) == due + timedelta(days=3.1)


def test_the_forecast_of_fixed_and_floating_plans() -> None:
    fixed = monthly(date(2026, 1, 31))
    start, end = utc(2026, 2, 1), utc(2026, 6, 1)
    dues = projection(fixed, utc(2026, 2, 28, 6), start, end, UTC)
    assert [d.date() for d in dues] == [
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
    ]
    floating = monthly(date(2026, 1, 31), Mode.FLOATING)
    dues = projection(floating, utc(2026, 2, 28, 6), start, end, UTC)
    # each one month after the one before, as if completed on its due date: the clamp stays
    assert [d.date() for d in dues] == [
        date(2026, 2, 28),
        date(2026, 3, 28),
        date(2026, 4, 28),
        date(2026, 5, 28),
    ]


def test_with_no_lead_an_order_opens_at_its_due_time_also_where_the_clocks_change() -> None:
    """A due time made of a local date and time opens, with no lead, at that very instant,
    skipped and repeated wall times included (the forecast counts on it)."""
    trigger = CalendarTrigger(every=1, unit=Unit.DAYS, anchor=date(2026, 1, 1))
    for name in ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago"):
        tz = ZoneInfo(name)
        days = [date(2026, 1, 1) + timedelta(days=n) for n in range(366)]
        for day in days:
            for minutes in range(0, 24 * 60, 30):
                due = local_instant(day, time(minutes // 60, minutes % 60), tz)
                assert opening(trigger, due, tz) == due, (name, day, minutes)
