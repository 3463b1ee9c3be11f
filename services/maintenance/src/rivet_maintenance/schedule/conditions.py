"""Condition triggers: gauge readings (temperature, vibration, pressure) against limits.

A reading above ``high`` or below ``low`` starts an **excursion**, and an excursion opens one
order. Readings that stay out of limits belong to the same excursion (a sensor reporting every
second must not open a thousand orders). The excursion ends when a reading is back within the
limits by the **deadband** (hysteresis): with high 80 and deadband 5, it ends at 75 or below, so
a value hovering around 80 does not open an order at each crossing. Out of limits again after
that is a new excursion and a new order.

A reading exactly on a limit is within it. A reading beyond the other limit while an excursion
is open (a gauge that swings from too hot to too cold) ends that excursion and starts one on the
other side. A reading not newer than the last one evaluated is ignored: devices resend and
deliver out of order, and a late reading must not reopen what a newer one closed.

``evaluate`` is a pure state machine; the caller stores the state with the meter.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from .errors import ScheduleError
from .localtime import aware
from .meters import ZERO, check_value


class Side(StrEnum):
    LOW = "low"
    HIGH = "high"


@dataclass(frozen=True)
class Limits:
    """A gauge's limits (one may be missing) and the deadband an excursion ends by."""

    low: Decimal | None = None
    high: Decimal | None = None
    deadband: Decimal = ZERO

    def __post_init__(self) -> None:
        if self.low is None and self.high is None:
            raise ScheduleError("limits", "give a low limit, a high limit or both")
        check_value(self.deadband, "deadband")
        for limit in (self.low, self.high):
            if limit is not None:
                check_value(limit, "limit")
        if self.deadband < ZERO:
            raise ScheduleError("deadband", "the deadband cannot be negative")
        if (
            self.low is not None
            and self.high is not None
            and self.low + self.deadband >= self.high - self.deadband
        ):
            raise ScheduleError(
                "limits",
                "the low limit must be below the high limit by more than twice the deadband",
            )

    def beyond(self, value: Decimal) -> Side | None:
        """The side ``value`` is out of limits on, or None within them (on a limit is within)."""
        if self.high is not None and value > self.high:
            return Side.HIGH
        if self.low is not None and value < self.low:
            return Side.LOW
        return None

    def back_from(self, side: Side, value: Decimal) -> bool:
        """Whether ``value`` ends an excursion on ``side``: within the limit by the deadband."""
        if side is Side.HIGH:
            assert self.high is not None
            return value <= self.high - self.deadband
        assert self.low is not None
        return value >= self.low + self.deadband


@dataclass(frozen=True)
class ConditionState:
    """What the state machine remembers between readings."""

    side: Side | None = None
    """The side of the open excursion, None while within limits."""
    since: datetime | None = None
    """When the open excursion started."""
    excursions: int = 0
    """Excursions so far: the index of the latest (its occurrence key)."""
    last_at: datetime | None = None
    """The time of the newest reading evaluated."""


@dataclass(frozen=True)
class Excursion:
    """An excursion that has just started: open one order for it."""

    index: int
    side: Side
    value: Decimal
    at: datetime


def evaluate(
    limits: Limits, state: ConditionState, value: Decimal, at: datetime
) -> tuple[ConditionState, Excursion | None]:
    """The state after the reading ``value`` taken at ``at``, and the excursion it starts, if
    it starts one. A non-finite value is refused (``not_finite``)."""
    check_value(value)
    aware(at, "reading time")
    if state.last_at is not None and at <= state.last_at:
        return state, None
    seen = replace(state, last_at=at)
    side = limits.beyond(value)
    if state.side is not None and side in (None, state.side):
        if side is None and limits.back_from(state.side, value):
            return replace(seen, side=None, since=None), None
        return seen, None
    # within limits with none open; or out of them, anew or on the other side of an open one
    if side is None:
        return seen, None
    index = state.excursions + 1
    started = replace(seen, side=side, since=at, excursions=index)
    return started, Excursion(index, side, value, at)
