"""What a calendar plan's schedule becomes: its first occurrence, the one after an occurrence
is recorded, catching up after the scheduler was stopped, resuming, the deadline of an
occurrence and the forecast. Pure, built on ``calendar``.

- **First occurrence**: the first due time of the series from ``first_due`` (the trigger's
  anchor) that is not in the past when the plan is created, or its trigger changed: a plan
  written today never opens an order for a date already gone. A floating plan's first due date
  is found the same way (its series starts at the anchor until a completion).
- **After recording** an occurrence due at D: a fixed plan's next is the series' next after D;
  a floating plan has none until the occurrence is completed (``calendar.next_due``).
- **Catching up**: when the scheduler finds a fixed plan whose next order should have opened
  long ago (it was stopped for longer than the plan's interval), it opens the latest occurrence
  whose opening time has passed and passes over the earlier ones: one order covers them, as a
  meter reading that jumps past several thresholds opens one order.
- **Resuming** a paused plan counts on from the later of its latest occurrence and now.
"""

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .calendar import CalendarTrigger, Mode, interval_before, next_due, occurrences, opens_at
from .compliance import grace
from .localtime import local_date

TICK = timedelta(microseconds=1)


def first_due(trigger: CalendarTrigger, now: datetime, tz: ZoneInfo) -> datetime:
    """The first due time of the series that is not before ``now``."""
    anchored = replace(trigger, mode=Mode.FIXED)
    due = next_due(anchored, now - TICK, None, tz)
    assert due is not None  # a fixed series always has a next one
    return due


def opening(trigger: CalendarTrigger, due: datetime | None, tz: ZoneInfo) -> datetime | None:
    """When the order of the occurrence due at ``due`` opens (None for no occurrence)."""
    return opens_at(due, trigger.lead, tz) if due is not None else None


def after_recorded(trigger: CalendarTrigger, due: datetime, tz: ZoneInfo) -> datetime | None:
    """The plan's next due time once its occurrence due at ``due`` is recorded (floating: none
    until it is completed)."""
    return next_due(trigger, due, None, tz)


def catch_up(
    trigger: CalendarTrigger, due: datetime, now: datetime, tz: ZoneInfo
) -> tuple[datetime, int]:
    """The occurrence to record when the one due at ``due`` has reached its opening time: the
    latest of the series from ``due`` on whose order opens at or before ``now`` (``due`` itself
    unless the scheduler was stopped), and how many earlier ones it passes over."""
    if trigger.mode is Mode.FLOATING:
        return due, 0
    # a day beyond the lead: the lead is taken on the wall clock, so across a DST change an
    # order may open up to an hour more or less than the lead before its due time
    horizon = now + trigger.lead + timedelta(days=1)
    later = [
        candidate
        for candidate in occurrences(trigger, due + TICK, horizon, tz)
        if opens_at(candidate, trigger.lead, tz) <= now
    ]
    return (later[-1], len(later)) if later else (due, 0)


def resumed(
    trigger: CalendarTrigger,
    latest_due: datetime | None,
    latest_completed: datetime | None,
    latest_open: bool,
    now: datetime,
    tz: ZoneInfo,
) -> datetime | None:
    """The next due time of a plan resumed (or given a new time zone) at ``now``: counted on
    from the later of its latest occurrence and now. None for a floating plan whose latest
    occurrence is still open (its next is counted from that completion)."""
    if latest_due is None:
        return first_due(trigger, now, tz)
    if trigger.mode is Mode.FLOATING and latest_open:
        return None
    return next_due(trigger, max(latest_due, now - TICK), latest_completed, tz)


def deadline(trigger: CalendarTrigger, due: datetime, tz: ZoneInfo) -> datetime:
    """The last instant an occurrence due at ``due`` is on time: due + 10 % of the interval
    that ends at it."""
    return due + grace(interval_before(trigger, due, tz))


def projection(
    trigger: CalendarTrigger, first: datetime, start: datetime, end: datetime, tz: ZoneInfo
) -> list[datetime]:
    """The forecast: due times in ``[start, end)`` from the plan's next one (``first``) on; a
    floating plan's as if each were completed on its due date."""
    if trigger.mode is Mode.FIXED:
        return occurrences(trigger, max(start, first), end, tz)
    chained = replace(trigger, anchor=local_date(first, tz))
    return occurrences(chained, start, end, tz)
