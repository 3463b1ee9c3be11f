"""Planned maintenance under the chaos: scheduler replicas racing over many due occurrences,
and machines' readings over NATS, while processes, NATS and PostgreSQL die.

``PlannedMaintenance`` registers an organization of its own (so the load's checks of the
chaos organization see none of its orders), creates a few assets through the gateway, and
writes ``plans`` calendar plans and ``meters`` counters into the maintenance schema in the
stored form of docs/maintenance.md (the plans are the load here, not their requests). Each
plan's one occurrence opens at its own moment, spread over ``spread`` seconds from the start
of the load, so every ``schedule`` pass of either maintenance replica finds some due and the
``open-orders`` jobs of both replicas open their work orders through
``rpc.workorders.create`` while the faults happen. Meanwhile machines publish readings on
``reading.submitted.<org_id>`` (nats-py, JetStream publish with ``Nats-Msg-Id`` = event id,
sent again with the same id after a failure, as a machine would), and an edge gateway
publishes a batch of one reading of every counter each second on
``reading.batch_submitted.<org_id>`` (half a step after the machines' readings of the same
counters, so both fit each counter's history in any order of arrival).

After the run, ``check`` proves from the database and the streams:

- *occurrences*: each plan has exactly one occurrence, open, with its work order; no
  occurrence waits for its order;
- *work orders*: each occurrence key is the idempotency key of exactly one work order of the
  organization, the one the occurrence names; no order of a plan without an occurrence;
- *events*: one ``pm.due`` per occurrence in the MAINTENANCE stream;
- *readings*: each reading JetStream acknowledged, alone or in a batch, is stored exactly once
  (its meter, time and value); a reading whose publish failed every time is stored at most
  once; nothing else is stored; nothing is dead-lettered; one ``meter.reading_recorded`` per
  reading stored alone, and the gateway's stored readings in ``meter.readings_recorded``
  events, each once.

Anything short is *lost*, anything over *duplicated*.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import nats
from chaos_cluster import Cluster
from chaos_jobs import Checked
from chaos_scenario import Fault
from chaos_verify import fetch
from chaos_workload import PASSWORD
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

SERVICE = "maintenance"
ENV = {"SCHEDULE_INTERVAL": "2", "OPEN_RETRY": "1"}
"""A scheduler pass every 2 s (one replica per pass) and a failed order request sent again
after 1 s (doubling): the run sees many passes and its retries converge quickly."""


def running(cluster: Cluster) -> bool:
    return bool(cluster.replicas_of(SERVICE))


@dataclass
class Reading:
    meter: str
    read_at: str
    value: float


@dataclass
class PlannedMaintenance:
    base_url: str
    plans: int
    meters: int
    spread: float
    """Seconds over which the plans come due, from the moment ``start`` runs."""
    rate: float
    """Readings per second published while the load runs."""
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    token: str = ""
    org_id: str = ""
    admin_id: str = ""
    asset_ids: list[str] = field(default_factory=list)
    meter_ids: list[str] = field(default_factory=list)
    plan_ids: list[str] = field(default_factory=list)
    acked: dict[str, Reading] = field(default_factory=dict)
    unsure: dict[str, Reading] = field(default_factory=dict)
    """Readings whose every publish failed: JetStream may have stored one anyway."""
    retried: int = 0
    batches: int = 0
    """The gateway's batch messages JetStream acknowledged."""
    task: asyncio.Task[None] | None = None
    gateway: asyncio.Task[None] | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    started_at: float | None = None
    base: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(hours=1))
    """Where the readings' times start: the machines' and the gateway's the same, so their
    readings of a counter interleave (set again when the load starts)."""

    # --- setting up ---------------------------------------------------------------------

    async def setup(self, cluster: Cluster) -> None:
        """The organization, its assets (through the gateway, replicated to the work-order
        service by their events) and the meters; the plans are written by ``start``."""
        email = f"pm-{self.run}@example.com"
        body = {"email": email, "password": PASSWORD, "full_name": "PM Admin",
                "organization_name": f"PM {self.run}"}  # fmt: skip
        async with httpx.AsyncClient(base_url=self.base_url, timeout=15) as client:
            await _retry(lambda: client.post("/api/auth/register", json=body), (201,))
            login = await _retry(
                lambda: client.post(
                    "/api/auth/login", data={"username": email, "password": PASSWORD}
                ),
                (200,),
            )
            self.token = login.json()["access_token"]
            headers = {"Authorization": f"Bearer {self.token}"}
            me = (await client.get("/api/auth/me", headers=headers)).json()
            self.org_id, self.admin_id = me["org_id"], me["id"]
            for n in range(max(1, self.plans // 50)):
                asset = {"manufacturer": "Grundfos", "model": f"CR {n}",
                         "serial": f"PM{self.run}-{n:04d}", "name": f"Pump {n}"}  # fmt: skip
                answer = await _retry(
                    lambda a=asset: client.post("/api/equipment", json=a, headers=headers),
                    (200, 201),
                )
                self.asset_ids.append(answer.json()["equipment"]["id"])
        db = await asyncpg.connect(cluster.database_url, timeout=10)
        try:
            deadline = time.monotonic() + 60
            while True:  # the work-order service knows the assets and the organization
                replicated = await db.fetchval(
                    "SELECT count(*) FROM workorders.equipment WHERE id = ANY($1::uuid[])",
                    self.asset_ids,
                )
                zone = await db.fetchval(
                    "SELECT count(*) FROM maintenance.organizations WHERE org_id = $1",
                    uuid.UUID(self.org_id),
                )
                if replicated == len(self.asset_ids) and zone:
                    break
                assert time.monotonic() < deadline, "assets never reached the replicas"
                await asyncio.sleep(0.2)
            for n in range(self.meters):
                meter = uuid.uuid4()
                self.meter_ids.append(str(meter))
                await db.execute(
                    "INSERT INTO maintenance.meters (id, org_id, equipment_id, name, kind, unit) "
                    "VALUES ($1, $2, $3, $4, 'counter', 'h')",
                    meter,
                    uuid.UUID(self.org_id),
                    uuid.UUID(self.asset_ids[n % len(self.asset_ids)]),
                    f"Run hours {n}",
                )
        finally:
            await db.close()

    async def _write_plans(self, cluster: Cluster) -> None:
        """Weekly plans, each due once within ``spread`` seconds from now (its next one a week
        later), in the stored form: the trigger as ``plans/triggers.py`` writes it and the
        schedule state the scheduler keeps."""
        db = await asyncpg.connect(cluster.database_url, timeout=10)
        try:
            now = await db.fetchval("SELECT now()")
            rows = []
            for n in range(self.plans):
                plan = uuid.uuid4()
                self.plan_ids.append(str(plan))
                due = now + timedelta(seconds=2 + self.spread * n / self.plans)
                trigger = {"every": 1, "unit": "weeks", "mode": "fixed",
                           "anchor": date.today().isoformat(), "at": "00:00",
                           "lead_seconds": 0}  # fmt: skip
                rows.append((plan, uuid.UUID(self.org_id),
                             uuid.UUID(self.asset_ids[n % len(self.asset_ids)]),
                             f"PM {n}", "Check and lubricate.", "[]", "medium", "preventive",
                             "active", "calendar", json.dumps(trigger), due, due, now, now,
                             uuid.UUID(self.admin_id)))  # fmt: skip
            await db.copy_records_to_table(
                "plans", schema_name="maintenance", records=rows,
                columns=["id", "org_id", "equipment_id", "title", "instructions", "checklist",
                         "priority", "work_type", "status", "trigger_kind", "trigger",
                         "next_due_at", "next_opens_at", "created_at", "updated_at",
                         "author_id"],
            )  # fmt: skip
        finally:
            await db.close()

    def start(self, cluster: Cluster) -> Fault:
        """A scheduled step (not a fault): the plans start coming due, the machines start
        publishing; ``finish`` stops the machines."""

        async def act(_: Cluster) -> str:
            self.started_at = time.monotonic()
            self.base = datetime.now(UTC) - timedelta(hours=1)
            await self._write_plans(cluster)
            self.task = asyncio.create_task(self._machines(cluster), name="chaos-machines")
            self.gateway = asyncio.create_task(self._gateway(cluster), name="chaos-gateway")
            return (
                f"{self.plans} plans due over the next {self.spread:g} s; machines publishing "
                f"{self.rate:g} readings/s on {self.meters} counters, a gateway a batch of "
                f"{self.meters} readings a second"
            )

        return Fault(0, "planned maintenance starts", act)

    async def _machines(self, cluster: Cluster) -> None:
        nc = await nats.connect(
            cluster.nats_servers, max_reconnect_attempts=-1, reconnect_time_wait=0.5
        )
        js = nc.jetstream()
        subject = f"reading.submitted.{self.org_id}"
        base = self.base
        in_flight: set[asyncio.Task[None]] = set()

        async def send(n: int) -> None:
            meter = self.meter_ids[n % len(self.meter_ids)]
            step = n // len(self.meter_ids)
            reading = Reading(meter, (base + timedelta(seconds=step)).isoformat(), float(step))
            event_id = str(uuid.uuid4())
            data = {"meter_id": reading.meter, "value": reading.value,
                    "read_at": reading.read_at, "device": "chaos"}  # fmt: skip
            body = json.dumps({"event_id": event_id, "type": "reading.submitted",
                               "org_id": self.org_id, "data": data})  # fmt: skip
            for attempt in range(40):  # about a minute: NATS restarts within that
                try:
                    await js.publish(
                        subject, body.encode(), timeout=3, headers={"Nats-Msg-Id": event_id}
                    )
                except Exception:
                    self.retried += attempt == 0
                    await asyncio.sleep(min(0.25 * 2**attempt, 2.0))
                    continue
                self.acked[event_id] = reading
                return
            self.unsure[event_id] = reading

        try:
            n = 0
            started = time.monotonic()
            while not self.stop.is_set():
                due = int((time.monotonic() - started) * self.rate)
                while n < due:
                    task = asyncio.create_task(send(n))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                    n += 1
                await asyncio.sleep(0.05)
            if in_flight:
                await asyncio.wait(in_flight, timeout=120)
        finally:
            await nc.close()

    async def _gateway(self, cluster: Cluster) -> None:
        """An edge gateway: each second one batch message with a reading of every counter,
        at ``step + 0.5`` s after the machines' base with the value ``step + 0.5``, sent again
        with the same id after a failure."""
        nc = await nats.connect(
            cluster.nats_servers, max_reconnect_attempts=-1, reconnect_time_wait=0.5
        )
        js = nc.jetstream()
        subject = f"reading.batch_submitted.{self.org_id}"
        base = self.base
        try:
            step = 0
            while not self.stop.is_set():
                at = (base + timedelta(seconds=step + 0.5)).isoformat()
                readings = [Reading(meter, at, step + 0.5) for meter in self.meter_ids]
                event_id = str(uuid.uuid4())
                data = {"device": "chaos-gateway", "readings": [
                    {"meter_id": r.meter, "value": r.value, "read_at": r.read_at}
                    for r in readings]}  # fmt: skip
                body = json.dumps({"event_id": event_id, "type": "reading.batch_submitted",
                                   "org_id": self.org_id, "data": data})  # fmt: skip
                for attempt in range(40):
                    try:
                        await js.publish(
                            subject, body.encode(), timeout=3, headers={"Nats-Msg-Id": event_id}
                        )
                    except Exception:
                        self.retried += attempt == 0
                        await asyncio.sleep(min(0.25 * 2**attempt, 2.0))
                        continue
                    self.batches += 1
                    for n, reading in enumerate(readings):
                        self.acked[f"{event_id}/{n}"] = reading
                    break
                else:
                    for n, reading in enumerate(readings):
                        self.unsure[f"{event_id}/{n}"] = reading
                step += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), 1.0)
        finally:
            await nc.close()

    async def finish(self) -> str:
        """After the load: wait until the last plan has come due, stop the machines (an
        ``after_load`` step)."""
        if self.task is None or self.started_at is None:
            return "planned maintenance NOT STARTED"
        await asyncio.sleep(max(0.0, self.started_at + self.spread + 2 - time.monotonic()))
        self.stop.set()
        await self.task
        if self.gateway is not None:
            await self.gateway
        return (
            f"machines stopped: {len(self.acked)} readings acknowledged ({self.batches} "
            f"batches), {len(self.unsure)} never acknowledged, {self.retried} sent again after "
            "a failed publish"
        )

    # --- checking -----------------------------------------------------------------------

    async def check(self, cluster: Cluster) -> Checked:
        checked = Checked()
        lost, duplicated = checked.lost, checked.duplicated
        org = uuid.UUID(self.org_id)
        db = await asyncpg.connect(cluster.database_url, timeout=10)
        try:
            occurrences = await db.fetch(
                "SELECT plan_id::text AS plan, key, status, work_order_id, attempts "
                "FROM maintenance.occurrences WHERE org_id = $1",
                org,
            )
            orders = await db.fetch(
                "SELECT id, idempotency_key, plan_id::text AS plan FROM workorders.work_orders "
                "WHERE org_id = $1 AND plan_id IS NOT NULL",
                org,
            )
            stored = await db.fetch(
                "SELECT meter_id::text AS meter, read_at, value FROM maintenance.readings "
                "WHERE org_id = $1 AND source = 'device'",
                org,
            )
            dead = await db.fetchval(
                "SELECT count(*) FROM maintenance.dead_letters "
                "WHERE consumer IN ('maintenance-readings', 'maintenance-reading-batches')"
            )
        finally:
            await db.close()
        per_plan = Counter(r["plan"] for r in occurrences)
        for plan in self.plan_ids:
            if per_plan[plan] != 1:
                (lost if per_plan[plan] == 0 else duplicated).append(
                    f"plan {plan}: {per_plan[plan]} occurrences (due once)"
                )
        stray = set(per_plan) - set(self.plan_ids)
        if stray:
            duplicated.append(f"{len(stray)} occurrences of plans never written")
        by_key = Counter(r["idempotency_key"] for r in orders)
        order_of = {r["idempotency_key"]: r["id"] for r in orders}
        for occurrence in occurrences:
            key = occurrence["key"]
            if occurrence["status"] != "open" or occurrence["work_order_id"] is None:
                lost.append(f"occurrence {key}: {occurrence['status']}, no work order")
            if by_key[key] != 1:
                (lost if by_key[key] == 0 else duplicated).append(
                    f"occurrence {key}: {by_key[key]} work orders"
                )
            elif occurrence["work_order_id"] not in (None, order_of[key]):
                duplicated.append(f"occurrence {key} names another order than its key's")
        keys = {r["key"] for r in occurrences}
        orphans = [k for k in by_key if k not in keys]
        if orphans:
            duplicated.append(f"{len(orphans)} plan work orders without an occurrence")
        pm_due, recorded, in_batches = await _maintenance_events(cluster, self.org_id)
        for key in keys:
            if pm_due[key] != 1:
                (lost if pm_due[key] == 0 else duplicated).append(
                    f"occurrence {key}: {pm_due[key]} pm.due events"
                )
        rows = Counter((r["meter"], r["read_at"].isoformat(), float(r["value"])) for r in stored)

        def key_of(reading: Reading) -> tuple[str, str, float]:
            at = datetime.fromisoformat(reading.read_at).astimezone(UTC).isoformat()
            return reading.meter, at, reading.value

        acked = Counter(key_of(r) for r in self.acked.values())
        unsure = Counter(key_of(r) for r in self.unsure.values())
        for key, copies in rows.items():
            if copies > 1:
                duplicated.append(f"reading {key} stored {copies} times")
            elif key not in acked and key not in unsure:
                duplicated.append(f"reading {key} stored, never published")
        missing = [key for key in acked if key not in rows]
        if missing:
            lost.append(f"{len(missing)} acknowledged readings never stored, e.g. {missing[0]}")
        if dead:
            lost.append(f"{dead} readings (or batches) dead-lettered")
        alone = sum(1 for key in rows if key[2] % 1 == 0)  # the gateway's are step + 0.5
        if recorded != alone:
            (lost if recorded < alone else duplicated).append(
                f"{recorded} meter.reading_recorded events for {alone} readings stored alone"
            )
        batched = Counter(in_batches)
        for key, copies in batched.items():
            if copies > 1:
                duplicated.append(f"reading {key} in {copies} meter.readings_recorded events")
        if len(batched) != len(rows) - alone or set(batched) - set(rows):
            (lost if len(batched) < len(rows) - alone else duplicated).append(
                f"{len(batched)} readings in meter.readings_recorded for "
                f"{len(rows) - alone} batch readings stored"
            )
        checked.figures.update(
            {
                "plans": len(self.plan_ids),
                "occurrences": len(occurrences),
                "work orders": len(orders),
                "orders requested more than once": sum(r["attempts"] > 1 for r in occurrences),
                "pm.due": sum(pm_due.values()),
                "readings acknowledged": len(self.acked),
                "readings never acknowledged": len(self.unsure),
                "of those stored": sum(1 for key in unsure if key in rows),
                "readings stored": len(stored),
                "meter.reading_recorded": recorded,
                "batches acknowledged": self.batches,
                "readings in meter.readings_recorded": len(in_batches),
            }
        )
        return checked

    def summary(self, checked: Checked) -> list[str]:
        figures = ", ".join(f"{k} {v}" for k, v in checked.figures.items())
        return [
            f"planned maintenance {figures}",
            f"  lost {len(checked.lost)}, duplicated {len(checked.duplicated)}",
            *(f"  - {item}" for item in (checked.lost + checked.duplicated)[:20]),
        ]


