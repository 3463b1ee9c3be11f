"""Webhook fan-out: one organization's events POSTed to ten endpoints that take them all.

    uv run python bench/integrations/webhooks_bench.py                      # 1,000 events/s, 30 s
    uv run python bench/integrations/webhooks_bench.py --rate 500 --seconds 20 --endpoints 5
    uv run python bench/integrations/webhooks_bench.py --profile /tmp/prof  # py-spy the service

The system is started as ``make run`` starts it: a private ``nats-server`` (JetStream, file
store, ``sync_interval: always``), every stream of the catalogue declared as its publishers
would, and the console script ``rivet-integrations`` (after ``rivet-integrations migrate``) on
the machine's PostgreSQL (``DATABASE_URL``, else 127.0.0.1:5432), in a fresh database
``rivet_webhooks_bench`` (``--database``). Webhooks may reach loopback: the service runs with
``WEBHOOK_ALLOW_PRIVATE=true``, as an on-premises deployment whose receivers are all trusted
(every send still resolves and checks the address).

1. **Receivers**: ``--endpoints`` HTTP servers on 127.0.0.1 (``receivers.py``, a process of
   their own, answering 200 at once with keep-alive) record each request's ``webhook-id`` and
   arrival time.
2. **Endpoints**: one per receiver, created with ``rpc.integrations.webhooks.create`` (an
   admin of the organization, the catalogue's models), each taking ``meter.reading_recorded``.
3. **Events**: ``meter.reading_recorded`` envelopes (the contract's model, one organization)
   are published into the ``MAINTENANCE`` stream as the maintenance service's outbox relay
   publishes them (JetStream ``publish_async``, header ``Nats-Msg-Id`` = ``event_id``,
   ``occurred_at`` = the wall-clock time just before the publish), open loop at ``--rate`` per
   second for ``--seconds``. Producing them through the maintenance service (machines'
   readings, stored, then the relay) tops out below 1,000/s on two cores (docs/performance.md)
   and would share the CPU with the service measured; the relay's own step (commit -> stream,
   a few milliseconds) is therefore not in the latency below.
4. The real exporter copies each event to the organization's stream; each endpoint's cursor
   (the fan-out, docs/adr/0022-webhook-fan-out-by-stream-cursor.md) reads it there and POSTs
   it; failures would become delivery rows for the retry job.

Measured: events offered and produced per second; deliveries per second while producing and
over the whole run; p50/p99 from the event's ``occurred_at`` to its arrival at each receiver
(first arrival of each delivery); the backlog when producing stops and the time to drain it; lost
deliveries (an (endpoint, event) not received when the wait ends; with ``drained``
false they may still be pending, see ``stored``) and duplicates (a ``webhook-id`` received
twice by one receiver); the signatures of the first requests of each receiver, verified with
``standardwebhooks``; CPU seconds of the integrations process, its PostgreSQL backends,
nats-server, the receivers and the producer; the load average. Nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
from standardwebhooks import Webhook

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))
import one_service  # noqa: E402  (bench/lib: console scripts, env, streams)

from rivet_contracts import EventEnvelope, Events, Identity, Role  # noqa: E402
from rivet_contracts.integrations import CREATE_WEBHOOK, CreateWebhook  # noqa: E402
from rivet_contracts.maintenance import MeterKind, MeterReadingRecorded  # noqa: E402
from rivet_devstack.processes import ServiceProcess, cpu_seconds  # noqa: E402
from rivet_devstack.servers import (  # noqa: E402
    EmbeddedNats,
    drop_database,
    ensure_database,
    free_port,
    with_database,
)

DATABASE = "rivet_webhooks_bench"
EVENT_TYPE = Events.METER_READING_RECORDED
STREAM = "MAINTENANCE"


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
    database: str
    database_url: str = ""
    nats: EmbeddedNats | None = None
    service: ServiceProcess | None = None
    receivers: subprocess.Popen[bytes] | None = None
    ports: list[int] = field(default_factory=list)
    backends: list[int] = field(default_factory=list)
    """PostgreSQL backends of the run's database (the service's pool), found after warm-up."""

    @property
    def nats_url(self) -> str:
        assert self.nats is not None
        return self.nats.url

    def pids(self) -> dict[str, int]:
        found: dict[str, int] = {}
        if self.service is not None and self.service.proc is not None:
            found["integrations"] = self.service.proc.pid
        if self.nats is not None and self.nats.proc is not None:
            found["nats-server"] = self.nats.proc.pid
        if self.receivers is not None:
            found["receivers"] = self.receivers.pid
        found |= {f"postgres-{pid}": pid for pid in self.backends}
        return found

    def cpu(self) -> dict[str, float]:
        found = cpu_seconds(self.pids())
        backends = sum(v for k, v in found.items() if k.startswith("postgres-"))
        found = {k: v for k, v in found.items() if not k.startswith("postgres-")}
        used = os.times()
        return found | {"postgres (service's backends)": backends,
                        "producer (this process)": used.user + used.system}  # fmt: skip

    def receivers_get(self, path: str, timeout: float = 60.0) -> dict[str, Any]:
        answer = httpx.get(f"http://127.0.0.1:{self.ports[0]}{path}", timeout=timeout)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def start_receivers(self, count: int) -> None:
        self.ports = [free_port() for _ in range(count)]
        log = open(self.root / "receivers.log", "wb")  # noqa: SIM115 - kept for the process
        self.receivers = subprocess.Popen(
            [sys.executable, str(HERE / "receivers.py"), *map(str, self.ports)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                self.receivers_get("/_count", timeout=1)
                return
            time.sleep(0.2)
        raise TimeoutError("the receivers did not start; see receivers.log")

    def start_service(self, env: dict[str, str]) -> None:
        port = free_port()
        extra = env | {"HTTP_PORT": str(port)}
        self.service = ServiceProcess(
            "integrations",
            [one_service.command("integrations")],
            port,
            one_service.service_env(self.database_url, self.nats_url, extra),
            self.root / "integrations.log",
        )
        self.service.start()
        one_service.wait_ready(self.service, 180)

    def logs(self, lines: int = 40) -> None:
        for name in ("integrations.log", "receivers.log"):
            with contextlib.suppress(OSError):
                tail = (self.root / name).read_text(errors="replace").splitlines()[-lines:]
                print(f"----- {name} (last {len(tail)} lines) -----", file=sys.stderr)
                print("\n".join(tail), file=sys.stderr)


@contextlib.contextmanager
def system(admin_url: str, database: str) -> Iterator[System]:
    root = Path(tempfile.mkdtemp(prefix="rivet-bench-webhooks-"))
    sys_ = System(root, admin_url, database)
    failed = True
    try:
        sys_.nats = EmbeddedNats(root / "nats").start()
        asyncio.run(one_service.declare_streams(sys_.nats.url))
        asyncio.run(drop_database(admin_url, database))
        asyncio.run(ensure_database(admin_url, database))
        sys_.database_url = with_database(admin_url, database)
        one_service.migrate("integrations", sys_.database_url)
        yield sys_
        failed = False
    finally:
        if failed:
            sys_.logs()
        if sys_.service is not None:
            sys_.service.stop()
        if sys_.receivers is not None:
            sys_.receivers.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                sys_.receivers.wait(10)
            if sys_.receivers.poll() is None:
                sys_.receivers.kill()
        if sys_.nats is not None:
            sys_.nats.stop()
        shutil.rmtree(root, ignore_errors=True)


def settle(sys_: System, limit: float = 120.0) -> float:
    """Wait until the service and NATS are idle."""
    started = time.monotonic()
    pids = {k: v for k, v in sys_.pids().items() if k in ("integrations", "nats-server")}
    while time.monotonic() - started < limit:
        before = cpu_seconds(pids)
        time.sleep(0.5)
        after = cpu_seconds(pids)
        if all(after.get(n, 0) - before.get(n, 0) < 0.03 for n in pids):
            break
    return time.monotonic() - started


# --- endpoints and events ---------------------------------------------------------------------


@dataclass
class Org:
    org_id: uuid.UUID
    admin: Identity
    endpoints: dict[int, tuple[uuid.UUID, str]] = field(default_factory=dict)
    """receiver port -> (endpoint id, secret)."""


async def create_endpoints(sys_: System) -> Org:
    org_id = uuid.uuid4()
    admin = Identity(user_id=uuid.uuid4(), org_id=org_id, role=Role.ADMIN)
    org = Org(org_id, admin)
    async with one_service.Caller(sys_.nats_url, admin) as caller:
        for n, port in enumerate(sys_.ports):
            request = CreateWebhook(
                url=f"http://127.0.0.1:{port}/hooks/{n}",
                event_types=[EVENT_TYPE],
                description=f"bench receiver {n}",
            )
            created = await caller.call(CREATE_WEBHOOK, request)
            org.endpoints[port] = (created.id, created.secret)
    return org


class Producer:
    """``meter.reading_recorded`` envelopes of one organization, as the relay publishes them."""

    def __init__(self, org: Org) -> None:
        self.org = org
        template = EventEnvelope[MeterReadingRecorded](
            type=EVENT_TYPE,
            org_id=org.org_id,
            correlation_id="bench",
            data=MeterReadingRecorded(
                reading_id=0,
                meter_id=uuid.uuid4(),
                equipment_id=uuid.uuid4(),
                kind=MeterKind.COUNTER,
                unit="h",
                value=0.0,
                read_at=datetime.now(UTC),
                source="device",
            ),
        )
        self.template = template.model_dump(mode="json")
        self.serial = 0
        self.sent: dict[str, float] = {}
        """event id -> occurred_at (wall clock, seconds)."""

    def next(self) -> tuple[str, bytes]:
        self.serial += 1
        event_id = str(uuid.uuid4())
        at = time.time()
        now = datetime.fromtimestamp(at, UTC).isoformat()
        body = dict(self.template, event_id=event_id, occurred_at=now)
        body["data"] = dict(body["data"], reading_id=self.serial, value=self.serial * 0.5,
                            read_at=now)  # fmt: skip
        self.sent[event_id] = at
        return event_id, json.dumps(body, separators=(",", ":")).encode()

    async def run(self, nc: Any, rate: float, seconds: float) -> dict[str, Any]:
        """Open loop: at ``rate`` per second for ``seconds``, acknowledgements awaited in the
        background (publish_async, as the relay)."""
        js = nc.jetstream()
        acks: list[asyncio.Future[Any]] = []
        total = int(rate * seconds)
        failed = 0
        behind = 0
        started = time.perf_counter()
        i = 0
        while i < total:
            due = min(total, int((time.perf_counter() - started) * rate) + 1)
            if due - i > rate / 10:
                behind += 1  # more than 100 ms late: the producer cannot keep up
            while i < due:
                event_id, body = self.next()
                acks.append(
                    await js.publish_async(
                        EVENT_TYPE, body, stream=STREAM, headers={"Nats-Msg-Id": event_id}
                    )
                )
                i += 1
            await asyncio.sleep(0.005)
        produced_in = time.perf_counter() - started
        for result in await asyncio.gather(*acks, return_exceptions=True):
            if isinstance(result, BaseException):
                failed += 1
        acked_in = time.perf_counter() - started
        return {
            "events": total,
            "publish_failed": failed,
            "produced_s": round(produced_in, 2),
            "acknowledged_s": round(acked_in, 2),
            "produced_per_s": round(total / produced_in, 1),
            "acknowledged_per_s": round((total - failed) / acked_in, 1),
            "producer_behind_ticks": behind,
        }


# --- one run ---------------------------------------------------------------------------------


async def wait_for(sys_: System, expected: int, limit: float) -> tuple[float, int]:
    """Seconds until the receivers have ``expected`` distinct deliveries (or ``limit``), and
    the distinct count then."""
    started = time.perf_counter()
    distinct = 0
    while time.perf_counter() - started < limit:
        distinct = (await asyncio.to_thread(sys_.receivers_get, "/_count"))["distinct"]
        if distinct >= expected:
            break
        await asyncio.sleep(0.1)
    return time.perf_counter() - started, distinct


async def warm_up(sys_: System, org: Org, events: int) -> dict[str, int]:
    """A few events end to end: the organization's stream made, connections open; the first
    requests' signatures verified (within the 5 minutes the verification allows)."""
    nc = await nats.connect(sys_.nats_url)
    try:
        producer = Producer(org)
        await producer.run(nc, rate=max(events / 2, 1), seconds=2)
    finally:
        await nc.close()
    expected = events * len(org.endpoints)
    took, distinct = await wait_for(sys_, expected, 120)
    say(f"warm-up: {distinct:,} of {expected:,} deliveries in {took:.1f} s")
    return verify(sys_.receivers_get("/_dump")["samples"], org)


