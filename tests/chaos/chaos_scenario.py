"""A chaos run: load through the gateway, faults on a schedule, then convergence and checks.

Also the poison-message scenario: an event that always fails ends in ``dead_letters`` after
``CONSUMER_MAX_DELIVERIES`` deliveries, shows in ``rivet_dead_letters_total`` and does not hold
up a later event.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import chaos_attachments
import httpx
import nats
from chaos_cluster import Cluster
from chaos_verify import Report, summary, verify, wait_converged
from chaos_workload import Workload

from rivet_contracts import EventEnvelope, Events
from rivet_contracts.assets import Criticality, EquipmentCreated, Source


@dataclass
class Fault:
    at: float
    """Fraction of the operations done when the fault starts."""
    name: str
    action: Callable[[Cluster], Awaitable[str]]


def nats_kill() -> Fault:
    async def act(cluster: Cluster) -> str:
        await asyncio.to_thread(cluster.kill_nats, 1.0)
        return await _all_ready(cluster)

    return Fault(0, "kill -9 nats-server, restart on the same port and store", act)


def nats_pause(seconds: float) -> Fault:
    async def act(cluster: Cluster) -> str:
        cluster.pause_nats()
        try:
            await asyncio.sleep(seconds)
        finally:
            cluster.resume_nats()
        return await _all_ready(cluster)

    return Fault(0, f"SIGSTOP nats-server for {seconds:g} s, then SIGCONT", act)


def service_kill(name: str) -> Fault:
    async def act(cluster: Cluster) -> str:
        await asyncio.to_thread(cluster.kill_service, name, 0.5)
        took = await asyncio.to_thread(cluster.wait_ready, name, 90)
        return f"ready again {took:.1f} s after restart"

    return Fault(0, f"kill -9 {name}, restart it", act)


def nats_node_kill(
    index: int | None = None, down_for: float = 10.0, leader_of: str = "EQUIPMENT"
) -> Fault:
    """Cluster mode: ``kill -9`` one node (``index``, or the current leader of the stream
    ``leader_of``), keep it down ``down_for`` seconds, start it again on the same ports and store
    and wait until it has caught up."""

    async def act(cluster: Cluster) -> str:
        assert cluster.nats_cluster is not None
        chosen, why = index, ""
        if chosen is None:
            leader = await _stream_leader(cluster, leader_of)
            names = [node.name for node in cluster.nats_cluster.nodes]
            chosen = names.index(leader) if leader in names else 0
            why = f" (leader of {leader_of})" if leader in names else " (no leader found)"
        t0 = time.monotonic()
        current = await asyncio.to_thread(cluster.kill_nats_node, chosen, down_for)
        ready = await _all_ready(cluster)
        return (
            f"node n{chosen + 1}{why} down {down_for:g} s, current again {current:.1f} s after "
            f"its restart ({time.monotonic() - t0:.1f} s in all); {ready}"
        )

    return Fault(0, f"kill -9 one NATS node, restart it after {down_for:g} s", act)


async def _stream_leader(cluster: Cluster, stream: str) -> str | None:
    nc = await nats.connect(cluster.nats_servers, connect_timeout=5, max_reconnect_attempts=2)
    try:
        info = await nc.jetstream().stream_info(stream)
        return info.cluster.leader if info.cluster else None
    except Exception:
        return None
    finally:
        await nc.close()


Chooser = Callable[[Cluster], Awaitable[tuple[str, str]]]
"""Picks the process to kill when the fault starts: (name, why)."""


def replica_kill(target: str | Chooser, down_for: float = 15.0) -> Fault:
    """``kill -9`` one process of a replicated service (a name like ``assets-2``, or one chosen
    when the fault starts); the other replicas carry the load while it is down, then it is
    started again after ``down_for`` seconds."""

    async def act(cluster: Cluster) -> str:
        name, why = (target, "") if isinstance(target, str) else await target(cluster)
        t0 = time.monotonic()
        await asyncio.to_thread(cluster.kill_service, name, down_for)
        took = await asyncio.to_thread(cluster.wait_ready, name, 120)
        return (
            f"killed {name}{why}; down {down_for:g} s, ready {took:.1f} s after its restart "
            f"({time.monotonic() - t0:.1f} s in all)"
        )

    label = target if isinstance(target, str) else "a replica"
    return Fault(0, f"kill -9 {label}, restart it after {down_for:g} s", act)


def postgres_restart() -> Fault:
    async def act(cluster: Cluster) -> str:
        await asyncio.to_thread(cluster.restart_postgres, 1.0)
        return await _all_ready(cluster)

    return Fault(0, "PostgreSQL immediate shutdown (crash), restart", act)


async def _all_ready(cluster: Cluster) -> str:
    started = time.monotonic()
    await asyncio.to_thread(cluster.wait_all_ready, 90)
    return f"all ready {time.monotonic() - started:.1f} s later"


def schedule(*faults: tuple[float, Fault]) -> list[Fault]:
    return [Fault(at, fault.name, fault.action) for at, fault in faults]


@dataclass
class Outcome:
    work: Workload
    report: Report
    faults: list[str] = field(default_factory=list)
    marks: list[tuple[float, str]] = field(default_factory=list)
    elapsed: float = 0.0
    after_load: list[str] = field(default_factory=list)
    """What the ``after_load`` steps said."""

    def summary(self) -> str:
        text = summary(self.work, self.report, self.faults, self.elapsed, self.marks)
        if not self.after_load:
            return text
        head, _, tail = text.rpartition("in the database")
        extra = "".join(f"  {line}\n" for line in self.after_load)
        return f"{head}after the load:\n{extra}in the database{tail}"


async def run(
    cluster: Cluster,
    operations: int,
    faults: list[Fault],
    *,
    workers: int = 12,
    converge_timeout: float = 150.0,
    before_load: Callable[[], Awaitable[object]] | None = None,
    after_load: tuple[Callable[[], Awaitable[str]], ...] = (),
    with_workload: Callable[[Workload], Awaitable[object]] | None = None,
) -> Outcome:
    """``before_load`` runs after the workload's setup (and ``with_workload`` with the set-up
    workload: its organization and admin), ``after_load`` steps (work started by
    a fault that must finish, e.g. an import) once the load and the faults are done and before
    convergence is awaited; what they return goes into the summary."""
    limits = httpx.Limits(max_connections=workers + 4, max_keepalive_connections=workers + 4)
    async with httpx.AsyncClient(base_url=cluster.gateway_url, limits=limits) as client:
        work = Workload(cluster.gateway_url, operations, workers=workers)
        await work.setup(client)
        attaching = (
            chaos_attachments.Attaching().bind(work) if chaos_attachments.running(cluster) else None
        )
        if before_load is not None:
            await before_load()
        if with_workload is not None:
            await with_workload(work)
        outcome = Outcome(work, Report())
        started = time.monotonic()
        load = asyncio.create_task(work.run_all(), name="chaos-load")

        async def inject() -> None:
            for fault in faults:
                while work.done < fault.at * operations:
                    if load.done():
                        outcome.faults.append(f"NOT RUN (load ended): {fault.name}")
                        return
                    await asyncio.sleep(0.05)
                at, t0 = work.done, time.monotonic()
                outcome.marks.append((t0, fault.name.split(",")[0]))
                result = await fault.action(cluster)
                outcome.faults.append(
                    f"at op {at:>5} (+{t0 - started:5.1f} s): {fault.name}; {result}"
                )

        async def progress() -> None:
            while True:
                await asyncio.sleep(15)
                counts = work.outcomes()
                print(
                    f"[chaos +{time.monotonic() - started:4.0f} s] {work.done}/{operations} ops:"
                    f" ok {counts['ok']} failed {counts['failed']} unknown {counts['unknown']}",
                    flush=True,
                )

        injector = asyncio.create_task(inject(), name="chaos-faults")
        reporter = asyncio.create_task(progress(), name="chaos-progress")
        try:
            await load
            await injector
        finally:
            for task in (load, injector, reporter):
                task.cancel()
        outcome.elapsed = time.monotonic() - started
    for step in after_load:
        outcome.after_load.append(await step())
    await asyncio.to_thread(cluster.wait_all_ready, 120)
    report = outcome.report
    report.converge_seconds, report.pending = await wait_converged(
        cluster, converge_timeout, report.history
    )
    checked = await verify(cluster, work)
    report.lost, report.duplicated = checked.lost, checked.duplicated
    report.figures = checked.figures
    if attaching is not None:  # files added and removed during the load
        files = await attaching.check(cluster, work)
        report.lost += files.lost
        report.duplicated += files.duplicated
        report.figures.update(files.figures)
    return outcome


# --- poison -------------------------------------------------------------------------------

CONSUMER = "workorders-equipment-created"
_DEAD_METRIC = re.compile(
    r'^rivet_dead_letters_total\{consumer="' + CONSUMER + r'",service="workorders"\} (\S+)$', re.M
)


def dead_letters_metric(cluster: Cluster) -> float:
    found = _DEAD_METRIC.search(cluster.metrics("workorders"))
    return float(found.group(1)) if found else 0.0


def _equipment_event(org_id: str, asset_id: uuid.UUID, number: str, version: int) -> Any:
    return EventEnvelope(
        type=Events.EQUIPMENT_CREATED,
        org_id=uuid.UUID(org_id),
        data=EquipmentCreated(
            equipment_id=asset_id,
            number=number,
            manufacturer="ABB",
            model="M3BP 160",
            serial=f"POISON-{number}",
            criticality=Criticality.HIGH,
            version=version,
            source=Source.API,
        ),
    )


@dataclass
class PoisonResult:
    deliveries: int
    max_deliveries: int
    metric_before: float
    metric_after: float
    later_applied_first: bool
    later_applied: bool
    seconds_to_dead_letter: float
    redelivered_after: bool


async def poison(cluster: Cluster, work: Workload, max_deliveries: int) -> PoisonResult:
    """An ``equipment.created`` naming an existing asset under another organization: the
    replica refuses it on every delivery (a conflict), so it can only be dead-lettered."""
    db = await asyncpg.connect(cluster.database_url)
    nc = await nats.connect(cluster.nats_servers)
    js = nc.jetstream()
    try:
        victim = await db.fetchrow("SELECT id, number FROM workorders.equipment LIMIT 1")
        assert victim is not None, "the load created no asset"
        bad = _equipment_event(str(uuid.uuid4()), victim["id"], victim["number"], 99)
        fresh = uuid.uuid4()
        good = _equipment_event(work.org_id, fresh, "EQ-2099-999999", 1)
        before = dead_letters_metric(cluster)
        started = time.monotonic()
        for event in (bad, good):
            await js.publish(
                event.type,
                event.model_dump_json().encode(),
                headers={"Nats-Msg-Id": str(event.event_id)},
            )
        dead: asyncpg.Record | None = None
        deadline = started + 90
        while dead is None and time.monotonic() < deadline:
            dead = await db.fetchrow(
                "SELECT deliveries, created_at FROM workorders.dead_letters "
                "WHERE consumer = $1 AND event_id = $2",
                CONSUMER,
                str(bad.event_id),
            )
            await asyncio.sleep(0.2)
        assert dead is not None, "the poison message never reached dead_letters"
        took = time.monotonic() - started
        applied = await db.fetchrow(
            "SELECT processed_at FROM workorders.inbox WHERE consumer = $1 AND event_id = $2",
            CONSUMER,
            good.event_id,
        )
        replicated = await db.fetchval(
            "SELECT count(*) FROM workorders.equipment WHERE id = $1", fresh
        )
        await asyncio.sleep(3)  # acknowledged: no further delivery
        info = await js.consumer_info("EQUIPMENT", CONSUMER)
        result = PoisonResult(
            deliveries=dead["deliveries"],
            max_deliveries=max_deliveries,
            metric_before=before,
            metric_after=dead_letters_metric(cluster),
            later_applied_first=applied is not None
            and applied["processed_at"] < dead["created_at"],
            later_applied=applied is not None and replicated == 1,
            seconds_to_dead_letter=took,
            redelivered_after=(info.num_ack_pending or 0) + info.num_pending > 0,
        )
        # The dead letter is announced on the DEADLETTERS stream too.
        stream = await js.stream_info("DEADLETTERS")
        assert stream.state.messages >= 1
        return result
    finally:
        await db.close()
        await nc.close()
