"""Calendar triggers: every N days, weeks, months or years, at a local time of day.

Two modes:

- **fixed** (anchored): the k-th due date is ``anchor + k * interval``, always counted from the
  anchor, whatever happened to earlier orders. "Every month from 1 January" is due on every 1st;
  "every 3 months from 31 January" is due 31 January, 30 April, 31 July, 31 October: a month
  without the anchor's day uses its last day, and the next month that has the day gets it back
  (the anchor day is kept, never drifts to the 28th). "Every year from 29 February" is due on
  28 February in common years and 29 February in leap years. Late completions change nothing.
- **floating**: the next due date is one interval after the local date the last occurrence
  was completed, so a late completion moves every later one. Month steps from a month end clamp
  the same way (completed 31 January, monthly: due 28 February), and the series then follows
  the completion dates, so it may drift: that is what floating means.

Month and year steps are ``dateutil.relativedelta``, which clamps to the month's end. An
``rrule`` with ``bymonthday`` is not used: RFC 5545 skips the months that lack the day, and a
plan must not skip April because April has 30 days.

Due dates are local dates at the trigger's time of day in the organization's zone, made
instants by ``localtime.local_instant`` (06:00 stays 06:00 across DST changes; skipped and
repeated wall times by that module's rule). Every instant returned is in UTC.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from .errors import ScheduleError
from .localtime import aware, local_date, local_instant

MAX_OCCURRENCES = 5000
"""A forecast stops after this many occurrences (a daily plan over more than ten years)."""

MAX_LEAD = timedelta(days=366)
"""The longest lead time: an order opened more than a year early is a planning mistake."""


class Unit(StrEnum):
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"
    YEARS = "years"


MAX_EVERY = {Unit.DAYS: 36_500, Unit.WEEKS: 5_200, Unit.MONTHS: 1_200, Unit.YEARS: 100}
"""The longest interval in each unit: a hundred years (dates end in the year 9999)."""


class Mode(StrEnum):
    FIXED = "fixed"
    """Anchored: due dates counted from the anchor; completions move nothing."""
    FLOATING = "floating"
    """One interval after the last completion."""


@dataclass(frozen=True)
class CalendarTrigger:
    """Every ``every`` ``unit`` at local time ``at``; the order opens ``lead`` before.

    ``anchor`` is the first due date (local). A fixed trigger counts every due date from it; a
    floating one uses it until the first completion.
    """

    every: int
    unit: Unit
    anchor: date
    mode: Mode = Mode.FIXED
    at: time = field(default_factory=lambda: time(6, 0))
    lead: timedelta = field(default_factory=timedelta)

    def __post_init__(self) -> None:
        if not 1 <= self.every <= MAX_EVERY[self.unit]:
            raise ScheduleError(
                "interval", f"the interval must be 1 to {MAX_EVERY[self.unit]} {self.unit}"
            )
        if self.at.tzinfo is not None:
            raise ScheduleError("aware_time_of_day", "the time of day is local: give it no zone")
        if not timedelta(0) <= self.lead <= MAX_LEAD:
            raise ScheduleError("lead", "the lead time must be between 0 and 366 days")

    def step(self, k: int) -> relativedelta:
        """``k`` intervals as a calendar step."""
        n = k * self.every
        match self.unit:
            case Unit.DAYS:
                return relativedelta(days=n)
            case Unit.WEEKS:
                return relativedelta(weeks=n)
            case Unit.MONTHS:
                return relativedelta(months=n)
            case Unit.YEARS:
                return relativedelta(years=n)


def _nth(trigger: CalendarTrigger, base: date, k: int) -> date:
    """The k-th due date counted from ``base`` (k = 0 is ``base``): always from ``base``, so
    a clamped month end does not shorten later ones."""
    day: date = base + trigger.step(k)
    return day


def _estimate(trigger: CalendarTrigger, base: date, target: date) -> int:
    """A k whose due date is at or before ``target`` (0 if ``target`` is before ``base``), close
    to the last such one, so that the search for an occurrence walks few steps."""
    if target <= base:
        return 0
    if trigger.unit in (Unit.DAYS, Unit.WEEKS):
        days = 7 * trigger.every if trigger.unit is Unit.WEEKS else trigger.every
        return max(0, (target - base).days // days - 1)
    gap = relativedelta(target, base)
    months = gap.years * 12 + gap.months
    per = trigger.every * (12 if trigger.unit is Unit.YEARS else 1)
    return max(0, months // per - 1)


def _first_after(
    trigger: CalendarTrigger, base: date, after: datetime | None, tz: ZoneInfo
) -> tuple[int, datetime]:
    """The first occurrence of the series from ``base`` whose due instant is strictly after
    ``after`` (the series' first when ``after`` is None): its index k and its due instant."""
    if after is None:
        return 0, local_instant(base, trigger.at, tz)
    k = _estimate(trigger, base, local_date(after, tz))
    while k > 0 and local_instant(_nth(trigger, base, k), trigger.at, tz) > after:
        k -= 1
    while (due := local_instant(_nth(trigger, base, k), trigger.at, tz)) <= after:
        k += 1
    return k, due


def next_due(
    trigger: CalendarTrigger,
    after: datetime | None,
    last_completed: datetime | None,
    tz: ZoneInfo,
) -> datetime | None:
    """The due instant of the plan's next occurrence, or None while there is none yet.

    ``after`` is the due instant of the plan's latest occurrence (None when it has none); a
    caller that must not open occurrences in the past (a plan resumed after a pause) passes the
    later of that and now. ``last_completed`` is when that latest occurrence was completed (None
    while it is open).

    - fixed: the first due instant of the anchored series strictly after ``after``;
      ``last_completed`` plays no part;
    - floating: with no occurrence yet, the anchor; while the latest is open, None (the next
      one is counted from its completion); else one interval after the local date of the
      completion, and further intervals on from that date while that would be at or before
      ``after`` (a completion long before its due date never yields the same occurrence twice).
    """
    if after is not None:
        aware(after, "after")
    if trigger.mode is Mode.FIXED:
        return _first_after(trigger, trigger.anchor, after, tz)[1]
    if after is None:
        return local_instant(trigger.anchor, trigger.at, tz)
    if last_completed is None:
        return None
    completed_on = local_date(last_completed, tz)
    k = 1
    while (due := local_instant(_nth(trigger, completed_on, k), trigger.at, tz)) <= after:
        k += 1
    return due


def _floating_chain(trigger: CalendarTrigger, first: date) -> Iterator[date]:
    """A floating plan's projection: each occurrence completed on its due date, so each one
    interval after the one before (month ends clamp and then drift, as they would)."""
    day = first
    while True:
        yield day
        day = _nth(trigger, day, 1)


def occurrences(
    trigger: CalendarTrigger,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    last_completed: datetime | None = None,
) -> list[datetime]:
    """The due instants in ``[start, end)``: the forecast of the next days.

    A fixed plan's are its anchored series. A floating plan's are projected: the first one
    interval after ``last_completed`` (the anchor when it was never completed), and each later
    one interval after the one before, as if each were completed on its due date. At most
    ``MAX_OCCURRENCES``.
    """
    aware(start, "start")
    aware(end, "end")
    found: list[datetime] = []
    if trigger.mode is Mode.FIXED:
        k, due = _first_after(trigger, trigger.anchor, start - timedelta(microseconds=1), tz)
        while due < end and len(found) < MAX_OCCURRENCES:
            found.append(due)
            k += 1
            due = local_instant(_nth(trigger, trigger.anchor, k), trigger.at, tz)
        return found
    first = (
        trigger.anchor
        if last_completed is None
        else _nth(trigger, local_date(last_completed, tz), 1)
    )
    for day in _floating_chain(trigger, first):
        due = local_instant(day, trigger.at, tz)
        if due >= end or len(found) >= MAX_OCCURRENCES:
            break
        if due >= start:
            found.append(due)
    return found


def opens_at(due: datetime, lead: timedelta, tz: ZoneInfo) -> datetime:
    """When the order for an occurrence due at ``due`` opens: ``lead`` before it on the wall
    clock, so a three-day lead for Monday 06:00 opens on Friday at 06:00 local even when the
    clocks change over the weekend (71 or 73 hours before). The result lands on a skipped or
    repeated time by ``localtime``'s rule."""
    wall = aware(due, "due").astimezone(tz).replace(tzinfo=None) - lead
    return local_instant(wall.date(), wall.time(), tz)


def interval_before(trigger: CalendarTrigger, due: datetime, tz: ZoneInfo) -> timedelta:
    """The length of the interval that ends at ``due``: from one step back from its local date
    (``relativedelta``, so 31 March goes back to 28 February: 31 days; 30 April to 30 March: 31
    days), at the same local time of day, so across a DST change it is an hour more or less.
    PM compliance takes its grace from it."""
    day = local_date(due, tz)
    at = aware(due, "due").astimezone(tz).time().replace(tzinfo=None)
    before = local_instant(day - trigger.step(1), at, tz)
    return due.astimezone(UTC) - before
