"""Planned maintenance at scale: the scheduler's pass over 100,000 plans, machines' readings over
NATS, and the 90-day forecast through the gateway.

    uv run python bench/maintenance/maintenance_bench.py                    # all three parts
    uv run python bench/maintenance/maintenance_bench.py --parts readings --rates 1000,2000
    uv run python bench/maintenance/maintenance_bench.py --plans 20000 --seconds 20   # smaller

The system is started as ``make run`` starts it: a private ``nats-server`` (JetStream, file
store, ``sync_interval: always``), every stream of the catalogue declared as its publishers
would, and the console scripts ``rivet-workorders``, ``rivet-maintenance`` and (for the
forecast) ``rivet-gateway`` on the machine's PostgreSQL (``DATABASE_URL``, else 127.0.0.1:5432),
in a fresh database ``rivet_maintenance_bench``. The data (``seed.py``) is written with COPY in
the stored form while the services run, so the first scheduler pass after the load is the one
measured.

1. **schedule**: the plans are loaded in one transaction; the ``schedule`` job's next pass
   (``SCHEDULE_INTERVAL=2``) records the due ones and the ``open-orders`` job opens their work
   orders through ``rpc.workorders.create`` on the real work-order service. Timed from the
   pass's claim (``job_runs.started_at``) to the last occurrence recorded and to the last
   order stored; then checked: one occurrence per due plan, one work order per occurrence key.
2. **readings**: machines publish ``reading.submitted.<org_id>`` envelopes with nats-py's
   JetStream ``publish`` (docs/maintenance.md), open loop at ``--rate`` readings per second for
   ``--seconds`` seconds after a warm-up, spread over the counters; with ``--batch N`` edge
   gateways publish ``reading.batch_submitted.<org_id>`` messages of N readings each (of N
   different counters, as a gateway's scan collects them) at ``--rate / N`` messages a second.
   Publish -> stored is the reading's ``recorded_at`` (its transaction's start, by the
   database's clock on this machine) minus the wall-clock time just before its message's
   publish. Then checked: each published reading stored exactly once, nothing dead-lettered.
3. **forecast**: ``GET /api/maintenance/forecast?days=90`` through ``rivet-gateway`` (a token
   signed with the run's own key), sequential, after a warm-up, as a calendar client pages:
   the first page (default limit), page ``--page`` reached through the cursors, the first page
   of one asset's and of one assignee's forecast: p50/p99 and the answer's size of each.

Prints the figures (medians and p99 of this run, the load average at each part's start and
end, CPU seconds per process) and writes them as JSON with ``--json``. Nothing is asserted
about time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "lib"))
import one_service  # noqa: E402  (bench/lib: console scripts, env, streams)
import seed  # noqa: E402

from rivet_contracts import Identity, Role  # noqa: E402
from rivet_contracts.maintenance import reading_batch_subject, reading_subject  # noqa: E402
from rivet_devstack.keys import generate  # noqa: E402
from rivet_devstack.processes import ServiceProcess, cpu_seconds  # noqa: E402
from rivet_devstack.servers import (  # noqa: E402
    EmbeddedNats,
    drop_database,
    ensure_database,
    free_port,
    with_database,
)

DATABASE = "rivet_maintenance_bench"
FORECAST_ROUTE = "/api/maintenance/forecast"


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def connect(url: str, patience: float = 120.0) -> asyncpg.Connection:
    """A connection, waiting while the shared server has none to spare."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return await asyncpg.connect(url)
        except asyncpg.exceptions.TooManyConnectionsError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1.0)


# --- the system -----------------------------------------------------------------------------


