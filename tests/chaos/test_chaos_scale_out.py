"""Scale-out: two replicas of every service, each event handled once, each job run once.

Every service but the gateway runs twice (two processes, same settings: one RPC queue group,
shared durable consumers, outbox relays, queue jobs and periodic-job claims side by side). Under
the chaos load a CSV import runs on the two assets replicas. Then the chaos checks must find
nothing lost and nothing doubled (each durable consumer's inbox holds each event of its subject
once, the effects match), every import row must be imported exactly once, and no periodic job
may have run more often than its period allows (``job_runs``).

- ``make chaos`` (``RIVET_CHAOS=full``): NATS is a JetStream cluster of three private
  nats-servers, every stream (and the upload store) with three replicas, and faults:
  ``RIVET_CHAOS_SCALE_OPERATIONS`` operations (6,000 by default), a
  ``RIVET_CHAOS_IMPORT_ROWS``-row import (2,000), the assets replica doing the import
  ``kill -9``ed (another takes the job over when its lease runs out), one NATS node (the
  EQUIPMENT stream's leader) ``kill -9``ed, a work-order replica (a consumer with events
  in hand) and an integrations replica (webhook requests in flight) ``kill -9``ed; each is
  restarted; the webhook receiver answers 500 for 8 s, later refuses connections for 8 s.
- ``make test``: the light variant: one NATS, the machine's PostgreSQL, 1,500 operations, a
  300-row import (under a minute; a NATS-node or consumer kill makes the system wait out
  JetStream's 60 s ``ack_wait`` before it converges, which the full run pays); of the faults
  only the webhook receiver's 500s and an integrations replica killed mid-delivery (its leases
  and exported batch come back within seconds).

Both replicas of the integrations service copy events to the organizations' streams and send
webhooks to a local receiver that fails for a while (``chaos_webhooks``): every event an
endpoint takes arrives, the delivery log agrees with the receiver, each organization's stream
holds each exported event once.

One run per mode serves both tests below.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import pytest
from chaos_attachments import ENV as FILE_ENV
from chaos_cluster import Cluster
from chaos_jobs import (
    Checked,
    CsvImport,
    Jobs,
    check_jobs,
    read_baseline,
    read_jobs,
    work_split,
)
from chaos_maintenance import ENV as PM_ENV
from chaos_maintenance import PlannedMaintenance
from chaos_maintenance import running as maintenance_running
from chaos_scenario import (
    Fault,
    Outcome,
    nats_node_kill,
    postgres_restart,
    replica_kill,
    run,
    schedule,
)
from chaos_webhooks import ENV as HOOK_ENV
from chaos_webhooks import Webhooks, receiving

from rivet_devstack.testing.env import TestEnv

pytestmark = [pytest.mark.chaos, pytest.mark.slow]
FULL = os.environ.get("RIVET_CHAOS") == "full"
OPERATIONS = int(os.environ.get("RIVET_CHAOS_SCALE_OPERATIONS", "6000"))
IMPORT_ROWS = int(os.environ.get("RIVET_CHAOS_IMPORT_ROWS", "2000"))
REPLICAS = 2
LIGHT_OPERATIONS = 1500
LIGHT_IMPORT_ROWS = 300
PM_PLANS = int(os.environ.get("RIVET_CHAOS_PM_PLANS", "2000"))
LIGHT_PM_PLANS = 300


@dataclass
class ScaleOut:
    outcome: Outcome
    imported: Checked
    csv: CsvImport
    jobs: Jobs | None
    split: dict[str, Counter[str]]
    """Work per process since its last start."""
    restarted: set[str]
    seconds: float
    pm: PlannedMaintenance | None = None
    pm_checked: Checked | None = None
    hooks: Webhooks | None = None
    hooks_checked: Checked | None = None

    def summary(self) -> str:
        figures = ", ".join(f"{k}: {v}" for k, v in self.imported.figures.items())
        lines = [
            self.outcome.summary(),
            f"import check      {figures}",
            f"  lost {len(self.imported.lost)}, duplicated {len(self.imported.duplicated)}",
            *(f"  - {item}" for item in (self.imported.lost + self.imported.duplicated)[:20]),
        ]
        if self.pm is not None and self.pm_checked is not None:
            lines += self.pm.summary(self.pm_checked)
        if self.hooks is not None and self.hooks_checked is not None:
            lines += self.hooks.summary(self.hooks_checked)
        lines.append("work per process (since its last start):")
        for name, counts in self.split.items():
            work = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            mark = " (restarted)" if name in self.restarted else ""
            lines.append(f"  {name:<13} {work or '-'}{mark}")
        if self.outcome.report.history:
            lines.append("pending while converging:")
            lines += [f"  {line}" for line in self.outcome.report.history]
        if self.jobs is None:
            lines.append("periodic jobs     no job_runs table in any schema yet")
        else:
            lines.append(f"periodic jobs     after {self.jobs.elapsed:.0f} s:")
            lines += check_jobs(self.jobs)[2]
        lines.append(f"scale-out run     {self.seconds:.0f} s from start to verdict")
        return "\n".join(lines)


def _steps(
    cluster: Cluster, csv: CsvImport, pm: PlannedMaintenance | None, timeout: float
) -> tuple[Callable[[], Awaitable[None]], tuple[Callable[[], Awaitable[str]], ...]]:
    """What runs before the load (the import's and planned maintenance's set-up) and after it
    (the import finishing, the machines stopping)."""

    async def before() -> None:
        await csv.setup()
        if pm is not None:
            await pm.setup(cluster)

    after: tuple[Callable[[], Awaitable[str]], ...] = (lambda: csv.finish(timeout),)
    if pm is not None:
        after = (*after, pm.finish)
    return before, after


async def _opening_replica(cluster: Cluster) -> tuple[str, str]:
    """The maintenance replica writing occurrences right now (a scheduler pass recording them
    or an opener storing their orders), seen in ``pg_stat_activity``; the second replica if
    none is seen within 10 s."""
    replicas = cluster.replicas_of("maintenance")
    db = await asyncpg.connect(cluster.database_url, timeout=10)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for row in await db.fetch(
                "SELECT client_port FROM pg_stat_activity WHERE datname = current_database() "
                "AND client_port IS NOT NULL AND state <> 'idle' AND query ~* $1",
                r"(insert\s+into|update)\s+(\"?maintenance\"?\.)?\"?(occurrences|plans)",
            ):
                name = await asyncio.to_thread(cluster.owner_of_connection, row["client_port"])
                if name in replicas:
                    return name, " (writing occurrences)"
            await asyncio.sleep(0.05)
    finally:
        await db.close()
    return replicas[-1], " (none seen writing occurrences)"


def _full(
    cluster: Cluster, csv: CsvImport, pm: PlannedMaintenance | None, hooks: Webhooks
) -> Outcome:
    # in turn, each under load (the load lasts about a minute here)
    planned: list[tuple[float, Fault]] = []
    if pm is not None:
        # both while plans are still coming due (over two minutes from the start)
        planned = [
            (0.02, pm.start(cluster)),
            (0.20, replica_kill(_opening_replica, down_for=5.0)),
            (0.35, postgres_restart()),
        ]
    faults = schedule(
        *planned,
        (0.05, csv.start()),
        (0.10, replica_kill(csv.holder, down_for=15.0)),
        (0.45, nats_node_kill(None, down_for=10.0)),
        (0.75, replica_kill("workorders-2", down_for=5.0)),
        *(
            [(0.30, replica_kill("attachments-2", down_for=5.0))]
            if "attachments-2" in cluster.services
            else []
        ),
        (0.15, hooks.outage("500", 8)),
        (0.55, hooks.kill_mid_delivery(down_for=5.0)),
        (0.65, hooks.outage("refused", 8)),
    )
    faults.sort(key=lambda fault: fault.at)
    before, after = _steps(cluster, csv, pm, 300)
    return asyncio.run(
        run(
            cluster,
            OPERATIONS,
            faults,
            workers=16,
            converge_timeout=200,
            before_load=before,
            after_load=after,
            with_workload=lambda work: hooks.setup(cluster, work),
        )
    )


def _light(
    cluster: Cluster, csv: CsvImport, pm: PlannedMaintenance | None, hooks: Webhooks
) -> Outcome:
    planned = [(0.05, pm.start(cluster))] if pm is not None else []
    faults = schedule(
        *planned,
        (0.1, hooks.outage("500", 3)),
        (0.2, csv.start()),
        (0.4, hooks.kill_mid_delivery(down_for=1.0)),
    )
    before, after = _steps(cluster, csv, pm, 60)
    return asyncio.run(
        run(
            cluster,
            LIGHT_OPERATIONS,
            faults,
            workers=8,
            converge_timeout=60,
            before_load=before,
            after_load=after,
            with_workload=lambda work: hooks.setup(cluster, work),
        )
    )


@pytest.fixture(scope="module")
def scale_out(request: pytest.FixtureRequest) -> ScaleOut:
    """One scale-out run (full under ``RIVET_CHAOS=full``, light otherwise), checked."""
    started = time.monotonic()
    admin_url = None
    # a periodic job claimed every 2 s (one replica per pass) instead of every minute
    env = {
        "HEALTH_REFRESH_INTERVAL": "2",
        "OVERDUE_INTERVAL": "2",
        **PM_ENV,
        **HOOK_ENV,
        **FILE_ENV,
    }
    if not FULL:
        test_env: TestEnv = request.getfixturevalue("test_env")
        admin_url = test_env.admin_url
        # the machine's PostgreSQL (100 connections), shared with the test session's services
        env |= {
            "CONSUMER_RETRY_DELAY": "0.2",
            "OUTBOX_SAFETY_POLL": "2",
            "DB_POOL_SIZE": "3",
            "DB_POOL_OVERFLOW": "2",
        }
    with (
        Cluster.running(
            admin_url=admin_url, env=env, replicas=REPLICAS, nats_nodes=3 if FULL else 1
        ) as cluster,
        receiving() as hooks,
    ):
        baseline = asyncio.run(read_baseline(cluster))
        csv = CsvImport(cluster.gateway_url, IMPORT_ROWS if FULL else LIGHT_IMPORT_ROWS)
        pm = None
        if maintenance_running(cluster):  # two scheduler replicas racing, machines' readings
            pm = PlannedMaintenance(
                cluster.gateway_url,
                plans=PM_PLANS if FULL else LIGHT_PM_PLANS,
                meters=20 if FULL else 10,
                # full: longer than the load, so the kills and the restart find plans coming due
                spread=120.0 if FULL else 12.0,
                rate=50.0 if FULL else 20.0,
            )
        outcome = (_full if FULL else _light)(cluster, csv, pm, hooks)
        imported = asyncio.run(csv.check(cluster))
        pm_checked = asyncio.run(pm.check(cluster)) if pm is not None else None
        hooks_checked = asyncio.run(hooks.check(cluster))
        jobs = asyncio.run(read_jobs(cluster, baseline))
        split = work_split(cluster)
        restarted = {name for name, process in cluster.services.items() if process.starts > 1}
    return ScaleOut(
        outcome,
        imported,
        csv,
        jobs,
        split,
        restarted,
        time.monotonic() - started,
        pm,
        pm_checked,
        hooks,
        hooks_checked,
    )


def _check(result: ScaleOut, operations: int) -> None:
    outcome, report = result.outcome, result.outcome.report
    assert report.converge_seconds is not None, f"never converged: {report.pending}"
    assert not report.lost, report.lost[:20]
    assert not report.duplicated, report.duplicated[:20]
    assert outcome.work.done >= operations
    assert outcome.work.outcomes()["ok"] > 0
    assert all("NOT RUN" not in fault for fault in outcome.faults), outcome.faults
    assert all("NOT " not in line for line in outcome.after_load), outcome.after_load
    assert not result.imported.lost, result.imported.lost[:20]
    assert not result.imported.duplicated, result.imported.duplicated[:20]
    if result.pm_checked is not None:
        assert not result.pm_checked.lost, result.pm_checked.lost[:20]
        assert not result.pm_checked.duplicated, result.pm_checked.duplicated[:20]
        assert result.pm_checked.figures["work orders"] == result.pm_checked.figures["plans"]
        assert result.pm_checked.figures["readings acknowledged"] > 0
    if result.hooks_checked is not None:
        assert not result.hooks_checked.lost, result.hooks_checked.lost[:20]
        assert not result.hooks_checked.duplicated, result.hooks_checked.duplicated[:20]
    # both replicas took part: requests shared by the queue group, events by the consumers
    # (a restarted replica's counters start again at 0, maybe after the load)
    for name in {"assets", "assets-2", "workorders", "workorders-2"} - result.restarted:
        assert result.split[name]["requests"] > 0, (name, result.split[name])
    for name in {"workorders", "workorders-2"} - result.restarted:
        assert result.split[name]["events ok"] > 0, (name, result.split[name])


@pytest.mark.skipif(not FULL, reason="the full variant runs with `make chaos`")
@pytest.mark.timeout(3600)
def test_chaos_scale_out(scale_out: ScaleOut, capsys: pytest.CaptureFixture[str]) -> None:
    """2 replicas of every service, R3 streams on 3 nodes; the importing assets replica, a
    NATS node and a work-order replica killed under load; nothing lost, nothing doubled, each
    import row once."""
    with capsys.disabled():
        print(scale_out.summary())
    _check(scale_out, OPERATIONS)


@pytest.mark.skipif(FULL, reason="make chaos runs the full variant")
@pytest.mark.timeout(240)
def test_two_replicas_handle_each_event_once(
    scale_out: ScaleOut, capsys: pytest.CaptureFixture[str]
) -> None:
    """Light: 2 replicas of every service on one NATS, 1,500 operations, a 300-row import;
    each event applied once per consumer, each row imported once."""
    with capsys.disabled():
        print(scale_out.summary())
    _check(scale_out, LIGHT_OPERATIONS)


@pytest.mark.timeout(3600)
def test_periodic_jobs_run_once_across_replicas(scale_out: ScaleOut) -> None:
    """Each periodic job ran at most once per period over both replicas: ``runs - failures``
    in ``<schema>.job_runs`` <= elapsed / period + 1 (since the start, and since everything
    was up), and the processes' successful passes (``rivet_job_runs_total``) do not exceed
    the claimed ones."""
    assert scale_out.jobs is not None, "no <schema>.job_runs table in any schema"
    doubled, unchecked, lines = check_jobs(scale_out.jobs)
    print("\n".join(lines))
    assert not doubled, doubled
    assert not unchecked, (
        f"no period known for {unchecked}: no rivet_job_period_seconds{{service, task}} on any "
        "process (nor RIVET_CHAOS_JOB_PERIODS)"
    )
