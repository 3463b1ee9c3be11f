"""The meters repository against PostgreSQL: meters, the excursion state on the row, readings
newest first, exact decimals, and the time-zone replica."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from uuid import uuid4

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_maintenance.meters import repository as repo
from rivet_maintenance.organizations.repository import store_time_zone, time_zone, time_zones
from rivet_maintenance.schedule.conditions import ConditionState, Limits, Side, evaluate
from rivet_maintenance.vocabulary import MeterKind

T0 = datetime(2026, 7, 1, 12, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def test_a_gauge_keeps_its_limits_and_its_excursion_state(conn: AsyncConnection) -> None:
    org, pump = uuid4(), uuid4()
    gauge = await repo.insert_meter(
        conn,
        repo.NewMeter(
            uuid4(), org, pump, "Bearing temperature", MeterKind.GAUGE, "degC",
            low_limit=D(10), high_limit=D(80), deadband=D("2.5"),
        ),
    )  # fmt: skip
    assert gauge.limits == Limits(D(10), D(80), D("2.5"))
    assert gauge.condition == ConditionState()
    assert gauge.last_value is None
    state, excursion = evaluate(gauge.limits, gauge.condition, D("85.25"), at(1))
    assert excursion is not None
    await repo.store_latest(conn, gauge.id, D("85.25"), at(1), state)
    got = await repo.get_meter(conn, org, gauge.id, lock=True)
    assert got is not None
    assert got.condition == ConditionState(Side.HIGH, at(1), 1, at(1)) == state
    assert (got.last_value, got.last_read_at) == (D("85.25"), at(1))
    # back within: the side is cleared, the count stays
    assert got.limits is not None
    after, _ = evaluate(got.limits, got.condition, D(70), at(2))
    await repo.store_latest(conn, gauge.id, D(70), at(2), after)
    again = await repo.get_meter(conn, org, gauge.id)
    assert again is not None
    assert again.condition == ConditionState(None, None, 1, at(2))
    assert await repo.get_meter(conn, uuid4(), gauge.id) is None


async def test_a_counter_has_no_limits(conn: AsyncConnection) -> None:
    org, pump = uuid4(), uuid4()
    hours = await repo.insert_meter(
        conn, repo.NewMeter(uuid4(), org, pump, "Hours run", MeterKind.COUNTER, "h")
    )
    assert hours.limits is None
    await repo.store_latest(conn, hours.id, D("1520.5"), at(0))
    got = await repo.get_meter(conn, org, hours.id)
    assert got is not None
    assert (got.last_value, got.condition.side, got.condition.excursions) == (D("1520.5"), None, 0)
    other = await repo.insert_meter(
        conn, repo.NewMeter(uuid4(), org, pump, "Starts", MeterKind.COUNTER, "cycles")
    )
    listed = await repo.meters_of_equipment(conn, org, pump)
    assert {m.id for m in listed} == {hours.id, other.id}
    assert await repo.meters_of_equipment(conn, uuid4(), pump) == []
    for wrong in (
        repo.NewMeter(uuid4(), org, pump, "x", MeterKind.COUNTER, "h", high_limit=D(5)),
        repo.NewMeter(uuid4(), org, pump, "x", MeterKind.GAUGE, "bar", deadband=D(-1)),
    ):
        with pytest.raises(IntegrityError):
            async with conn.begin_nested():
                await repo.insert_meter(conn, wrong)


async def test_readings_newest_first_with_exact_values(conn: AsyncConnection) -> None:
    org = uuid4()
    meter = await repo.insert_meter(
        conn, repo.NewMeter(uuid4(), org, uuid4(), "Hours run", MeterKind.COUNTER, "h")
    )
    technician = uuid4()
    values = [D("1000"), D("1234.5678"), D("1500.0001")]
    stored = [
        await repo.add_reading(
            conn, repo.NewReading(meter.id, org, value, at(10 * i), "api", technician)
        )
        for i, value in enumerate(values)
    ]
    assert [r.value for r in stored] == values
    listed = await repo.list_readings(conn, org, meter.id)
    assert [(r.value, r.read_at) for r in listed] == [
        (D("1500.0001"), at(20)),
        (D("1234.5678"), at(10)),
        (D("1000"), at(0)),
    ]
    assert [r.id for r in await repo.list_readings(conn, org, meter.id, before=at(20))] == [
        stored[1].id,
        stored[0].id,
    ]
    assert [r.id for r in await repo.list_readings(conn, org, meter.id, limit=1)] == [stored[2].id]
    assert await repo.list_readings(conn, uuid4(), meter.id) == []
    at_completion = await repo.reading_at(conn, meter.id, at(15))
    assert at_completion is not None
    assert (at_completion.value, at_completion.source, at_completion.author_id) == (
        D("1234.5678"),
        "api",
        technician,
    )
    assert await repo.reading_at(conn, meter.id, at(-1)) is None


async def test_the_time_zone_replica_keeps_the_newest(conn: AsyncConnection) -> None:
    org, other = uuid4(), uuid4()
    assert await time_zone(conn, org) is None
    assert await store_time_zone(conn, org, "Europe/Berlin", at(10))
    assert not await store_time_zone(conn, org, "America/New_York", at(5))  # older: ignored
    assert not await store_time_zone(conn, org, "America/New_York", at(10))  # same: ignored
    assert await time_zone(conn, org) == "Europe/Berlin"
    assert await store_time_zone(conn, org, "Asia/Tokyo", at(11))
    assert await store_time_zone(conn, other, "UTC", at(0))
    assert await time_zones(conn, [org, other, uuid4()]) == {org: "Asia/Tokyo", other: "UTC"}
    assert await time_zones(conn, []) == {}