@dataclass
class System:
    root: Path
    admin_url: str
    database_url: str = ""
    nats: EmbeddedNats | None = None
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    private_pem: str = ""

    @property
    def nats_url(self) -> str:
        assert self.nats is not None
        return self.nats.url

    def pids(self) -> dict[str, int]:
        found = {n: p.proc.pid for n, p in self.processes.items() if p.proc and p.alive()}
        if self.nats is not None and self.nats.proc is not None:
            found["nats-server"] = self.nats.proc.pid
        return found

    def cpu(self) -> dict[str, float]:
        return cpu_seconds(self.pids())

    def start(self, name: str, env: dict[str, str] | None = None, command: str = "") -> None:
        port = free_port()
        extra = (env or {}) | {"HTTP_PORT": str(port)}
        process = ServiceProcess(
            name,
            [one_service.command(command or name)],
            port,
            one_service.service_env(self.database_url, self.nats_url, extra),
            self.root / f"{name}.log",
        )
        self.processes[name] = process
        process.start()
        one_service.wait_ready(process, 180)

    def url(self, name: str) -> str:
        return self.processes[name].url

    def metrics(self, name: str) -> str:
        with urllib.request.urlopen(self.url(name) + "/metrics", timeout=5) as answer:  # noqa: S310
            text: str = answer.read().decode()
            return text

    def token(self, identity: Identity) -> str:
        """An access token as auth issues it, signed with the run's key (bench/lib)."""
        import gateway_front

        gateway = gateway_front.Gateway(self.processes["gateway"], self.private_pem)
        return gateway.token(identity)

    def logs(self, lines: int = 30) -> None:
        for process in self.processes.values():
            with contextlib.suppress(OSError):
                tail = process.log.read_text(errors="replace").splitlines()[-lines:]
                print(f"----- {process.name} (last {len(tail)} lines) -----", file=sys.stderr)
                print("\n".join(tail), file=sys.stderr)


@contextlib.contextmanager
def system(admin_url: str, database: str = DATABASE, reuse: bool = False) -> Iterator[System]:
    root = Path(tempfile.mkdtemp(prefix="rivet-bench-maintenance-"))
    sys_ = System(root, admin_url)
    failed = True
    try:
        sys_.nats = EmbeddedNats(root / "nats").start()
        asyncio.run(one_service.declare_streams(sys_.nats.url))
        if not reuse:
            asyncio.run(drop_database(admin_url, database))
        asyncio.run(ensure_database(admin_url, database))
        sys_.database_url = with_database(admin_url, database)
        for name in ("workorders", "maintenance"):
            one_service.migrate(name, sys_.database_url)
        private, public = generate()
        (root / "public.pem").write_text(public)
        sys_.private_pem = private
        yield sys_
        failed = False
    finally:
        if failed:
            sys_.logs()
        for process in reversed(sys_.processes.values()):
            process.stop()
        if sys_.nats is not None:
            sys_.nats.stop()
        shutil.rmtree(root, ignore_errors=True)


def settle(sys_: System, names: tuple[str, ...], limit: float = 120.0) -> float:
    """Wait until the services are idle (start-up, relays, consumers done)."""
    started = time.monotonic()
    pids = {n: p for n, p in sys_.pids().items() if n in names}
    while time.monotonic() - started < limit:
        before = cpu_seconds(pids)
        time.sleep(0.5)
        after = cpu_seconds(pids)
        if all(after.get(n, 0) - before.get(n, 0) < 0.03 for n in pids):
            break
    return time.monotonic() - started


# --- 1. the scheduler's pass -------------------------------------------------------------------


