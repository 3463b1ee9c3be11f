"""The idempotency key of an occurrence.

Several scheduler replicas may decide at the same moment that a plan's occurrence is due. Each
computes the same key from the plan and the occurrence alone (never from the clock of the
replica, a random id or a counter of its own), and the occurrences table holds a key once, so
exactly one work order is opened per occurrence; the work-order request carries the key as its
``idempotency_key`` for the same reason (``key_uuid(key)`` is the occurrence's id).

- calendar: plan id + the due instant in UTC (``2026-03-30T04:00:00Z``): the same local due
  date and time give the same instant whatever zone the replica runs in;
- meter: plan id + the threshold reading, normalised (``1500``, ``1500.0`` and ``1.5E+3`` are
  one threshold);
- condition: plan id + the excursion's index.
"""

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID, uuid5

from .localtime import aware
from .meters import check_value

NAMESPACE = UUID("5d0c7a44-3b1e-4f0e-9a57-6f2c1b8e9d21")
"""The uuid5 namespace of occurrence keys (a constant: changing it changes every id)."""


def calendar_key(plan_id: UUID, due: datetime) -> str:
    instant = aware(due, "due").astimezone(UTC).replace(tzinfo=None)
    return f"{plan_id}/due/{instant.isoformat()}Z"


def meter_key(plan_id: UUID, threshold: Decimal) -> str:
    normal = check_value(threshold, "threshold").normalize()
    return f"{plan_id}/meter/{normal:f}"


def condition_key(plan_id: UUID, excursion: int) -> str:
    return f"{plan_id}/excursion/{excursion}"


def key_uuid(key: str) -> UUID:
    """A UUID that is a function of ``key`` alone (uuid5)."""
    return uuid5(NAMESPACE, key)
