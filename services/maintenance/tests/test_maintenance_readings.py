"""Meters and readings: counters opening meter plans' orders at their thresholds, gauges
opening one corrective order per excursion however many readings a burst brings, and readings
from machines over NATS - the refused ones dead-lettered with their reason, never a crash."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from maintenance_support import Org, Stack, until

from rivet_contracts import ErrorCode, Events, Headers, Role, ServiceError
from rivet_contracts import maintenance as m
from rivet_contracts.workorders import WorkOrderStatus, WorkType

T0 = datetime(2026, 4, 1, 8, tzinfo=UTC)


async def meter(stack: Stack, org: Org, asset: UUID, kind: m.MeterKind, **more: Any) -> m.MeterView:
    body: dict[str, Any] = {"equipment_id": str(asset), "name": "Meter", "kind": kind, "unit": "h"}
    view: m.MeterView = await stack.call(
        m.CREATE_METER, m.CreateMeter.model_validate(body | more), org.identity()
    )
    return view


async def plan(stack: Stack, org: Org, asset: UUID, trigger: Any, **more: Any) -> m.PlanView:
    body: dict[str, Any] = {"equipment_id": str(asset), "title": "Service", "trigger": trigger}
    view: m.PlanView = await stack.call(
        m.CREATE_PLAN, m.CreatePlan.model_validate(body | more), org.identity()
    )
    return view


async def read(
    stack: Stack, org: Org, meter_id: UUID, value: float, at: datetime
) -> m.ReadingResult:
    request = m.RecordReading(meter_id=meter_id, value=value, read_at=at)
    result: m.ReadingResult = await stack.call(
        m.RECORD_READING, request, org.identity(Role.TECHNICIAN)
    )
    return result


async def orders_opened(stack: Stack, plan_id: UUID, count: int) -> None:
    await until(lambda: len(stack.peers.orders_of(plan_id)) >= count, what=f"{count} orders")


async def test_meters_are_defined_by_admins_with_sound_limits(stack: Stack, org: Org) -> None:
    asset = stack.peers.asset(org)
    gauge = await meter(
        stack, org, asset, m.MeterKind.GAUGE, unit="degC", low_limit=5, high_limit=80, deadband=2
    )
    assert (gauge.low_limit, gauge.high_limit, gauge.deadband, gauge.excursions) == (5, 80, 2, 0)
    with pytest.raises(ValueError, match="gauges only"):
        m.CreateMeter(equipment_id=str(asset), name="x", kind="counter", unit="h", high_limit=1)
    narrow = m.CreateMeter(
        equipment_id=str(asset), name="x", kind="gauge", unit="bar", low_limit=1, high_limit=2,
        deadband=1,
    )  # fmt: skip
    with pytest.raises(ServiceError) as caught:
        await stack.call(m.CREATE_METER, narrow, org.identity())
    assert caught.value.info.details[0]["type"] == "limits"
    with pytest.raises(ServiceError) as caught:
        await stack.call(m.CREATE_METER, narrow, org.identity(Role.TECHNICIAN))
    assert caught.value.code is ErrorCode.FORBIDDEN
    changed = await stack.call(
        m.UPDATE_METER,
        m.UpdateMeter(
            meter_id=gauge.id, changes=m.MeterChanges.model_validate({"low_limit": None})
        ),
        org.identity(),
    )
    assert (changed.low_limit, changed.high_limit) == (None, 80)
    page = await stack.call(
        m.LIST_METERS, m.ListMeters(equipment_id=asset), org.identity(Role.VIEWER)
    )
    assert [x.id for x in page.items] == [gauge.id]


async def test_a_counter_opens_its_meter_plan_at_the_threshold_minus_the_lead(
    stack: Stack, org: Org
) -> None:
    stack.state.clock.freeze(T0 + timedelta(days=30))
    asset = stack.peers.asset(org)
    hours = await meter(stack, org, asset, m.MeterKind.COUNTER)
    await read(stack, org, hours.id, 1000, T0)
    trigger = m.MeterTrigger(kind="meter", meter_id=hours.id, every=500, lead=50)
    service = await plan(stack, org, asset, trigger)
    assert (service.meter_base, service.next_threshold) == (1000, 1500)
    assert (await read(stack, org, hours.id, 1200, T0 + timedelta(days=1))).occurrences == []
    due = await read(stack, org, hours.id, 1460, T0 + timedelta(days=2))
    (occurrence,) = due.occurrences
    assert (occurrence.threshold, occurrence.key) == (1500, f"{service.id}/meter/1500")
    await orders_opened(stack, service.id, 1)
    (create,) = stack.peers.creates_of(service.id)
    assert create.request.work_type is WorkType.PREVENTIVE
    assert create.request.due_at is None
    assert "Due at 1500 h" in (create.request.description or "")
    # more readings before the threshold's order is done: nothing new
    assert (await read(stack, org, hours.id, 1470, T0 + timedelta(days=3))).occurrences == []
    # a counter never goes back
    with pytest.raises(ServiceError) as caught:
        await read(stack, org, hours.id, 1400, T0 + timedelta(days=4))
    assert caught.value.code is ErrorCode.VALIDATION
    assert caught.value.info.details[0]["type"] == "counter_went_back"
    # an older reading that fits is kept in the history
    await read(stack, org, hours.id, 1100, T0 + timedelta(hours=12))
    # completed at 1480 h (within 10 % of 500 past 1500): on time; the next is due at 1980
    await read(stack, org, hours.id, 1480, T0 + timedelta(days=5))
    (order,) = stack.peers.orders_of(service.id)
    done = await stack.order_status(
        order, WorkOrderStatus.COMPLETED, T0 + timedelta(days=5, hours=1)
    )
    await stack.applied(done, "maintenance-orders")
    after = await stack.call(m.GET_PLAN, m.GetPlan(plan_id=service.id), org.identity())
    assert (after.meter_base, after.next_threshold) == (1480, 1980)
    assert after.occurrences[0].on_time is True
    assert after.occurrences[0].status is m.OccurrenceStatus.COMPLETED
    readings = await stack.call(
        m.LIST_READINGS, m.ListReadings(meter_id=hours.id), org.identity(Role.VIEWER)
    )
    assert [r.value for r in readings.items] == [1480, 1470, 1460, 1200, 1100, 1000]


async def test_a_burst_out_of_limits_opens_one_order_and_the_next_excursion_another(
    stack: Stack, org: Org
) -> None:
    stack.state.clock.freeze(T0 + timedelta(days=1))
    asset = stack.peers.asset(org)
    gauge = await meter(
        stack, org, asset, m.MeterKind.GAUGE, unit="degC", high_limit=80, deadband=5
    )
    trigger = m.ConditionTrigger(kind="condition", meter_id=gauge.id)
    watch = await plan(stack, org, asset, trigger, priority="high")
    await read(stack, org, gauge.id, 70, T0)
    # a burst of readings out of limits, sent at once
    burst = [85, 90, 95, 99, 93, 88, 84, 83, 86, 91]
    await asyncio.gather(
        *(
            read(stack, org, gauge.id, value, T0 + timedelta(seconds=i + 1))
            for i, value in enumerate(burst)
        )
    )
    await orders_opened(stack, watch.id, 1)
    # within the deadband: not over yet
    await read(stack, org, gauge.id, 78, T0 + timedelta(minutes=1))
    # back by the deadband: over; the order is done; out again: a second order
    back = await read(stack, org, gauge.id, 74, T0 + timedelta(minutes=2))
    assert back.meter.excursion_side is None
    (first,) = stack.peers.orders_of(watch.id)
    done = await stack.order_status(first, WorkOrderStatus.COMPLETED, T0 + timedelta(minutes=3))
    await stack.applied(done, "maintenance-orders")
    again = await read(stack, org, gauge.id, 82, T0 + timedelta(minutes=4))
    assert again.excursion_started == 2
    await orders_opened(stack, watch.id, 2)
    assert len(stack.peers.creates_of(watch.id)) == 2
    requests = [c.request for c in stack.peers.creates_of(watch.id)]
    assert {r.work_type for r in requests} == {WorkType.CORRECTIVE}
    assert [r.idempotency_key for r in requests] == [
        f"{watch.id}/excursion/1",
        f"{watch.id}/excursion/2",
    ]
    assert "beyond its high limit of 80 degC" in (requests[0].description or "")

    def exceeded() -> list[dict[str, Any]]:
        return stack.bus.of(Events.METER_LIMIT_EXCEEDED, meter_id=str(gauge.id))

    await until(lambda: len(exceeded()) == 2, what="meter.limit_exceeded")
    assert [e["data"]["excursion"] for e in exceeded()] == [1, 2]
    recorded = stack.bus.of(Events.METER_READING_RECORDED, meter_id=str(gauge.id))
    await until(
        lambda: len(stack.bus.of(Events.METER_READING_RECORDED, meter_id=str(gauge.id))) == 14,
        what="every reading announced",
    )
    del recorded


async def test_an_excursion_while_the_last_order_is_open_is_skipped(stack: Stack, org: Org) -> None:
    stack.state.clock.freeze(T0 + timedelta(days=1))
    asset = stack.peers.asset(org)
    gauge = await meter(stack, org, asset, m.MeterKind.GAUGE, unit="mm/s", high_limit=7)
    watch = await plan(stack, org, asset, m.ConditionTrigger(kind="condition", meter_id=gauge.id))
    for i, value in enumerate([8, 6, 9]):
        await read(stack, org, gauge.id, value, T0 + timedelta(minutes=i))
    await orders_opened(stack, watch.id, 1)

    await until(
        lambda: _equal(_statuses(stack, org, watch.id), ["open", "skipped"]),
        what="the order stored",
    )
    assert len(stack.peers.creates_of(watch.id)) == 1


async def _device(
    stack: Stack, subject_org: UUID, envelope_org: UUID | None, data: dict[str, Any]
) -> str:
    """A machine's reading on ``reading.submitted.<subject_org>``; its event id."""
    event_id = str(uuid4())
    envelope = {
        "event_id": event_id,
        "type": "reading.submitted",
        "org_id": str(envelope_org) if envelope_org else None,
        "data": data,
    }
    js = stack.nc.jetstream()
    await js.publish(
        stack.subject(m.reading_subject(subject_org)),
        json.dumps(envelope).encode(),
        headers={Headers.MSG_ID: event_id},
    )
    return event_id