async def schedule_part(
    sys_: System, plans: int, meters: int, measure: bool = True, due: bool = True
) -> tuple[dict[str, Any], seed.DataSet]:
    """Load the data; with ``measure``, time the pass until every due plan's order is open.
    ``due`` False: no plan is due, the pass finds nothing (readings measured alone)."""
    db = await connect(sys_.database_url)
    try:
        started_load = time.perf_counter()
        async with db.transaction():
            data = await seed.load(db, plans, meters, datetime.now(UTC), due_now=due)
        if not measure:
            return {}, data
        say(
            f"{plans:,} calendar plans over {len(data.assets):,} assets and {meters} meter plans "
            f"loaded in {time.perf_counter() - started_load:.1f} s; {data.due:,} due now "
            f"({100 * data.due / plans:.1f} %)"
        )
        await db.execute("ANALYZE maintenance.plans")
        cpu0, load0 = sys_.cpu(), load_average()
        t0 = time.time()
        pass_started: datetime | None = None
        recorded_at: float | None = None
        opened_at: float | None = None
        while True:
            row = await db.fetchrow(
                "SELECT count(*) AS recorded, count(*) FILTER (WHERE status = 'open') AS open "
                "FROM maintenance.occurrences"
            )
            now = time.time()
            if row["recorded"] and pass_started is None:
                pass_started = await db.fetchval(
                    "SELECT started_at FROM maintenance.job_runs WHERE name = 'schedule'"
                )
            if recorded_at is None and row["recorded"] >= data.due:
                recorded_at = now
            if opened_at is None and row["open"] >= data.due:
                opened_at = now
                break
            if now - t0 > 3600:
                raise TimeoutError(f"after an hour: {dict(row)} of {data.due}")
            await asyncio.sleep(0.1)
        cpu1, load1 = sys_.cpu(), load_average()
        assert pass_started is not None
        assert recorded_at is not None
        first_order, last_order = await db.fetchrow(
            "SELECT min(opened_at), max(opened_at) FROM maintenance.occurrences"
        )
        checks = await _check_schedule(db, data)
    finally:
        await db.close()
    start = pass_started.timestamp()
    record_s = recorded_at - start
    total_s = opened_at - start
    orders_s = (last_order - first_order).total_seconds()
    result = {
        "plans": plans,
        "due": data.due,
        "due_share_pct": round(100 * data.due / plans, 1),
        "by_interval": data.by_interval,
        "pass_recorded_s": round(record_s, 2),
        "occurrences_per_s": round(data.due / record_s, 1),
        "all_orders_open_s": round(total_s, 2),
        "orders_per_s": round(data.due / total_s, 1),
        "orders_per_s_while_opening": round(data.due / max(orders_s, 1e-9), 1),
        "cpu_s": {k: round(cpu1.get(k, 0) - cpu0.get(k, 0), 1) for k in cpu1},
        "load_average": {"start": load0, "end": load1},
        **checks,
    }
    return result, data


async def _check_schedule(db: asyncpg.Connection, data: seed.DataSet) -> dict[str, Any]:
    per_plan = await db.fetch(
        "SELECT plan_id, count(*) AS n FROM maintenance.occurrences GROUP BY plan_id"
    )
    seen = {r["plan_id"]: r["n"] for r in per_plan}
    lost_plans = len(data.due_plan_ids - set(seen))
    doubled_plans = sum(1 for n in seen.values() if n > 1)
    extra = len(set(seen) - data.due_plan_ids)
    orders = await db.fetch(
        "SELECT idempotency_key, count(*) AS n FROM workorders.work_orders "
        "WHERE plan_id IS NOT NULL GROUP BY idempotency_key"
    )
    keys = {r["idempotency_key"]: r["n"] for r in orders}
    occurrence_keys = {r["key"] for r in await db.fetch("SELECT key FROM maintenance.occurrences")}
    return {
        "check": {
            "occurrences": sum(seen.values()),
            "plans_due_without_occurrence": lost_plans,
            "plans_with_two_occurrences": doubled_plans,
            "occurrences_of_plans_not_due": extra,
            "work_orders": sum(keys.values()),
            "keys_with_two_orders": sum(1 for n in keys.values() if n > 1),
            "occurrences_without_order": len(occurrence_keys - set(keys)),
            "orders_without_occurrence": len(set(keys) - occurrence_keys),
        }
    }


# --- 2. readings from machines ----------------------------------------------------------------


@dataclass
class Machines:
    """Counters whose readings keep going up across the runs of one benchmark."""

    data: seed.DataSet
    step: int = 0
    base: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(hours=2))


