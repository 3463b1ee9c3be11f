"""A plan's trigger through its stored JSON and back."""

from datetime import date, time, timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from rivet_maintenance.plans.triggers import ConditionTrigger, Trigger, dump, kind_of, load
from rivet_maintenance.schedule.calendar import CalendarTrigger, Mode, Unit
from rivet_maintenance.schedule.errors import ScheduleError
from rivet_maintenance.schedule.meters import MeterTrigger
from rivet_maintenance.vocabulary import TriggerKind

QUARTERLY = CalendarTrigger(
    3, Unit.MONTHS, date(2026, 1, 31), Mode.FLOATING, time(6, 30), timedelta(days=5)
)


def test_a_calendar_trigger_is_stored_as_plain_json() -> None:
    assert dump(QUARTERLY) == {
        "every": 3,
        "unit": "months",
        "mode": "floating",
        "anchor": "2026-01-31",
        "at": "06:30",
        "lead_seconds": 432000,
    }


@pytest.mark.parametrize(
    ("trigger", "kind"),
    [
        (QUARTERLY, TriggerKind.CALENDAR),
        (CalendarTrigger(1, Unit.DAYS, date(2026, 1, 1)), TriggerKind.CALENDAR),
        (MeterTrigger(D("0.1"), D("0.05")), TriggerKind.METER),
        (MeterTrigger(D(500)), TriggerKind.METER),
        (ConditionTrigger(), TriggerKind.CONDITION),
    ],
)
def test_every_trigger_comes_back_as_it_went_in(trigger: Trigger, kind: TriggerKind) -> None:
    assert kind_of(trigger) is kind
    assert load(kind, dump(trigger)) == trigger


def test_meter_decimals_are_strings() -> None:
    assert dump(MeterTrigger(D("0.1"), D("0.05"))) == {"every": "0.1", "lead": "0.05"}
    assert dump(ConditionTrigger()) == {}


@pytest.mark.parametrize(
    ("kind", "data", "reason"),
    [
        (TriggerKind.CALENDAR, {}, "trigger"),
        (TriggerKind.CALENDAR, dict(dump(QUARTERLY), unit="fortnights"), "trigger"),
        (TriggerKind.CALENDAR, dict(dump(QUARTERLY), anchor="31/01/2026"), "trigger"),
        (TriggerKind.CALENDAR, dict(dump(QUARTERLY), every=0), "interval"),
        (TriggerKind.CALENDAR, dict(dump(QUARTERLY), at="06:00+02:00"), "aware_time_of_day"),
        (TriggerKind.METER, {"every": "five hundred"}, "trigger"),
        (TriggerKind.METER, {"every": None}, "trigger"),
        (TriggerKind.METER, {"every": "500", "lead": "500"}, "lead"),
    ],
)
def test_a_stored_trigger_that_does_not_parse_is_refused(
    kind: TriggerKind, data: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ScheduleError) as refused:
        load(kind, data)
    assert refused.value.reason == reason
