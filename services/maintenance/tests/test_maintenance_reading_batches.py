"""Machines' batches of readings on ``reading.batch_submitted.<org_id>``, through real NATS
(JetStream) and PostgreSQL: a batch recorded in the message's order and announced in one
``meter.readings_recorded``; the readings of a batch that cannot be recorded dead-lettered
together with their positions and reasons while the others are recorded; a message that is
not a batch dead-lettered whole; a message redelivered after its transaction committed
(a crash before the acknowledgement) recorded once; two replicas sharing the consumer."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from maintenance_support import Org, Stack, start_stack, stop_stack, until
from nats.aio.msg import Msg
from prometheus_client import REGISTRY

from rivet_contracts import Events, Headers, Role
from rivet_contracts import maintenance as m
from rivet_maintenance.meters.events import BATCH_CONSUMER

DEAD = f"{Events.DEAD_LETTER}.{BATCH_CONSUMER}"


async def meter(stack: Stack, org: Org, asset: UUID, kind: m.MeterKind, **more: Any) -> m.MeterView:
    body: dict[str, Any] = {"equipment_id": str(asset), "name": "Meter", "kind": kind, "unit": "h"}
    view: m.MeterView = await stack.call(
        m.CREATE_METER, m.CreateMeter.model_validate(body | more), org.identity()
    )
    return view


def reading(meter_id: UUID | str, value: Any, at: datetime | str) -> dict[str, Any]:
    read_at = at.isoformat() if isinstance(at, datetime) else at
    return {"meter_id": str(meter_id), "value": value, "read_at": read_at}


async def send(
    stack: Stack,
    org_id: UUID,
    readings: Any,
    *,
    envelope_org: UUID | None = None,
    device: str | None = "gw-1",
) -> str:
    """A machine's batch on ``reading.batch_submitted.<org_id>``, as nats-py publishes it;
    its event id."""
    event_id = str(uuid4())
    envelope = {
        "event_id": event_id,
        "type": "reading.batch_submitted",
        "org_id": str(envelope_org or org_id),
        "data": {"device": device, "readings": readings},
    }
    ack = await stack.nc.jetstream().publish(
        stack.subject(m.reading_batch_subject(org_id)),
        json.dumps(envelope).encode(),
        headers={Headers.MSG_ID: event_id},
    )
    assert ack.stream == stack.settings.stream_name("READINGS")
    return event_id


async def values(stack: Stack, org: Org, meter_id: UUID) -> list[float]:
    """The meter's readings' values, oldest first (by when they were read)."""
    page = await stack.call(
        m.LIST_READINGS, m.ListReadings(meter_id=meter_id, limit=500), org.identity()
    )
    return [r.value for r in reversed(page.items)]


async def consumed(stack: Stack) -> bool:
    js, stream = stack.nc.jetstream(), stack.settings.stream_name("READINGS")
    info = await js.consumer_info(stream, BATCH_CONSUMER)
    return info.num_pending + (info.num_ack_pending or 0) == 0


def counted() -> tuple[float, float, float]:
    """``rivet_maintenance_readings_total`` of batch messages (recorded, refused) and the
    batch consumer's ``rivet_dead_letters_total``."""
    found = [
        REGISTRY.get_sample_value(
            "rivet_maintenance_readings_total", {"source": "device_batch", "result": result}
        )
        for result in ("recorded", "refused")
    ]
    dead = REGISTRY.get_sample_value(
        "rivet_dead_letters_total", {"service": "maintenance", "consumer": BATCH_CONSUMER}
    )
    return (found[0] or 0.0, found[1] or 0.0, dead or 0.0)


def letter(stack: Stack, event_id: str) -> dict[str, Any] | None:
    """The message's dead letter, if any (each announcement once, see ``announced``)."""
    found = {
        e["event_id"]: e["data"] for e in stack.bus.of(DEAD) if e["data"]["event_id"] == event_id
    }
    assert len(found) <= 1, found
    return next(iter(found.values()), None)


def announced(stack: Stack, event_id: str) -> list[dict[str, Any]]:
    """The ``meter.readings_recorded`` events a batch caused (they carry its correlation id),
    each once: the bus hears core NATS, where the relay may send an event again after a lost
    acknowledgement (JetStream keeps one copy: the same ``Nats-Msg-Id``)."""
    found = {
        e["event_id"]: e
        for e in stack.bus.of(Events.METER_READINGS_RECORDED)
        if e.get("correlation_id") == event_id
    }
    return list(found.values())