async def readings_part(
    sys_: System,
    machines: Machines,
    rate: float,
    seconds: float,
    warmup: float,
    core: bool = False,
    batch: int = 1,
) -> dict[str, Any]:
    nc = await nats.connect(sys_.nats_url)
    js = nc.jetstream()
    data = machines.data
    subject = reading_subject(data.org_id) if batch == 1 else reading_batch_subject(data.org_id)
    consumer = "maintenance-readings" if batch == 1 else "maintenance-reading-batches"
    org = str(data.org_id)
    meters = [str(m) for m in data.meters]
    sent: dict[tuple[str, str], float] = {}
    """(meter, read_at) -> wall-clock time just before its first publish."""
    failed = [0]
    retried = [0]
    in_flight: set[asyncio.Task[None]] = set()
    base = machines.step  # readings sent by the runs before
    first = 0  # messages are numbered from 0; message i holds readings base + i * batch ...
    messages = int(rate * (warmup + seconds) / batch)
    total = messages * batch
    measured_from = int(rate * warmup / batch)

    def one(n: int) -> tuple[str, str, dict[str, Any]]:
        """Reading ``n``: its meter, its time and as it is sent."""
        meter = meters[n % len(meters)]
        step = n // len(meters)
        read_at = (machines.base + timedelta(milliseconds=step)).isoformat()
        return meter, read_at, {"meter_id": meter, "value": 1000 + step * 0.25, "read_at": read_at}

    async def publish(i: int) -> None:
        event_id = str(uuid.uuid4())
        readings = [one(n) for n in range(base + i * batch, base + (i + 1) * batch)]
        if batch == 1:
            envelope = {"event_id": event_id, "type": "reading.submitted", "org_id": org,
                        "data": readings[0][2] | {"device": "bench"}}  # fmt: skip
        else:
            data = {"device": "bench", "readings": [r for _, _, r in readings]}
            envelope = {"event_id": event_id, "type": "reading.batch_submitted", "org_id": org,
                        "data": data}  # fmt: skip
        body = json.dumps(envelope).encode()
        at = time.time()
        if core:  # no acknowledgement awaited: the stream stores what reaches the server
            await nc.publish(subject, body, headers={"Nats-Msg-Id": event_id})
            if i >= measured_from:
                sent.update({(meter, read_at): at for meter, read_at, _ in readings})
            return
        for attempt in range(5):  # a machine sends again, same id: JetStream drops copies
            try:
                await js.publish(subject, body, timeout=10, headers={"Nats-Msg-Id": event_id})
                break
            except Exception:
                retried[0] += 1
                await asyncio.sleep(0.5 * (attempt + 1))
        else:
            failed[0] += 1
            return
        if i >= measured_from:
            sent.update({(meter, read_at): at for meter, read_at, _ in readings})

    stored_before = (await js.stream_info("READINGS")).state.messages
    pg = await connect(sys_.database_url)
    try:
        backends = await _backends(pg)
    finally:
        await pg.close()
    cpu0, load0 = sys_.cpu() | cpu_seconds(backends), load_average()
    late = 0
    started = time.perf_counter()
    i = first
    while i < first + messages:
        due = first + int((time.perf_counter() - started) * rate / batch) + 1
        while i < min(due, first + messages):
            task = asyncio.create_task(publish(i))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            i += 1
        if len(in_flight) > rate / batch:  # a second behind: the publisher cannot keep up
            late += 1
        await asyncio.sleep(0.01)
    machines.step = base + i * batch
    if in_flight:
        await asyncio.wait(in_flight, timeout=120)
    publish_seconds = time.perf_counter() - started
    info = await js.consumer_info("READINGS", consumer)
    # Not stored yet: in the consumer (pending, delivered and not acknowledged) and, published
    # with core NATS, still on their way into the stream (the server stores them in turn).
    # Counted in readings (a message holds ``batch``).
    unstored = messages - ((await js.stream_info("READINGS")).state.messages - stored_before)
    backlog = batch * (info.num_pending + (info.num_ack_pending or 0) + max(0, unstored))
    say(
        f"published {total:,} readings in {messages:,} messages in {publish_seconds:.1f} s "
        f"({total / publish_seconds:,.0f} readings/s); backlog {backlog:,} readings "
        f"({batch * max(0, unstored):,} not yet in the stream)"
    )
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        info = await js.consumer_info("READINGS", consumer)
        in_stream = (await js.stream_info("READINGS")).state.messages - stored_before
        idle = info.num_pending + (info.num_ack_pending or 0) == 0
        if idle and in_stream >= messages - failed[0]:
            break
        await asyncio.sleep(0.5)
    drained = time.perf_counter() - started
    # the service's own pace once the publisher has stopped (only with a real backlog)
    drain_rate = backlog / max(drained - publish_seconds, 1e-9) if backlog >= rate else None
    cpu1, load1 = sys_.cpu() | cpu_seconds(backends), load_average()
    postgres = sum(cpu1.get(k, 0) - cpu0.get(k, 0) for k in backends if k in cpu0)
    await nc.close()
    db = await connect(sys_.database_url)
    try:
        rows = await db.fetch(
            "SELECT meter_id::text AS meter, read_at, recorded_at FROM maintenance.readings "
            "WHERE source = 'device'"
        )
        dead = await db.fetchval(
            "SELECT count(*) FROM maintenance.dead_letters WHERE consumer = $1", consumer
        )
    finally:
        await db.close()
    copies: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row["meter"], row["read_at"].astimezone(UTC).isoformat())
        copies[key] = copies.get(key, 0) + 1
    latency = [
        row["recorded_at"].timestamp() - sent[key]
        for row in rows
        if (key := (row["meter"], row["read_at"].astimezone(UTC).isoformat())) in sent
    ]
    stored = sorted(
        row["recorded_at"].timestamp()
        for row in rows
        if (row["meter"], row["read_at"].astimezone(UTC).isoformat()) in sent
    )
    first_sent = min(sent.values()) if sent else float("nan")
    lost = sum(1 for key in sent if key not in copies)
    duplicated = sum(n - 1 for key, n in copies.items() if n > 1 and key in sent)
    stored_rate = len(stored) / (stored[-1] - first_sent) if len(stored) > 1 else float("nan")
    return {
        "target_rate": rate,
        "publish": "core NATS (no ack)" if core else "JetStream publish (ack awaited)",
        "readings_per_message": batch,
        "messages": messages,
        "seconds": seconds,
        "warmup_s": warmup,
        "meters": len(meters),
        "published": total,
        "published_rate": round(total / publish_seconds, 1),
        "publish_retries": retried[0],
        "publish_failed": failed[0],
        "publisher_behind_ticks": late,
        "measured": len(sent),
        "stored_rate": round(stored_rate, 1),
        "sustained": bool(stored_rate >= 0.97 * rate and backlog < rate),
        "backlog_at_end_of_publishing": backlog,
        "not_in_stream_at_end_of_publishing": batch * max(0, unstored),
        "p50_ms": round(pct(latency, 0.50) * 1000, 1),
        "p90_ms": round(pct(latency, 0.90) * 1000, 1),
        "p99_ms": round(pct(latency, 0.99) * 1000, 1),
        "max_ms": round(max(latency) * 1000, 1) if latency else None,
        "all_stored_after_s": round(drained, 1),
        "drain_rate": round(drain_rate, 1) if drain_rate is not None else None,
        "lost": lost,
        "duplicated": duplicated,
        "dead_lettered": dead,
        "cpu_s_per_1000": {
            **{
                k: round(1000 * (cpu1.get(k, 0) - cpu0.get(k, 0)) / total, 2)
                for k in cpu1
                if k not in backends
            },
            "postgres (the services' connections)": round(1000 * postgres / total, 2),
        },
        "load_average": {"start": load0, "end": load1},
    }


