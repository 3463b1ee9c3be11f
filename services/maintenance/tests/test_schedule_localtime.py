"""The wall clock: local dates and times to instants, across DST changes in Berlin and New York.

2026: Europe springs forward on 29 March (02:00 CET -> 03:00 CEST) and falls back on 25 October
(03:00 CEST -> 02:00 CET); the United States on 8 March (02:00 EST -> 03:00 EDT) and 1 November
(02:00 EDT -> 01:00 EST).
"""

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from rivet_maintenance.schedule.errors import ScheduleError
from rivet_maintenance.schedule.localtime import aware, local_date, local_instant, zone

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "at", "tz", "expected"),
    [
        # ordinary winter and summer days: 06:00 local, different UTC hours
        (date(2026, 3, 28), time(6), BERLIN, utc(2026, 3, 28, 5)),
        (date(2026, 3, 30), time(6), BERLIN, utc(2026, 3, 30, 4)),
        (date(2026, 3, 7), time(6), NEW_YORK, utc(2026, 3, 7, 11)),
        (date(2026, 3, 9), time(6), NEW_YORK, utc(2026, 3, 9, 10)),
        # the day of the change itself, after it
        (date(2026, 3, 29), time(6), BERLIN, utc(2026, 3, 29, 4)),
        (date(2026, 10, 25), time(6), BERLIN, utc(2026, 10, 25, 5)),
        (date(2026, 11, 1), time(6), NEW_YORK, utc(2026, 11, 1, 11)),
        # skipped: read with the offset before the change (02:30 CET = 03:30 CEST)
        (date(2026, 3, 29), time(2, 30), BERLIN, utc(2026, 3, 29, 1, 30)),
        (date(2026, 3, 8), time(2, 30), NEW_YORK, utc(2026, 3, 8, 7, 30)),
        # repeated: the first of the two (summer time)
        (date(2026, 10, 25), time(2, 30), BERLIN, utc(2026, 10, 25, 0, 30)),
        (date(2026, 11, 1), time(1, 30), NEW_YORK, utc(2026, 11, 1, 5, 30)),
    ],
)
def test_local_times_become_the_expected_instants(
    day: date, at: time, tz: ZoneInfo, expected: datetime
) -> None:
    got = local_instant(day, at, tz)
    assert got == expected
    assert got.tzinfo is UTC


def test_a_skipped_time_lands_after_the_change_and_a_repeated_one_before() -> None:
    skipped = local_instant(date(2026, 3, 29), time(2, 30), BERLIN).astimezone(BERLIN)
    assert (skipped.hour, skipped.minute, skipped.utcoffset()) == (3, 30, BERLIN.utcoffset(skipped))
    assert skipped.tzname() == "CEST"
    repeated = local_instant(date(2026, 10, 25), time(2, 30), BERLIN).astimezone(BERLIN)
    assert (repeated.hour, repeated.minute, repeated.tzname()) == (2, 30, "CEST")
    # fold=1 given by a caller changes nothing: the rule is the module's
    assert local_instant(date(2026, 10, 25), time(2, 30, fold=1), BERLIN) == utc(
        2026, 10, 25, 0, 30
    )


def test_local_date_is_the_date_in_the_zone() -> None:
    assert local_date(utc(2026, 3, 2, 23, 30), BERLIN) == date(2026, 3, 3)
    assert local_date(utc(2026, 3, 2, 23, 30), NEW_YORK) == date(2026, 3, 2)
    assert local_date(utc(2026, 3, 3, 3, 0), NEW_YORK) == date(2026, 3, 2)


def test_unknown_zones_naive_instants_and_zoned_times_are_refused() -> None:
    assert zone("Europe/Berlin") == BERLIN
    for name in ("Mars/Olympus_Mons", "../../etc/passwd", ""):
        with pytest.raises(ScheduleError) as refused:
            zone(name)
        assert refused.value.reason == "unknown_time_zone"
    with pytest.raises(ScheduleError) as naive:
        local_date(datetime(2026, 1, 1, 12), BERLIN)
    assert naive.value.reason == "naive_datetime"
    with pytest.raises(ScheduleError) as zoned:
        local_instant(date(2026, 1, 1), time(6, tzinfo=UTC), BERLIN)
    assert zoned.value.reason == "aware_time_of_day"
    fixed_offset = datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2)))
    assert aware(fixed_offset) is fixed_offset
