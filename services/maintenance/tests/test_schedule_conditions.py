"""Condition triggers: one excursion per burst, the deadband, re-excursions, late readings."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from rivet_maintenance.schedule.conditions import (
    ConditionState,
    Excursion,
    Limits,
    Side,
    evaluate,
)
from rivet_maintenance.schedule.errors import ScheduleError

T0 = datetime(2026, 7, 1, 12, tzinfo=UTC)
BEARING = Limits(low=D(10), high=D(80), deadband=D(5))


def at(second: int) -> datetime:
    return T0 + timedelta(seconds=second)


def run(
    limits: Limits, values: Sequence[str], state: ConditionState | None = None
) -> tuple[ConditionState, list[Excursion]]:
    """Feed readings one second apart; the excursions they start."""
    state = state or ConditionState()
    started = []
    for second, value in enumerate(values):
        state, excursion = evaluate(limits, state, D(value), at(second))
        if excursion is not None:
            started.append(excursion)
    return state, started


def test_a_burst_out_of_limits_is_one_excursion() -> None:
    state, started = run(BEARING, ["70", "85", "90", "95", "82", "81", "79", "76", "81"])
    assert started == [Excursion(1, Side.HIGH, D(85), at(1))]
    assert (state.side, state.since, state.excursions, state.last_at) == (
        Side.HIGH,
        at(1),
        1,
        at(8),
    )


def test_back_by_the_deadband_and_out_again_is_a_second_excursion() -> None:
    state, started = run(BEARING, ["85", "78", "75", "79", "81", "90"])
    assert started == [
        Excursion(1, Side.HIGH, D(85), at(0)),
        Excursion(2, Side.HIGH, D(81), at(4)),
    ]
    assert (state.side, state.since, state.excursions) == (Side.HIGH, at(4), 2)


def test_a_value_on_the_limit_is_within_it() -> None:
    assert run(BEARING, ["80", "10", "80.0"])[1] == []
    assert run(BEARING, ["80.001"])[1] == [Excursion(1, Side.HIGH, D("80.001"), at(0))]
    assert run(BEARING, ["9.999"])[1] == [Excursion(1, Side.LOW, D("9.999"), at(0))]


def test_the_low_side_ends_by_the_deadband_too() -> None:
    state, started = run(BEARING, ["9", "12", "14.99", "8", "15", "9"])
    assert [(e.index, e.side, e.value) for e in started] == [
        (1, Side.LOW, D(9)),
        (2, Side.LOW, D(9)),
    ]
    assert state.excursions == 2


def test_without_a_deadband_the_excursion_ends_on_the_limit() -> None:
    plain = Limits(high=D(80))
    state, started = run(plain, ["81", "80", "81", "-1000"])
    assert [e.index for e in started] == [1, 2]
    # no low limit: far below is within limits, and ends the second excursion
    assert (state.side, state.excursions) == (None, 2)


def test_a_swing_to_the_other_side_is_a_new_excursion() -> None:
    state, started = run(BEARING, ["85", "5", "4", "90"])
    assert [(e.index, e.side) for e in started] == [(1, Side.HIGH), (2, Side.LOW), (3, Side.HIGH)]
    assert state.side is Side.HIGH


def test_a_reading_not_newer_than_the_last_changes_nothing() -> None:
    state, _ = run(BEARING, ["85", "70"])  # the excursion ended at second 1
    assert state.side is None
    for late in (at(0), at(1)):
        again, excursion = evaluate(BEARING, state, D(99), late)
        assert (again, excursion) == (state, None)
    newer, excursion = evaluate(BEARING, state, D(99), at(2))
    assert excursion == Excursion(2, Side.HIGH, D(99), at(2))
    assert newer.excursions == 2


def test_the_state_machine_continues_from_a_stored_state() -> None:
    stored = ConditionState(Side.HIGH, at(-60), 7, at(-1))
    state, started = run(BEARING, ["90"], stored)  # still out: the same excursion
    assert started == []
    assert (state.side, state.since, state.excursions, state.last_at) == (
        Side.HIGH,
        at(-60),
        7,
        at(0),
    )
    after, excursion = evaluate(BEARING, state, D(50), at(5))
    assert excursion is None
    assert (after.side, after.since, after.excursions) == (None, None, 7)
    _, excursion = evaluate(BEARING, after, D(81), at(6))
    assert excursion == Excursion(8, Side.HIGH, D(81), at(6))


@pytest.mark.parametrize(
    ("low", "high", "deadband", "reason"),
    [
        (None, None, D(0), "limits"),
        (D(80), D(10), D(0), "limits"),
        (D(10), D(10), D(0), "limits"),
        (D(10), D(20), D(5), "limits"),  # back within would need >= 15 and <= 15: no room
        (D(10), D(80), D(-1), "deadband"),
        (D("NaN"), D(80), D(0), "not_finite"),
    ],
)
def test_bad_limits_are_refused(low: D | None, high: D | None, deadband: D, reason: str) -> None:
    with pytest.raises(ScheduleError) as refused:
        Limits(low, high, deadband)
    assert refused.value.reason == reason


def test_bad_readings_are_refused() -> None:
    with pytest.raises(ScheduleError) as nan:
        evaluate(BEARING, ConditionState(), D("NaN"), T0)
    assert nan.value.reason == "not_finite"
    with pytest.raises(ScheduleError) as naive:
        evaluate(BEARING, ConditionState(), D(50), datetime(2026, 7, 1))
    assert naive.value.reason == "naive_datetime"