async def _backends(db: asyncpg.Connection) -> dict[str, int]:
    """The PostgreSQL server processes of the services' connections to the run's database
    (their CPU is the database's share of the work; a connection opened later is missed)."""
    rows = await db.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()"
    )
    return {f"pg-{row['pid']}": row["pid"] for row in rows}


# --- 3. the forecast through the gateway ------------------------------------------------------


def _timed(
    client: httpx.Client, url: str, headers: dict[str, str], params: dict[str, Any]
) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    answer = client.get(url, params=params, headers=headers)
    took = time.perf_counter() - started
    if answer.status_code != 200:
        raise RuntimeError(f"{url}: {answer.status_code} {answer.text[:300]}")
    return took, answer


def _figures(times: list[float], sizes: list[int], items: list[int]) -> dict[str, Any]:
    return {
        "requests": len(times),
        "p50_ms": round(statistics.median(times) * 1000, 1),
        "p99_ms": round(pct(times, 0.99) * 1000, 1),
        "max_ms": round(max(times) * 1000, 1),
        "items": round(statistics.median(items)),
        "bytes": round(statistics.median(sizes)),
    }


def _deep_cursor(data: seed.DataSet, since: str, days: int, n: int) -> str:
    """A cursor 60 days (and ``n`` hours, a different one each round) into the window that
    starts at ``since``, after the first plan due then: the service's cursor format
    (``reports/cursor.py``: ``f1.`` and base64 of its JSON), not imported from the service."""
    start = datetime.fromisoformat(since.replace("Z", "+00:00"))
    at = start + timedelta(days=min(60, days - 1), hours=n % 24)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    digest = hashlib.sha256(f"{data.org_id}|{days}||".encode()).hexdigest()[:16]
    body = {
        "s": (start - epoch) // timedelta(microseconds=1),
        "t": (at - epoch) // timedelta(microseconds=1),
        "p": "0" * 32,
        "k": 1,
        "h": digest,
    }
    raw = json.dumps(body, separators=(",", ":")).encode()
    return "f1." + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def forecast_part(
    sys_: System, data: seed.DataSet, iterations: int, days: int, page: int
) -> dict[str, Any]:
    """What a calendar client sends: the first page (default limit), page ``page`` reached
    through the cursors, and the first page of one asset's and of one assignee's forecast
    (the assignee is given the plans of a tenth of the assets first)."""
    identity = Identity(user_id=data.admin_id, org_id=data.org_id, role=Role.VIEWER)
    headers = {"Authorization": f"Bearer {sys_.token(identity)}"}
    url = sys_.url("gateway") + FORECAST_ROUTE
    assignee = uuid.uuid4()
    assigned = data.assets[::10]

    async def assign() -> int:
        conn = await connect(sys_.database_url)
        try:
            done = await conn.execute(
                "UPDATE maintenance.plans SET assignee_id = $1 WHERE equipment_id = ANY($2)",
                assignee,
                assigned,
            )
            await conn.execute("ANALYZE maintenance.plans")
        finally:
            await conn.close()
        return int(done.split()[-1])

    plans_assigned = asyncio.run(assign())
    kinds: dict[str, tuple[list[float], list[int], list[int]]] = {
        name: ([], [], [])
        for name in ("first_page", f"page_{page}", "deep_page", "asset", "assignee")
    }
    cpu0, load0 = sys_.cpu(), load_average()
    # the client's own full garbage collections (its imports: 100,000+ objects) would be timed
    # as the service's answers: kept out of them
    gc.collect()
    gc.freeze()
    with httpx.Client(timeout=60) as client:
        for n in range(iterations + 3):
            measured = n >= 3  # three warm-up rounds
            base = {"days": days}
            cursor = None
            for k in range(1, page + 1):
                took, answer = _timed(
                    client, url, headers, base | ({"cursor": cursor} if cursor else {})
                )
                body = answer.json()
                cursor = body["next_cursor"]
                name = "first_page" if k == 1 else f"page_{page}" if k == page else None
                if measured and name is not None:
                    kinds[name][0].append(took)
                    kinds[name][1].append(len(answer.content))
                    kinds[name][2].append(len(body["items"]))
                if k == 1:
                    since = body["since"]
                if cursor is None:
                    break
            # a page ~60 days into the window (a cursor as a client that paged there holds)
            took, answer = _timed(
                client, url, headers, base | {"cursor": _deep_cursor(data, since, days, n)}
            )
            if measured:
                kinds["deep_page"][0].append(took)
                kinds["deep_page"][1].append(len(answer.content))
                kinds["deep_page"][2].append(len(answer.json()["items"]))
            for name, query in (
                ("asset", {"equipment_id": str(data.assets[n % len(data.assets)])}),
                ("assignee", {"assignee_id": str(assignee)}),
            ):
                took, answer = _timed(client, url, headers, base | query)
                if measured:
                    kinds[name][0].append(took)
                    kinds[name][1].append(len(answer.content))
                    kinds[name][2].append(len(answer.json()["items"]))
    cpu1, load1 = sys_.cpu(), load_average()
    requests = (iterations + 3) * (page + 3)
    return {
        "days": days,
        "iterations": iterations,
        "assignee_plans": plans_assigned,
        **{name: _figures(*figures) for name, figures in kinds.items() if figures[0]},
        "cpu_s_per_request": {
            k: round((cpu1.get(k, 0) - cpu0.get(k, 0)) / requests, 4) for k in cpu1
        },
        "load_average": {"start": load0, "end": load1},
    }