async def test_readings_from_machines_and_the_ones_refused(stack: Stack, org: Org) -> None:
    now = datetime.now(UTC)
    stack.state.clock.freeze(now)
    asset = stack.peers.asset(org)
    counter = await meter(stack, org, asset, m.MeterKind.COUNTER)
    other = Org()
    foreign = await meter(stack, other, stack.peers.asset(other), m.MeterKind.COUNTER)

    def reading(meter_id: UUID, value: Any, at: datetime = now) -> dict[str, Any]:
        return {"meter_id": str(meter_id), "value": value, "read_at": at.isoformat()}

    accepted = await _device(stack, org.id, org.id, reading(counter.id, 120, now))

    async def recorded() -> bool:
        page = await stack.call(
            m.LIST_READINGS, m.ListReadings(meter_id=counter.id), org.identity()
        )
        return bool(page.items)

    await until(recorded, what="the machine's reading")
    page = await stack.call(m.LIST_READINGS, m.ListReadings(meter_id=counter.id), org.identity())
    assert [(r.value, r.source) for r in page.items] == [(120, "device")]
    refused = {
        "unknown_meter": await _device(stack, org.id, org.id, reading(uuid4(), 1)),
        "another organization's meter": await _device(
            stack, org.id, org.id, reading(foreign.id, 1)
        ),
        "wrong_organization": await _device(stack, org.id, other.id, reading(counter.id, 130)),
        "counter_went_back": await _device(
            stack, org.id, org.id, reading(counter.id, 100, now + timedelta(seconds=1))
        ),
        "in_the_future": await _device(
            stack, org.id, org.id, reading(counter.id, 200, now + timedelta(hours=1))
        ),
        "unparseable": await _device(stack, org.id, org.id, reading(counter.id, "NaN")),
    }
    dead = "deadletter.maintenance-readings"

    def letters() -> dict[str, str]:
        return {e["data"]["event_id"]: e["data"]["error"] for e in stack.bus.of(dead)}

    await until(lambda: set(refused.values()) <= set(letters()), what="the dead letters")
    errors = letters()
    assert accepted not in errors
    assert "unknown_meter" in errors[refused["unknown_meter"]]
    assert "unknown_meter" in errors[refused["another organization's meter"]]
    assert "wrong_organization" in errors[refused["wrong_organization"]]
    assert "counter_went_back" in errors[refused["counter_went_back"]]
    assert "in_the_future" in errors[refused["in_the_future"]]
    assert "unparseable" in errors[refused["unparseable"]]
    # dead-lettered at once, not retried; nothing was stored; the consumer goes on
    assert all(
        e["data"]["deliveries"] == 1
        for e in stack.bus.of(dead)
        if e["data"]["event_id"] in refused.values()
    )
    later = await _device(
        stack, org.id, org.id, reading(counter.id, 125, now + timedelta(seconds=2))
    )
    await until(lambda: _count(stack, org, counter.id, 2), what="the consumer to go on")
    foreign_page = await stack.call(
        m.LIST_READINGS, m.ListReadings(meter_id=foreign.id), other.identity()
    )
    assert foreign_page.items == []
    del later


