"""Occurrence keys: the same occurrence gives the same key in every replica, another gives
another."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from rivet_maintenance.schedule.calendar import CalendarTrigger, Unit, next_due
from rivet_maintenance.schedule.conditions import ConditionState, Limits, evaluate
from rivet_maintenance.schedule.errors import ScheduleError
from rivet_maintenance.schedule.keys import calendar_key, condition_key, key_uuid, meter_key
from rivet_maintenance.schedule.meters import MeterTrigger, meter_due

PLAN = UUID("0b9f3f8e-2f4e-4d0a-8a43-3c1e6f7d2a10")
OTHER = UUID("a7c1e0f2-5b6d-4e3f-9a8b-7c6d5e4f3a2b")
BERLIN = ZoneInfo("Europe/Berlin")


def test_a_calendar_key_is_the_plan_and_the_due_instant_in_utc() -> None:
    due = datetime(2026, 3, 30, 4, tzinfo=UTC)
    key = calendar_key(PLAN, due)
    assert key == "0b9f3f8e-2f4e-4d0a-8a43-3c1e6f7d2a10/due/2026-03-30T04:00:00Z"
    # the same instant written in the plan's zone or another one
    assert calendar_key(PLAN, due.astimezone(BERLIN)) == key
    assert calendar_key(PLAN, due.astimezone(ZoneInfo("Asia/Kolkata"))) == key
    assert calendar_key(PLAN, due + timedelta(hours=1)) != key
    assert calendar_key(OTHER, due) != key
    with pytest.raises(ScheduleError):
        calendar_key(PLAN, datetime(2026, 3, 30, 4))


def test_two_replicas_compute_one_key_for_the_next_occurrence() -> None:
    """Each replica computes from the stored plan alone: its own zone and its own view of the
    latest due instant (read back from the database in another offset) change nothing."""
    trigger = CalendarTrigger(1, Unit.WEEKS, date(2026, 3, 23))
    latest = datetime(2026, 3, 23, 5, tzinfo=UTC)
    one = next_due(trigger, latest, None, BERLIN)
    two = next_due(trigger, latest.astimezone(ZoneInfo("America/New_York")), None, BERLIN)
    assert one is not None
    assert two is not None
    assert calendar_key(PLAN, one) == calendar_key(PLAN, two)
    assert calendar_key(PLAN, one).endswith("/due/2026-03-30T04:00:00Z")


def test_a_meter_key_is_the_plan_and_the_threshold_normalised() -> None:
    key = meter_key(PLAN, D(1500))
    assert key == "0b9f3f8e-2f4e-4d0a-8a43-3c1e6f7d2a10/meter/1500"
    assert meter_key(PLAN, D("1500.000")) == key
    assert meter_key(PLAN, D("1.5E+3")) == key
    assert meter_key(PLAN, D("1500.5")).endswith("/meter/1500.5")
    assert meter_key(PLAN, D("0.30")).endswith("/meter/0.3")
    assert meter_key(PLAN, D(0)).endswith("/meter/0")
    due = meter_due(MeterTrigger(D(500), D(50)), D(1000), D(1460))
    assert due is not None
    assert meter_key(PLAN, due.threshold) == key
    with pytest.raises(ScheduleError):
        meter_key(PLAN, D("NaN"))


def test_a_condition_key_is_the_plan_and_the_excursion_index() -> None:
    limits = Limits(high=D(80))
    t0 = datetime(2026, 7, 1, tzinfo=UTC)
    _, excursion = evaluate(limits, ConditionState(excursions=4), D(90), t0)
    assert excursion is not None
    assert condition_key(PLAN, excursion.index) == f"{PLAN}/excursion/5"


def test_the_key_uuid_depends_on_the_key_alone() -> None:
    key = calendar_key(PLAN, datetime(2026, 3, 30, 4, tzinfo=UTC))
    # pinned: these ids are the stored occurrences' ids, so they must not change between releases
    assert key_uuid(key) == UUID("78813539-83f5-5a81-9e47-4127e025c505")
    assert key_uuid(key).version == 5
    assert key_uuid(key) == key_uuid(str(key))
    assert key_uuid(key) != key_uuid(meter_key(PLAN, D(1500)))
    keys = {
        calendar_key(PLAN, datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=i))
        for i in range(1000)
    }
    assert len({key_uuid(k) for k in keys}) == 1000