async def test_a_batch_is_recorded_in_order_and_announced_in_one_event(
    stack: Stack, org: Org
) -> None:
    now = datetime.now(UTC)
    stack.state.clock.freeze(now)
    asset = stack.peers.asset(org)
    hours = await meter(stack, org, asset, m.MeterKind.COUNTER)
    gauge = await meter(stack, org, asset, m.MeterKind.GAUGE, unit="degC", high_limit=80)
    start = now - timedelta(hours=1)
    first = m.RecordReading(meter_id=hours.id, value=1000, read_at=start - timedelta(minutes=1))
    await stack.call(m.RECORD_READING, first, org.identity(Role.TECHNICIAN))
    trigger = m.MeterTrigger(kind="meter", meter_id=hours.id, every=500)
    body = {"equipment_id": str(asset), "title": "Service", "trigger": trigger}
    plan = await stack.call(m.CREATE_PLAN, m.CreatePlan.model_validate(body), org.identity())
    batch = []
    for n in range(50):
        at = start + timedelta(minutes=n)
        batch.append(reading(hours.id, 1010 + 10 * n, at))  # reaches 1,500 once
        batch.append(reading(gauge.id, 70 + (15 if n == 20 else 0), at))  # one excursion
    event_id = await send(stack, org.id, batch, device="plc-7")
    await until(lambda: bool(announced(stack, event_id)), what="meter.readings_recorded")
    (event,) = announced(stack, event_id)
    assert event["org_id"] == str(org.id)
    data = event["data"]
    assert data["source"] == "device"
    assert data["device"] == "plc-7"
    assert data["refused"] == 0
    assert [(r["meter_id"], r["value"]) for r in data["readings"]] == [
        (r["meter_id"], r["value"]) for r in batch
    ]
    ids = [r["reading_id"] for r in data["readings"]]
    assert ids == sorted(ids)
    assert len(set(ids)) == 100
    assert await values(stack, org, hours.id) == [1000] + [1010 + 10 * n for n in range(50)]
    # no reading_recorded per reading for a batch; the excursion and the threshold as usual
    singles = stack.bus.of(Events.METER_READING_RECORDED, meter_id=str(hours.id))
    assert [e["data"]["source"] for e in singles] == ["api"]  # the technician's, not the batch's
    await until(
        lambda: bool(stack.bus.of(Events.METER_LIMIT_EXCEEDED, meter_id=str(gauge.id))),
        what="meter.limit_exceeded",
    )
    assert len(stack.bus.of(Events.METER_LIMIT_EXCEEDED, meter_id=str(gauge.id))) == 1
    found = await stack.call(m.GET_PLAN, m.GetPlan(plan_id=plan.id), org.identity())
    assert [o.key for o in found.occurrences or []] == [f"{plan.id}/meter/1500"]
    meters = await stack.call(
        m.LIST_METERS, m.ListMeters(equipment_id=asset), org.identity(Role.VIEWER)
    )
    latest = {v.id: v.last_value for v in meters.items}
    assert latest == {hours.id: 1500, gauge.id: 70}
    assert letter(stack, event_id) is None


