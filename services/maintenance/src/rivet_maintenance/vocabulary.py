"""The words the schema stores: plan, trigger, meter and occurrence kinds and states.

One place for them, so the tables' check constraints and the code that writes the rows use the
same values.
"""

from enum import StrEnum


class PlanStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    """Opens no orders; resumed, it continues from the moment it is resumed."""


class TriggerKind(StrEnum):
    CALENDAR = "calendar"
    METER = "meter"
    """Every N units of a counter meter."""
    CONDITION = "condition"
    """A gauge meter out of its limits."""


class MeterKind(StrEnum):
    COUNTER = "counter"
    """Only goes up (operating hours, cycles)."""
    GAUGE = "gauge"
    """Goes up and down (temperature, vibration); may have limits."""


class OccurrenceStatus(StrEnum):
    OPENING = "opening"
    """Claimed by a scheduler; its work order is being requested."""
    OPEN = "open"
    """Its work order is open."""
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    """Passed over on purpose (a paused plan, a superseded meter threshold)."""


ACTIVE_OCCURRENCES = (OccurrenceStatus.OPENING, OccurrenceStatus.OPEN)
