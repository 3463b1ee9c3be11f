"""Meter triggers: every N units of a counter (operating hours, cycles, kilometres).

Thresholds are counted from the **base**: the counter's reading when the plan was last serviced
(its starting reading before the first service). The k-th threshold is ``base + k * every``;
the order for it opens ``lead`` units before it. When readings jump past several thresholds at
once (a meter read rarely), only the latest threshold passed is due: one service covers the
missed ones, and the next thresholds are counted from the reading at that service.

A counter only goes up. A reading below the previous one (or below the base) is refused with a
reason, never stored and never a crash: a replaced meter is a new meter. Values are ``Decimal``
(the schema's ``numeric``), so a reading exactly on a threshold is on it.
"""

from dataclasses import dataclass
from decimal import Decimal

from .errors import ScheduleError

ZERO = Decimal(0)


def check_value(value: Decimal, what: str = "reading") -> Decimal:
    """``value`` if it is a finite number; NaN and infinities compare as nothing else does."""
    if not value.is_finite():
        raise ScheduleError("not_finite", f"the {what} must be a finite number")
    return value


def check_counter(previous: Decimal | None, value: Decimal) -> Decimal:
    """A new counter reading, accepted: finite, not negative, not below ``previous`` (the
    latest reading stored, None for the first). Equal to ``previous`` is accepted: the machine
    did not run."""
    check_value(value)
    if value < ZERO:
        raise ScheduleError("negative_counter", "a counter reading cannot be negative")
    if previous is not None and value < previous:
        raise ScheduleError(
            "counter_went_back",
            f"the counter went back from {previous} to {value}; a replaced meter is a new meter",
        )
    return value


@dataclass(frozen=True)
class MeterTrigger:
    """Every ``every`` units; the order opens ``lead`` units before the threshold."""

    every: Decimal
    lead: Decimal = ZERO

    def __post_init__(self) -> None:
        check_value(self.every, "interval")
        check_value(self.lead, "lead")
        if self.every <= ZERO:
            raise ScheduleError("interval", "the interval must be more than 0 units")
        if not ZERO <= self.lead < self.every:
            raise ScheduleError("lead", "the lead must be at least 0 and less than the interval")


@dataclass(frozen=True)
class MeterOccurrence:
    """The k-th threshold after the base."""

    index: int
    """k, from 1."""
    threshold: Decimal
    """The reading at which the service is due: ``base + k * every``."""
    opens_at: Decimal
    """The reading at which its order opens: ``threshold - lead``."""


def occurrence(trigger: MeterTrigger, base: Decimal, index: int) -> MeterOccurrence:
    """The ``index``-th threshold after ``base``."""
    if index < 1:
        raise ScheduleError("index", "thresholds are counted from 1")
    threshold = base + index * trigger.every
    return MeterOccurrence(index, threshold, threshold - trigger.lead)


def next_threshold(trigger: MeterTrigger, base: Decimal) -> MeterOccurrence:
    """The first threshold after the base: what the forecast shows."""
    return occurrence(trigger, check_value(base, "base"), 1)


def meter_due(trigger: MeterTrigger, base: Decimal, reading: Decimal) -> MeterOccurrence | None:
    """The threshold whose order is open at ``reading``, or None before the first one opens.

    It is the latest threshold whose opening reading is reached: k = floor((reading + lead -
    base) / every). A reading below ``base`` is refused (``counter_went_back``).
    """
    check_value(base, "base")
    check_counter(base, reading)
    index = int((reading + trigger.lead - base) // trigger.every)
    return occurrence(trigger, base, index) if index >= 1 else None


def units_to_go(trigger: MeterTrigger, base: Decimal, reading: Decimal) -> Decimal:
    """Units left until the next threshold after ``reading`` (0 when exactly on one)."""
    check_counter(base, reading)
    passed = int((reading - base) // trigger.every)
    on_threshold = base + passed * trigger.every == reading
    nxt = occurrence(trigger, base, passed if on_threshold and passed >= 1 else passed + 1)
    return nxt.threshold - reading