# --- main ------------------------------------------------------------------------------------


def admin_url() -> str:
    url = os.environ.get("DATABASE_URL")
    return (
        with_database(url, "postgres") if url else "postgresql://postgres@127.0.0.1:5432/postgres"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="schedule,readings,forecast")
    parser.add_argument("--plans", type=int, default=100_000)
    parser.add_argument("--meters", type=int, default=500)
    parser.add_argument(
        "--rates", default="5000", help="readings per second, one run each (e.g. 1000,2000,5000)"
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="readings: measured period")
    parser.add_argument(
        "--core",
        action="store_true",
        help="readings published with core NATS (no acknowledgement awaited): a cheaper "
        "publisher, to offer rates a JetStream publish per reading cannot reach from Python",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=1,
        help="readings per message: 1 publishes reading.submitted (one a message), more "
        "reading.batch_submitted messages of that many readings, as an edge gateway sends",
    )
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument(
        "--iterations",
        type=int,
        default=50,
        help="forecast rounds (each: pages 1..--page, an asset's, an assignee's)",
    )
    parser.add_argument("--page", type=int, default=5, help="forecast: the later page measured")
    parser.add_argument("--replicas", type=int, default=1, help="maintenance processes")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--database", default=DATABASE, help="made afresh (dropped first) for the run"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="--parts forecast only: read the data an earlier run left in --database (seeded, "
        "the pass done) instead of making it again",
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "load_average_start": load_average(),
    }
    reuse = args.reuse and parts == {"forecast"}
    with system(admin_url(), args.database, reuse) as sys_:
        sys_.start("workorders")
        env = {"SCHEDULE_INTERVAL": "2"}
        for n in range(args.replicas):
            name = "maintenance" if n == 0 else f"maintenance-{n + 1}"
            sys_.start(name, env, command="maintenance")
        if "forecast" in parts:
            # one viewer asks 50-100 times a second: more than the per-user limit allows
            gateway_env = {"JWT_PUBLIC_KEY_FILE": str(sys_.root / "public.pem")}
            sys_.start("gateway", gateway_env | {"RATE_LIMIT_USER": "0"})
        idle = settle(sys_, tuple(sys_.processes))
        say(f"services ready: {', '.join(sys_.processes)}; idle after {idle:.1f} s")
        # The readings are measured alone: without the schedule part (whose pass opens about
        # 15 % of the plans' orders) no plan is due, unless the forecast needs the data a pass
        # leaves; then the readings wait until the pass has opened every order.
        due = "schedule" in parts or "forecast" in parts
        # the forecast is read once the pass has opened every order (not while it does)
        measure = "schedule" in parts or "forecast" in parts
        left = asyncio.run(seed.existing(sys_.database_url)) if reuse else None
        if left is not None:
            result, data = {}, left
            say(f"reusing the data in {args.database}: {len(data.assets):,} assets")
        else:
            result, data = asyncio.run(schedule_part(sys_, args.plans, args.meters, measure, due))
        if "schedule" in parts:
            results["schedule"] = result
            print(json.dumps(result, indent=2))
        if "readings" in parts:
            results["readings_alone"] = (
                f"after the pass opened all {data.due:,} orders"
                if due
                else f"no plan due ({args.plans:,} plans, none opening an order)"
            )
            settle(sys_, tuple(sys_.processes))
            say(f"readings measured alone: {results['readings_alone']}")
            machines = Machines(data)
            results["readings"] = []
            for rate in [float(r) for r in args.rates.split(",")]:
                settle(sys_, tuple(sys_.processes))
                step = asyncio.run(
                    readings_part(
                        sys_, machines, rate, args.seconds, args.warmup, args.core, args.batch
                    )
                )
                results["readings"].append(step)
                print(json.dumps(step, indent=2))
        if "forecast" in parts:
            settle(sys_, tuple(sys_.processes))
            results["forecast"] = forecast_part(sys_, data, args.iterations, args.days, args.page)
            print(json.dumps(results["forecast"], indent=2))
    results["load_average_end"] = load_average()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