def _backends(database_url: str, database: str) -> list[int]:
    async def find() -> list[int]:
        conn = await connect(database_url)
        try:
            rows = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                database,
            )
        finally:
            await conn.close()
        return [r["pid"] for r in rows]

    return asyncio.run(find())


async def measure(
    sys_: System, org: Org, rate: float, seconds: float, drain_limit: float
) -> dict[str, Any]:
    before = sys_.receivers_get("/_count")["distinct"]
    producer = Producer(org)
    nc = await nats.connect(sys_.nats_url)
    cpu0, load0 = sys_.cpu(), load_average()
    t_start = time.time()
    try:
        produced = await producer.run(nc, rate, seconds)
    finally:
        await nc.close()
    t_stop = time.time()
    load_producing = load_average()
    count = await asyncio.to_thread(sys_.receivers_get, "/_count")
    expected = len(producer.sent) * len(org.endpoints)
    backlog = expected - (count["distinct"] - before)
    say(
        f"produced {produced['events']:,} events in {produced['produced_s']} s; "
        f"backlog {backlog:,} of {expected:,} deliveries"
    )
    drained, distinct = await wait_for(sys_, before + expected, drain_limit)
    cpu1, load1 = sys_.cpu(), load_average()
    await asyncio.sleep(1.0)  # late duplicates, if any
    dump = await asyncio.to_thread(sys_.receivers_get, "/_dump", 120)
    return {
        "produced": produced,
        "t_start": t_start,
        "t_stop": t_stop,
        "backlog_at_stop": backlog,
        "drain_s": round(drained, 2),
        "drained": distinct >= before + expected,
        "cpu0": cpu0,
        "cpu1": cpu1,
        "load": {"start": load0, "end_of_producing": load_producing, "drained": load1},
        "sent": producer.sent,
        "dump": dump,
    }