async def test_the_readings_a_batch_cannot_record_are_dead_lettered_with_their_reasons(
    stack: Stack, org: Org
) -> None:
    """Unknown and foreign meters, a counter going back inside the batch, a time in the
    future and readings that do not parse are refused one by one; the others are recorded
    and the message is acknowledged once."""
    now = datetime.now(UTC)
    stack.state.clock.freeze(now)
    asset = stack.peers.asset(org)
    hours = await meter(stack, org, asset, m.MeterKind.COUNTER)
    other = Org()
    foreign = await meter(stack, other, stack.peers.asset(other), m.MeterKind.COUNTER)
    t = [now - timedelta(minutes=10 - n) for n in range(10)]
    batch: list[Any] = [
        reading(hours.id, 100, t[0]),  # 0 recorded
        reading(hours.id, 110, t[1]),  # 1 recorded
        reading(hours.id, 90, t[2]),  # 2 counter_went_back (below 110, sent just before)
        reading(uuid4(), 5, t[2]),  # 3 unknown_meter
        reading(foreign.id, 5, t[2]),  # 4 unknown_meter (another organization's)
        reading(hours.id, 120, now + timedelta(hours=1)),  # 5 in_the_future
        reading(hours.id, "NaN", t[3]),  # 6 unreadable
        {"meter_id": str(hours.id), "value": 130},  # 7 unreadable: no time
        reading(hours.id, 130, t[3].replace(tzinfo=None)),  # 8 unreadable: no zone
        "140",  # 9 unreadable: not an object
        reading(hours.id, 150, t[4]),  # 10 recorded
        reading(hours.id, 105, t[1] + timedelta(seconds=30)),  # 11 counter_went_back (older)
        reading(hours.id, 115, t[1] + timedelta(seconds=30)),  # 12 recorded (fits between)
    ]
    before = counted()
    event_id = await send(stack, org.id, batch)
    await until(lambda: letter(stack, event_id) is not None, what="the dead letter")
    await until(lambda: consumed(stack), what="the message to be acknowledged")
    assert await values(stack, org, hours.id) == [100, 110, 115, 150]
    after = counted()  # per reading, under their own source label (the alert's)
    assert (after[0] - before[0], after[1] - before[1]) == (4, 9)
    assert after[2] - before[2] == 1  # one dead letter: RivetDeadLetters hears of it
    dead = letter(stack, event_id)
    assert dead is not None
    assert dead["consumer"] == BATCH_CONSUMER
    assert dead["error"].startswith("refused: 9 of 13 readings: #2 counter_went_back")
    payload = json.loads(dead["payload"])
    assert payload["event_id"] == event_id
    assert payload["org_id"] == str(org.id)
    reasons = [(r["index"], r["reason"]) for r in payload["data"]["refused"]]
    assert reasons == [
        (2, "counter_went_back"),
        (3, "unknown_meter"),
        (4, "unknown_meter"),
        (5, "in_the_future"),
        (6, "unreadable"),
        (7, "unreadable"),
        (8, "unreadable"),
        (9, "unreadable"),
        (11, "counter_went_back"),
    ]
    # the refused readings as sent, in the message's order: a batch to send again once fixed
    sent = payload["data"]["readings"]
    assert sent[4:8] == [batch[6], batch[7], batch[8], "140"]
    assert [sent[0], sent[1], sent[2], sent[3], sent[8]] == [
        batch[2],
        batch[3],
        batch[4],
        batch[5],
        batch[11],
    ]
    messages = {r["index"]: r["message"] for r in payload["data"]["refused"]}
    assert "finite" in messages[6]
    assert "read_at" in messages[7]
    assert "timezone" in messages[8]
    (event,) = announced(stack, event_id)
    assert event["data"]["refused"] == 9
    assert [r["value"] for r in event["data"]["readings"]] == [100, 110, 150, 115]
    # nothing of the foreign organization's meter
    page = await stack.call(m.LIST_READINGS, m.ListReadings(meter_id=foreign.id), other.identity())
    assert page.items == []


async def test_a_message_that_is_not_a_batch_of_its_organization_is_dead_lettered_whole(
    stack: Stack, org: Org
) -> None:
    now = datetime.now(UTC)
    stack.state.clock.freeze(now)
    hours = await meter(stack, org, stack.peers.asset(org), m.MeterKind.COUNTER)
    one = [reading(hours.id, 1, now)]
    refused = {
        "wrong_organization": await send(stack, org.id, one, envelope_org=uuid4()),
        "empty": await send(stack, org.id, []),
        "too many": await send(
            stack, org.id, [reading(hours.id, n, now) for n in range(m.MAX_BATCH_READINGS + 1)]
        ),
        "not a list": await send(stack, org.id, {"meter_id": str(hours.id)}),
    }
    for event_id in refused.values():
        await until(lambda e=event_id: letter(stack, e) is not None, what="the dead letters")
    errors = {name: letter(stack, e)["error"] for name, e in refused.items()}  # type: ignore[index]
    assert "refused: wrong_organization" in errors["wrong_organization"]
    assert "at least one reading" in errors["empty"]
    assert "at most 500" in errors["too many"]
    assert "unparseable" in errors["not a list"]
    after = await send(stack, org.id, [reading(hours.id, 7, now)])
    await until(lambda: bool(announced(stack, after)), what="the consumer to go on")
    assert await values(stack, org, hours.id) == [7]