async def _statuses(stack: Stack, org: Org, plan_id: UUID) -> list[str]:
    """The plan's occurrences' statuses (an order's answer is stored a moment after the
    work-order service has it)."""
    found = await stack.call(m.GET_PLAN, m.GetPlan(plan_id=plan_id), org.identity())
    return sorted(o.status.value for o in found.occurrences or [])


async def _equal(found: Any, expected: list[str]) -> bool:
    return bool(await found == expected)


async def _count(stack: Stack, org: Org, meter_id: UUID, count: int) -> bool:
    page = await stack.call(m.LIST_READINGS, m.ListReadings(meter_id=meter_id), org.identity())
    return len(page.items) == count


async def test_a_burst_from_machines_is_recorded_in_batches_each_reading_once(
    stack: Stack, org: Org
) -> None:
    """Readings arriving together are written by group commit, each as if alone: a counter's
    older readings between newer ones, a threshold crossed once, a refused reading in the
    middle dead-lettered alone, a resent one (same event id) recorded once."""
    now = datetime.now(UTC)
    stack.state.clock.freeze(now)
    asset = stack.peers.asset(org)
    hours = await meter(stack, org, asset, m.MeterKind.COUNTER)
    gauge = await meter(
        stack, org, asset, m.MeterKind.GAUGE, unit="degC", high_limit=80, deadband=5
    )
    start = now - timedelta(hours=2)
    await read(stack, org, hours.id, 1000, start)
    trigger = m.MeterTrigger(kind="meter", meter_id=hours.id, every=500)
    service = await plan(stack, org, asset, trigger)
    hot = await plan(stack, org, asset, m.ConditionTrigger(kind="condition", meter_id=gauge.id))

    def at(minutes: float) -> str:
        return (start + timedelta(minutes=minutes)).isoformat()

    sent: list[str] = []
    # 60 counter readings in time order but published newest and oldest interleaved
    order = [n for pair in zip(range(1, 31), range(60, 30, -1), strict=True) for n in pair]
    for n in order:
        data = {"meter_id": str(hours.id), "value": 1000 + 10 * n, "read_at": at(n)}
        sent.append(await _device(stack, org.id, org.id, data))
    went_back = await _device(
        stack, org.id, org.id, {"meter_id": str(hours.id), "value": 10, "read_at": at(61)}
    )
    for n, value in enumerate((70, 85, 90, 70, 74, 95), start=1):  # two excursions
        data = {"meter_id": str(gauge.id), "value": value, "read_at": at(n)}
        sent.append(await _device(stack, org.id, org.id, data))
    resent = sent[-1]
    envelope = {"event_id": resent, "type": "reading.submitted", "org_id": str(org.id),
                "data": {"meter_id": str(gauge.id), "value": 95, "read_at": at(6)}}  # fmt: skip
    await stack.nc.jetstream().publish(
        stack.subject(m.reading_subject(org.id)),
        json.dumps(envelope).encode(),
        headers={Headers.MSG_ID: str(uuid4())},  # past JetStream's duplicate window: the inbox
    )
    dead = "deadletter.maintenance-readings"
    await until(
        lambda: any(e["data"]["event_id"] == went_back for e in stack.bus.of(dead)),
        what="the refused reading's dead letter",
    )
    await until(lambda: _count(stack, org, hours.id, 61), what="the counter's readings")
    await until(lambda: _count(stack, org, gauge.id, 6), what="the gauge's readings")
    js, stream = stack.nc.jetstream(), stack.state.settings.stream_name("READINGS")

    async def consumed() -> bool:
        info = await js.consumer_info(stream, "maintenance-readings")
        return info.num_pending + (info.num_ack_pending or 0) == 0

    await until(consumed, what="every reading (the resent one too) to be consumed")
    assert await _count(stack, org, gauge.id, 6)
    page = await stack.call(
        m.LIST_READINGS, m.ListReadings(meter_id=hours.id, limit=100), org.identity()
    )
    assert [r.value for r in page.items] == [1000 + 10 * n for n in range(60, 0, -1)] + [1000]
    letters = [e["data"] for e in stack.bus.of(dead)]
    assert [d["event_id"] for d in letters if d["event_id"] in {*sent, went_back}] == [went_back]
    assert "counter_went_back" in next(d["error"] for d in letters if d["event_id"] == went_back)
    meters = await stack.call(
        m.LIST_METERS, m.ListMeters(equipment_id=asset), org.identity(Role.VIEWER)
    )
    latest = {v.id: (v.last_value, v.excursions) for v in meters.items}
    assert latest[hours.id] == (1600, 0)
    assert latest[gauge.id] == (95, 2)
    # the counter crossed 1500 once (the threshold's order), the gauge went out twice
    await orders_opened(stack, service.id, 1)
    await orders_opened(stack, hot.id, 1)
    counted = await stack.call(m.GET_PLAN, m.GetPlan(plan_id=service.id), org.identity())
    assert [o.key for o in counted.occurrences or []] == [f"{service.id}/meter/1500"]
    await until(
        lambda: _equal(_statuses(stack, org, hot.id), ["open", "skipped"]),
        what="one excursion's order stored, the other's skipped",
    )
    recorded = [
        e for e in stack.bus.of(Events.METER_READING_RECORDED) if e["data"]["meter_id"]
        in (str(hours.id), str(gauge.id))
    ]  # fmt: skip
    assert len(recorded) == 1 + 60 + 6