async def database_figures(sys_: System) -> dict[str, Any]:
    """What the database holds after the run: the cursors (successes from the stream), the
    delivery rows (failures, retries) by status, the delivery log."""
    conn = await connect(sys_.database_url)
    try:
        cursors = await conn.fetchrow(
            "SELECT count(*) AS n, coalesce(sum(delivered), 0) AS delivered "
            "FROM integrations.webhook_cursors"
        )
        states = await conn.fetch(
            "SELECT status, count(*) AS n FROM integrations.webhook_deliveries GROUP BY status"
        )
        attempts = await conn.fetchrow(
            "SELECT count(*) AS n, count(*) FILTER (WHERE NOT delivered) AS failed "
            "FROM integrations.webhook_attempts"
        )
    finally:
        await conn.close()
    return {
        "cursors": cursors["n"],
        "delivered_from_stream": int(cursors["delivered"]),
        "delivery_rows": {r["status"]: r["n"] for r in states},
        "attempts": attempts["n"],
        "attempts_failed": attempts["failed"],
    }


def figures(run: dict[str, Any], org: Org, rate: float, seconds: float) -> dict[str, Any]:
    sent: dict[str, float] = run["sent"]
    dump = run["dump"]
    latency: list[float] = []
    arrivals_in_window = 0
    received = 0
    duplicated = 0
    lost = 0
    last_arrival = run["t_start"]
    for port, records in dump["arrivals"].items():
        first: dict[str, float] = {}
        for webhook_id, at in records:
            if webhook_id not in sent:
                continue  # the warm-up's
            if webhook_id in first:
                duplicated += 1
                continue
            first[webhook_id] = at
        received += len(first)
        lost += sum(1 for event_id in sent if event_id not in first)
        for webhook_id, at in first.items():
            latency.append(at - sent[webhook_id])
            if at <= run["t_stop"]:
                arrivals_in_window += 1
            last_arrival = max(last_arrival, at)
        del port
    window = run["t_stop"] - run["t_start"]
    expected = len(sent) * len(org.endpoints)
    cpu0, cpu1 = run["cpu0"], run["cpu1"]
    cpu = {k: round(cpu1.get(k, 0) - cpu0.get(k, 0), 1) for k in cpu1}
    whole = max(last_arrival - run["t_start"], 1e-9)
    return {
        "endpoints": len(org.endpoints),
        "offered_events_per_s": rate,
        "seconds": seconds,
        "events": len(sent),
        **{f"events_{k}": v for k, v in run["produced"].items() if k != "events"},
        "deliveries_asked_per_s": rate * len(org.endpoints),
        "deliveries_expected": expected,
        "deliveries_received": received,
        "deliveries_per_s_while_producing": round(arrivals_in_window / window, 1),
        "deliveries_per_s_whole_run": round(received / whole, 1),
        "p50_ms": round(pct(latency, 0.50) * 1000, 1),
        "p90_ms": round(pct(latency, 0.90) * 1000, 1),
        "p99_ms": round(pct(latency, 0.99) * 1000, 1),
        "max_ms": round(max(latency) * 1000, 1) if latency else None,
        "backlog_at_stop": run["backlog_at_stop"],
        "drain_s": run["drain_s"],
        "deliveries_per_s_after_producing": round(
            (received - arrivals_in_window) / max(last_arrival - run["t_stop"], 1e-9), 1
        )
        if last_arrival - run["t_stop"] > 0.5
        else None,
        "drained": run["drained"],
        "lost": lost,
        "duplicated": duplicated,
        "cpu_s": cpu,
        "cpu_ms_per_delivery": {
            k: round(1000 * v / max(received, 1), 3) for k, v in cpu.items() if v > 0
        },
        "integrations_cpu_cores": round(cpu.get("integrations", 0) / whole, 2),
        "load_average": run["load"],
    }