async def _maintenance_events(
    cluster: Cluster, org_id: str
) -> tuple[Counter[str], int, list[tuple[str, str, float]]]:
    """``pm.due`` events of the organization by occurrence key, how many
    ``meter.reading_recorded`` events it has, and the readings (meter, time, value) of its
    ``meter.readings_recorded`` events, from the MAINTENANCE stream."""
    nc = await nats.connect(cluster.nats_servers, connect_timeout=5, max_reconnect_attempts=3)
    due: Counter[str] = Counter()
    recorded = 0
    in_batches: list[tuple[str, str, float]] = []
    try:
        js = nc.jetstream()
        info = await js.stream_info("MAINTENANCE")
        if not info.state.messages:
            return due, 0, in_batches
        sub = await js.pull_subscribe(
            ">",
            stream="MAINTENANCE",
            config=ConsumerConfig(
                ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=30
            ),
        )
        try:
            last = info.state.last_seq
            while True:
                try:
                    batch = await fetch(sub, 500, 3)
                except TimeoutError:  # nats-py's, or asyncio's from a pull of several
                    break
                for msg in batch:
                    event: dict[str, Any] = json.loads(msg.data)
                    if event.get("org_id") != org_id:
                        continue
                    if msg.subject == "pm.due":
                        due[event["data"]["key"]] += 1
                    elif msg.subject == "meter.reading_recorded":
                        recorded += 1
                    elif msg.subject == "meter.readings_recorded":
                        in_batches += [
                            (r["meter_id"],
                             datetime.fromisoformat(r["read_at"]).astimezone(UTC).isoformat(),
                             float(r["value"]))
                            for r in event["data"]["readings"]
                        ]  # fmt: skip
                if batch and batch[-1].metadata.sequence.stream >= last:
                    break
        finally:
            await sub.unsubscribe()
    finally:
        await nc.close()
    return due, recorded, in_batches


async def _retry(call: Any, ok: tuple[int, ...], tries: int = 60) -> httpx.Response:
    """A request retried while the system starts (5xx, connection errors)."""
    last: object = None
    for _ in range(tries):
        try:
            answer: httpx.Response = await call()
        except httpx.HTTPError as exc:
            last = exc
        else:
            if answer.status_code in ok:
                return answer
            last = f"{answer.status_code} {answer.text[:200]}"
            if answer.status_code < 500:
                break
        await asyncio.sleep(1)
    raise RuntimeError(f"setup request failed: {last}")
