"""Meter triggers: thresholds from the last service, the lead in units, missed thresholds,
counters that go back."""

from decimal import Decimal as D

import pytest

from rivet_maintenance.schedule.errors import ScheduleError
from rivet_maintenance.schedule.meters import (
    MeterOccurrence,
    MeterTrigger,
    check_counter,
    meter_due,
    next_threshold,
    occurrence,
    units_to_go,
)

EVERY_500 = MeterTrigger(D(500), lead=D(50))
BASE = D(1000)  # the hour meter read 1000 at the last service


@pytest.mark.parametrize(
    ("reading", "expected"),
    [
        (D(1000), None),
        (D(1200), None),
        (D("1449.99"), None),
        (D(1450), MeterOccurrence(1, D(1500), D(1450))),  # the lead reached: the order opens
        (D(1500), MeterOccurrence(1, D(1500), D(1450))),
        (D("1949.9"), MeterOccurrence(1, D(1500), D(1450))),
        (D(1950), MeterOccurrence(2, D(2000), D(1950))),
        # read rarely: 1500, 2000 and 2500 passed at once; one order, for the latest
        (D(2600), MeterOccurrence(3, D(2500), D(2450))),
    ],
)
def test_which_threshold_is_due(reading: D, expected: MeterOccurrence | None) -> None:
    assert meter_due(EVERY_500, BASE, reading) == expected


def test_thresholds_count_from_the_reading_at_the_last_service() -> None:
    assert next_threshold(EVERY_500, D(1520)) == MeterOccurrence(1, D(2020), D(1970))
    assert meter_due(EVERY_500, D(1520), D(1969)) is None
    assert meter_due(EVERY_500, D(1520), D(1970)) == MeterOccurrence(1, D(2020), D(1970))
    no_lead = MeterTrigger(D(250))
    assert meter_due(no_lead, D(0), D("249.999")) is None
    assert meter_due(no_lead, D(0), D(250)) == MeterOccurrence(1, D(250), D(250))
    assert occurrence(no_lead, D(100), 4) == MeterOccurrence(4, D(1100), D(1100))


def test_decimal_thresholds_are_exact() -> None:
    """0.1 + 0.1 + 0.1 is 0.3 here (in floats it is not, and the third threshold would be
    missed)."""
    tenth = MeterTrigger(D("0.1"))
    assert meter_due(tenth, D(0), D("0.3")) == MeterOccurrence(3, D("0.3"), D("0.3"))
    assert units_to_go(tenth, D(0), D("0.3")) == D(0)


def test_units_to_go() -> None:
    assert units_to_go(EVERY_500, BASE, D(1000)) == D(500)
    assert units_to_go(EVERY_500, BASE, D(1200)) == D(300)
    assert units_to_go(EVERY_500, BASE, D(1500)) == D(0)
    assert units_to_go(EVERY_500, BASE, D("1500.5")) == D("499.5")


def test_a_counter_that_goes_back_is_refused_with_a_reason() -> None:
    with pytest.raises(ScheduleError) as refused:
        meter_due(EVERY_500, BASE, D("999.9"))
    assert refused.value.reason == "counter_went_back"
    assert "999.9" in refused.value.message
    with pytest.raises(ScheduleError) as back:
        check_counter(D(1234), D(1233))
    assert back.value.reason == "counter_went_back"
    assert check_counter(D(1234), D(1234)) == D(1234)  # the machine did not run
    assert check_counter(None, D(0)) == D(0)
    with pytest.raises(ScheduleError) as negative:
        check_counter(None, D(-1))
    assert negative.value.reason == "negative_counter"


@pytest.mark.parametrize("value", [D("NaN"), D("sNaN"), D("Infinity"), D("-Infinity")])
def test_readings_that_are_not_numbers_are_refused_not_crashed_on(value: D) -> None:
    with pytest.raises(ScheduleError) as refused:
        check_counter(D(10), value)
    assert refused.value.reason == "not_finite"
    with pytest.raises(ScheduleError):
        meter_due(EVERY_500, BASE, value)


@pytest.mark.parametrize(
    ("every", "lead", "reason"),
    [
        (D(0), D(0), "interval"),
        (D(-5), D(0), "interval"),
        (D(500), D(500), "lead"),
        (D(500), D(-1), "lead"),
        (D("NaN"), D(0), "not_finite"),
    ],
)
def test_a_bad_meter_trigger_is_refused(every: D, lead: D, reason: str) -> None:
    with pytest.raises(ScheduleError) as refused:
        MeterTrigger(every, lead)
    assert refused.value.reason == reason


def test_thresholds_are_counted_from_one() -> None:
    with pytest.raises(ScheduleError) as refused:
        occurrence(EVERY_500, BASE, 0)
    assert refused.value.reason == "index"