def verify(samples: dict[str, list[dict[str, Any]]], org: Org) -> dict[str, int]:
    """Each kept request verifies with its endpoint's secret (standardwebhooks, as documented
    for integrators), outside the 5-minute window check's reach (the samples are fresh)."""
    checked = bad = 0
    for port, requests in samples.items():
        _, secret = org.endpoints[int(port)]
        hook = Webhook(secret)
        for request in requests:
            checked += 1
            try:
                hook.verify(request["body"], request["headers"])
            except Exception:
                bad += 1
    return {"checked": checked, "bad": bad}


def service_log(sys_: System, json_path: Path | None) -> dict[str, Any]:
    """Warnings and errors the service logged (a failed pass shows here), and where its log is
    kept (beside ``--json``)."""
    log = sys_.root / "integrations.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    kept = None
    if json_path is not None:
        kept = json_path.with_suffix(".integrations.log")
        shutil.copyfile(log, kept)
    lines = text.splitlines()
    return {
        "warnings": sum(1 for line in lines if "WARNING" in line),
        "errors": sum(1 for line in lines if "ERROR" in line or "Traceback" in line),
        "kept": str(kept) if kept else None,
    }


# --- profiling ---------------------------------------------------------------------------------


def start_profile(sys_: System, folder: Path, seconds: float) -> subprocess.Popen[bytes]:
    exe = shutil.which("py-spy")
    if exe is None:
        raise SystemExit("py-spy not found: uv pip install py-spy (or put it on PATH)")
    assert sys_.service is not None
    assert sys_.service.proc is not None
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "integrations.speedscope.json"
    pid = str(sys_.service.proc.pid)
    argv = [exe, "record", "--pid", pid, "--duration", str(int(seconds)), "--rate", "50",
            "--format", "speedscope", "--output", str(out), "--nonblocking"]  # fmt: skip
    say(f"py-spy -> {out}")
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# --- main ------------------------------------------------------------------------------------


