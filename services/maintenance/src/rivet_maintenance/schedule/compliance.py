"""PM compliance, planned-maintenance percentage and the overdue list.

**On time.** A PM order is on time when it is completed no later than its due instant plus a
grace of 10 % of its interval (the common "10 % rule" of PM compliance: a monthly PM may be done
up to about three days late, a yearly one about five weeks). The interval is the one that ends at
the due instant (``calendar.interval_before``); a meter PM's grace is 10 % of its interval in
units (``meter_on_time``).

**PM compliance** over a period is on-time PM orders divided by the PM orders due in it (due
instant within ``[start, end)``), as a percentage. An order still inside its grace at the moment
of counting, and not completed by then, is neither: it is *pending*, so the figure for the
running month does not count as missed what may still be done on time.

**Planned-maintenance percentage** (PMP): planned maintenance hours over all maintenance hours.

**Overdue**: open at the instant asked about and past its due instant.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from .errors import ScheduleError
from .localtime import aware

GRACE_DIVISOR = 10
"""Grace = interval / 10."""


def grace(interval: timedelta) -> timedelta:
    """10 % of ``interval``."""
    if interval <= timedelta(0):
        raise ScheduleError("interval", "an interval must be longer than 0")
    return interval / GRACE_DIVISOR


@dataclass(frozen=True)
class PmOrder:
    """What compliance needs of one PM occurrence and its order."""

    key: str
    due: datetime
    interval: timedelta
    completed_at: datetime | None = None

    @property
    def deadline(self) -> datetime:
        """The last instant it is on time: due plus the grace."""
        return aware(self.due, "due") + grace(self.interval)

    def completed_by(self, at: datetime) -> bool:
        return self.completed_at is not None and self.completed_at <= at


def on_time(order: PmOrder) -> bool:
    """Completed at or before its deadline (due + 10 % of the interval)."""
    return order.completed_by(order.deadline)


def meter_on_time(threshold: Decimal, every: Decimal, reading_at_completion: Decimal) -> bool:
    """A meter PM completed by ``threshold + every / 10`` units is on time."""
    return reading_at_completion <= threshold + every / GRACE_DIVISOR


@dataclass(frozen=True)
class Compliance:
    due: int
    """PM orders due in the period whose outcome is known: on time, late or missed."""
    on_time: int
    pending: int
    """Due in the period, not completed yet, still within their grace."""

    @property
    def percent(self) -> float | None:
        """On time over due, as a percentage; None when none was due."""
        return 100.0 * self.on_time / self.due if self.due else None


def pm_compliance(
    orders: Iterable[PmOrder], start: datetime, end: datetime, as_of: datetime
) -> Compliance:
    """PM compliance of the orders due in ``[start, end)``, as known at ``as_of`` (a completion
    after ``as_of`` is not known yet)."""
    aware(as_of, "as_of")
    due = done = pending = 0
    for order in orders:
        if not start <= order.due < end:
            continue
        if order.completed_by(min(as_of, order.deadline)):
            due, done = due + 1, done + 1
        elif as_of <= order.deadline:
            pending += 1
        else:
            due += 1
    return Compliance(due, done, pending)


def planned_percentage(planned_hours: float, total_hours: float) -> float | None:
    """Planned maintenance hours as a percentage of all maintenance hours (None with none)."""
    if planned_hours < 0 or total_hours < 0 or planned_hours > total_hours:
        raise ScheduleError("hours", "planned hours must be between 0 and the total hours")
    return 100.0 * planned_hours / total_hours if total_hours else None


@dataclass(frozen=True)
class Overdue:
    order: PmOrder
    by: timedelta
    """How long past its due instant."""
    beyond_grace: bool
    """Past its deadline too: it can no longer count as on time."""


def overdue(orders: Iterable[PmOrder], at: datetime) -> list[Overdue]:
    """The orders open at ``at`` (not completed by then) whose due instant is before it, the
    most overdue first (then by key, for a stable order)."""
    aware(at, "at")
    late = [
        Overdue(order, at - order.due, at > order.deadline)
        for order in orders
        if order.due < at and not order.completed_by(at)
    ]
    return sorted(late, key=lambda item: (item.order.due, item.order.key))