async def test_a_batch_redelivered_after_its_commit_is_recorded_once(
    stack: Stack, org: Org
) -> None:
    """The transaction commits, then the acknowledgement is lost (the process dies before
    it): JetStream delivers the message again, and the inbox finds it applied."""
    now = datetime.now(UTC)
    stack.state.clock.freeze(now)
    hours = await meter(stack, org, stack.peers.asset(org), m.MeterKind.COUNTER)
    (puller,) = [p for p in stack.runtime.pullers if p.sub.consumer == BATCH_CONSUMER]
    apply = puller._apply
    lost: list[str] = []
    deliveries: list[int] = []

    async def commit_then_lose_the_ack(batch: list[Msg]) -> None:
        mine = [msg for msg in batch if msg.headers and msg.headers.get(Headers.MSG_ID) == target]
        deliveries.extend(msg.metadata.num_delivered for msg in mine)
        if mine and not lost:
            outcomes = await puller.processor.process_many(
                puller.sub, [puller_delivery(msg) for msg in batch]
            )
            lost.append(str(outcomes))
            for msg in batch:  # as if the process died: each is delivered again
                await msg.nak()
            return
        await apply(batch)

    target = str(uuid4())
    puller._apply = commit_then_lose_the_ack  # type: ignore[method-assign]
    try:
        envelope = {
            "event_id": target,
            "type": "reading.batch_submitted",
            "org_id": str(org.id),
            "data": {"readings": [reading(hours.id, 10 * n, now - timedelta(minutes=9 - n))
                                  for n in range(10)]},
        }  # fmt: skip
        await stack.nc.jetstream().publish(
            stack.subject(m.reading_batch_subject(org.id)),
            json.dumps(envelope).encode(),
            headers={Headers.MSG_ID: target},
        )
        await until(lambda: len(deliveries) >= 2, what="the message delivered again")
        await until(lambda: consumed(stack), what="the second delivery acknowledged")
    finally:
        puller._apply = apply  # type: ignore[method-assign]
    assert lost
    assert "Outcome.OK" in lost[0]
    assert "DUPLICATE" not in lost[0]
    assert deliveries[:2] == [1, 2]
    assert await values(stack, org, hours.id) == [10 * n for n in range(10)]
    assert len(announced(stack, target)) == 1
    assert letter(stack, target) is None


def puller_delivery(msg: Msg) -> Any:
    from rivet_runtime.consumer import Delivery

    return Delivery(msg.data, msg.headers or {}, msg.metadata.num_delivered, msg.subject)


async def test_two_replicas_record_every_reading_of_every_batch_once(
    stack: Stack, org: Org
) -> None:
    now = datetime.now(UTC)
    stack.state.clock.freeze(now)
    asset = stack.peers.asset(org)
    counters = [await meter(stack, org, asset, m.MeterKind.COUNTER) for _ in range(5)]
    replica = await start_stack(stack.settings, replica_of=stack)
    applied: dict[str, int] = {"first": 0, "replica": 0}
    try:
        replica.state.clock.freeze(now)
        for name, one in (("first", stack), ("replica", replica)):
            (puller,) = [p for p in one.runtime.pullers if p.sub.consumer == BATCH_CONSUMER]

            def counting(p: Any, name: str) -> Any:
                apply = p._apply

                async def counted(batch: list[Msg]) -> None:
                    await apply(batch)
                    applied[name] += len(batch)

                return counted

            puller._apply = counting(puller, name)  # type: ignore[method-assign]
        start = now - timedelta(hours=1)
        sent = []
        for k in range(40):  # 40 messages of 50 readings: 10 of each counter
            batch = [
                reading(c.id, 10 * k + n, start + timedelta(seconds=10 * k + n))
                for n in range(10)
                for c in counters
            ]
            sent.append(await send(stack, org.id, batch))
        await until(lambda: sum(applied.values()) >= 40, timeout=30, what="40 messages")
        await until(lambda: consumed(stack), what="every message acknowledged")
    finally:
        await stop_stack(replica)
        for p in stack.runtime.pullers:
            p.__dict__.pop("_apply", None)
    for c in counters:
        assert await values(stack, org, c.id) == [float(v) for v in range(400)]
    assert sum(len(announced(stack, e)) for e in sent) == 40
    assert all(letter(stack, e) is None for e in sent)
    assert sum(applied.values()) == 40, applied