def admin_url() -> str:
    url = os.environ.get("DATABASE_URL")
    return (
        with_database(url, "postgres") if url else "postgresql://postgres@127.0.0.1:5432/postgres"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="events offered per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="producing for this long")
    parser.add_argument("--endpoints", type=int, default=10, help="receivers, one endpoint each")
    parser.add_argument("--warmup", type=int, default=100, help="events sent end to end first")
    parser.add_argument(
        "--drain-limit", type=float, default=600.0, help="seconds to wait for the backlog"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting of the service (e.g. WEBHOOK_CONCURRENCY=8); repeatable",
    )
    parser.add_argument("--profile", type=Path, metavar="DIR", help="py-spy the service")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--database", default=DATABASE, help="made afresh (dropped first) for the run"
    )
    args = parser.parse_args()
    env = {"WEBHOOK_ALLOW_PRIVATE": "true"} | dict(e.split("=", 1) for e in args.env)
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "settings": env,
        "load_average_start": load_average(),
    }
    with system(admin_url(), args.database) as sys_:
        sys_.start_receivers(args.endpoints)
        sys_.start_service(env)
        org = asyncio.run(create_endpoints(sys_))
        say(f"{len(org.endpoints)} endpoints on 127.0.0.1, taking {EVENT_TYPE}")
        signatures = asyncio.run(warm_up(sys_, org, args.warmup))
        sys_.backends = _backends(sys_.database_url, args.database)
        idle = settle(sys_)
        say(f"idle after {idle:.1f} s; offering {args.rate:g} events/s for {args.seconds:g} s")
        profiler = start_profile(sys_, args.profile, args.seconds + 5) if args.profile else None
        run = asyncio.run(measure(sys_, org, args.rate, args.seconds, args.drain_limit))
        if profiler is not None:
            profiler.wait(120)
        stored = asyncio.run(database_figures(sys_))
        result = figures(run, org, args.rate, args.seconds)
        result["stored"] = stored
        result["signatures_checked"] = signatures["checked"]
        result["signatures_bad"] = signatures["bad"]
        result["service_log"] = service_log(sys_, args.json)
        results["fanout"] = result
        print(json.dumps(result, indent=2))
    results["load_average_end"] = load_average()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
