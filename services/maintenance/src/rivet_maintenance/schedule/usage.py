"""When a counter will reach a threshold: the forecast of a meter plan. Pure.

The rate is the counter's average use between the oldest reading of the recent past and the
newest one (operating hours per day, say); the threshold is expected when the units left are
used at that rate. A counter that has not moved, or has one reading only, gives no estimate.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from .meters import MeterTrigger, occurrence

MAX_AHEAD = timedelta(days=36_500)
"""Estimates further away than a hundred years are none."""


@dataclass(frozen=True)
class Sample:
    value: Decimal
    at: datetime


def next_threshold(trigger: MeterTrigger, base: Decimal, reading: Decimal | None) -> Decimal:
    """The first threshold above the newest reading (above the base without one)."""
    if reading is None or reading < base:
        return occurrence(trigger, base, 1).threshold
    passed = int((reading - base) // trigger.every)
    return occurrence(trigger, base, passed + 1).threshold


def rate(oldest: Sample, newest: Sample) -> Decimal | None:
    """Units per second between two readings; None when it cannot be told."""
    seconds = Decimal(str((newest.at - oldest.at).total_seconds()))
    if seconds <= 0 or newest.value <= oldest.value:
        return None
    return (newest.value - oldest.value) / seconds


def expected_at(threshold: Decimal, newest: Sample, per_second: Decimal | None) -> datetime | None:
    """When the counter is expected at ``threshold``, at ``per_second`` from the newest
    reading."""
    if per_second is None or per_second <= 0:
        return None
    left = max(threshold - newest.value, Decimal(0))
    seconds = float(left / per_second)
    if seconds > MAX_AHEAD.total_seconds():
        return None
    return newest.at + timedelta(seconds=seconds)
