"""Event end-to-end latency: ``equipment.created`` committed in assets -> the work-order
service's equipment replica row committed.

At a steady rate (open loop: transactions start on a fixed schedule), each transaction does
what the assets service's create does for the event - the ``assets.equipment`` row, the outbox
row (the envelope as ``UnitOfWork.emit`` builds it) and ``pg_notify('assets_outbox')`` - and
commits. From there the real path runs: the assets service's relay wakes on the notification,
publishes to JetStream (file store, fsync always), the work-order service's durable consumer
applies it (inbox row, replica upsert, counts, org health) and commits.

Timing: ``t0`` is when COMMIT returned to the producer; ``t1`` is when a notification from a
benchmark-only trigger on ``workorders.equipment`` (AFTER INSERT, ``pg_notify``, delivered by
PostgreSQL at the consumer's commit) reached the benchmark. Both are read from the same
``perf_counter`` in one process. The trigger exists only during this measurement.
The search index of the new rows is not written (the create's index statement is not part of
the event path).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg

from rivet_contracts import Actor, EventEnvelope, Events
from rivet_contracts.assets import EquipmentCreated, Source

TRIGGER = """
CREATE OR REPLACE FUNCTION bench_bare.replica_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bench_replica', NEW.id::text);
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS bench_replica_notify ON workorders.equipment;
CREATE TRIGGER bench_replica_notify AFTER INSERT ON workorders.equipment
    FOR EACH ROW EXECUTE FUNCTION bench_bare.replica_notify();
"""
DROP = "DROP TRIGGER IF EXISTS bench_replica_notify ON workorders.equipment"
INSERT_ASSET = (
    "INSERT INTO assets.equipment (id, org_id, number, manufacturer, manufacturer_key, model, "
    "model_norm, serial, serial_norm, location, source, created_by) "
    "VALUES ($1, $2, $3, 'Siemens', 'siemens', $4, $5, $6, $6, 'Bench / Events', 'api', $7)"
)
INSERT_OUTBOX = "INSERT INTO assets.outbox (event_id, subject, payload) VALUES ($1, $2, $3::jsonb)"
NOTIFY = "SELECT pg_notify('assets_outbox', '')"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def measure(
    database_url: str,
    org_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    rate: float = 200.0,
    duration: float = 30.0,
    warmup: float = 3.0,
) -> dict[str, Any]:
    listener = await asyncpg.connect(database_url)
    pool = await asyncpg.create_pool(database_url, min_size=4, max_size=8)
    committed: dict[str, float] = {}
    applied: dict[str, float] = {}
    tag = uuid.uuid4().hex[:6].upper()

    def on_notify(*args: Any) -> None:
        applied.setdefault(args[3], time.perf_counter())

    await listener.execute(TRIGGER)
    await listener.add_listener("bench_replica", on_notify)
    total = int(rate * (warmup + duration))
    measured_from = int(rate * warmup)
    late = [0]

    async def produce(i: int) -> None:
        asset = uuid.uuid4()
        number = f"EQ-EV{tag}-{i:06d}"
        model = f"1LE1{i % 1000:04d}"
        serial = f"EV{tag}{i:06d}"
        envelope: EventEnvelope[Any] = EventEnvelope(
            type=Events.EQUIPMENT_CREATED,
            org_id=org_id,
            actor=Actor(user_id=user_id, channel="api"),
            data=EquipmentCreated(
                equipment_id=asset, number=number, manufacturer="Siemens", model=model,
                serial=serial, location="Bench / Events", source=Source.API,
            ),
        )  # fmt: skip
        async with pool.acquire() as conn:
            async with conn.transaction():
                await conn.execute(INSERT_ASSET, asset, org_id, number, model, model, serial,
                                   user_id)  # fmt: skip
                await conn.execute(
                    INSERT_OUTBOX, envelope.event_id, envelope.type, envelope.model_dump_json()
                )
                await conn.execute(NOTIFY)
            if i >= measured_from:
                committed[str(asset)] = time.perf_counter()

    tasks: set[asyncio.Task[None]] = set()
    try:
        start = last = time.perf_counter()
        for i in range(total):
            at = start + i / rate
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.005:
                late[0] += 1
            last = time.perf_counter()
            task = asyncio.create_task(produce(i))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks, timeout=30)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(k not in applied for k in committed):  # noqa: ASYNC110 - polls a dict
            await asyncio.sleep(0.1)
        produced_in = max(1e-9, last - start)
    finally:
        await listener.execute(DROP)
        await listener.close()
        await pool.close()
    lat = [applied[k] - t for k, t in committed.items() if k in applied]
    return {
        "rate": rate,
        "duration_s": duration,
        "events": len(committed),
        "applied": len(lat),
        "missing": len(committed) - len(lat),
        "late_starts": late[0],
        "achieved_rate": round((total - 1) / produced_in, 1),
        "p50_ms": round(pct(lat, 0.50) * 1000, 2),
        "p90_ms": round(pct(lat, 0.90) * 1000, 2),
        "p99_ms": round(pct(lat, 0.99) * 1000, 2),
        "max_ms": round(max(lat) * 1000, 2) if lat else 0.0,
    }
