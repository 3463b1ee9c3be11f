"""The organization's wall clock.

Plans are written in local terms ("every Monday at 06:00" in the organization's IANA zone) and
stored as instants (UTC). A local date and time of day becomes an instant here and only here, so
that every rule agrees on the two wall times a DST change breaks:

- a time the clocks skip (spring forward: 02:30 on 29 March 2026 in Berlin) is read with the
  offset in force before the change, so it lands as far after the change as it was meant to be
  after the last valid minute: 02:30 becomes 03:30 local (RFC 5545, section 3.3.5; PEP 495
  ``fold=0``);
- a time the clocks repeat (fall back: 02:30 on 25 October 2026 in Berlin) is its first
  occurrence, in summer time (RFC 5545 again), so an order never opens an hour late.

Every other local time keeps its wall-clock value across DST changes: a plan due at 06:00 is
due at 06:00 local in winter and in summer, at different UTC instants.
"""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ScheduleError


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``Europe/Berlin``), or a ``ScheduleError`` for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError("unknown_time_zone", f"unknown time zone {name!r}") from exc


def aware(instant: datetime, what: str = "instant") -> datetime:
    """``instant`` if it is timezone-aware: a naive one would be read in the machine's zone."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ScheduleError("naive_datetime", f"{what} must be timezone-aware")
    return instant


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The instant (UTC) of ``day`` at wall time ``at`` in ``tz``, by the module's rule for
    skipped and repeated times."""
    if at.tzinfo is not None:
        raise ScheduleError("aware_time_of_day", "a time of day is local: give it no zone")
    wall = datetime.combine(day, at.replace(fold=0)).replace(tzinfo=tz)
    return wall.astimezone(UTC)


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    """The date ``instant`` falls on in ``tz`` (a completion at 23:30 UTC is the next day in
    Berlin)."""
    return aware(instant).astimezone(tz).date()
