"""Faults under load: nothing acknowledged is lost, nothing is applied twice, replicas converge.

`make test` runs the short variant (about 500 operations, one NATS kill, one service kill,
the machine's PostgreSQL with a fresh database). `make chaos` runs the full one
(``RIVET_CHAOS=full``): at least 10,000 operations while nats-server is killed twice and paused,
every service is killed mid-flight, and a private PostgreSQL is crashed and restarted.

Both variants add files to orders and assets and remove some (``chaos_attachments``) while the
attachments service and the work-order service (which counts them) are killed: every
acknowledged file is there once, every count equals the files listed, removed files' objects are
purged, usage is the sum of the sizes.

Both variants send webhooks to a local receiver that fails for a while and kill the
integrations service while it has requests in flight (``chaos_webhooks``): every event an
endpoint takes must arrive, the delivery log must agree with what the receiver got, and each
organization's stream must hold each exported event exactly once.
"""

import asyncio
import os

import pytest
from chaos_attachments import ENV as FILE_ENV
from chaos_attachments import kill_restart
from chaos_cluster import Cluster
from chaos_jobs import Checked
from chaos_scenario import (
    Outcome,
    nats_kill,
    nats_pause,
    poison,
    postgres_restart,
    run,
    schedule,
    service_kill,
)
from chaos_webhooks import ENV as HOOK_ENV
from chaos_webhooks import Webhooks, receiving

from rivet_devstack.testing.env import TestEnv

pytestmark = [pytest.mark.chaos, pytest.mark.slow]
FULL = os.environ.get("RIVET_CHAOS") == "full"
OPERATIONS = int(os.environ.get("RIVET_CHAOS_OPERATIONS", "10000"))
SHORT_OPERATIONS = 480


def _check(outcome: Outcome) -> None:
    report = outcome.report
    assert report.converge_seconds is not None, f"never converged: {report.pending}"
    assert not report.lost, report.lost[:20]
    assert not report.duplicated, report.duplicated[:20]
    assert outcome.work.outcomes()["ok"] > 0
    assert all("NOT RUN" not in fault for fault in outcome.faults), outcome.faults


def _webhooks(cluster: Cluster, hooks: Webhooks) -> Checked:
    """Webhooks and the exporter checked and printed (asserted by ``_check_webhooks``)."""
    checked = asyncio.run(hooks.check(cluster))
    print("\n".join(hooks.summary(checked)))
    return checked


def _check_webhooks(checked: Checked) -> None:
    assert not checked.lost, checked.lost[:20]
    assert not checked.duplicated, checked.duplicated[:20]


async def _poison(cluster: Cluster, outcome: Outcome, max_deliveries: int) -> str:
    result = await poison(cluster, outcome.work, max_deliveries)
    assert result.deliveries == max_deliveries
    assert result.metric_after == result.metric_before + 1
    assert result.later_applied, "a later event was held up behind the poison message"
    assert result.later_applied_first
    assert not result.redelivered_after
    return (
        f"poison message     dead-lettered after {result.deliveries} deliveries in "
        f"{result.seconds_to_dead_letter:.1f} s; rivet_dead_letters_total "
        f"{result.metric_before:g} -> {result.metric_after:g}; the event behind it was applied "
        "first"
    )


@pytest.mark.skipif(FULL, reason="make chaos runs the full variant")
@pytest.mark.timeout(240)
def test_chaos_short(test_env: TestEnv, capsys: pytest.CaptureFixture[str]) -> None:
    """~480 operations; NATS killed once, the attachments and work-order services killed once
    (and the assets service when it counts files), the integrations service killed
    mid-delivery, the webhook receiver failing twice for 3 s."""
    env = {
        "CONSUMER_RETRY_DELAY": "0.2",
        "OUTBOX_SAFETY_POLL": "2",
        "OVERDUE_INTERVAL": "2",
        **HOOK_ENV,
        **FILE_ENV,
    }
    with (
        Cluster.running(admin_url=test_env.admin_url, env=env) as cluster,
        receiving() as hooks,
    ):
        faults = schedule(
            (0.15, hooks.outage("500", 3)),
            (0.22, nats_kill()),
            (0.30, kill_restart("attachments")),
            (0.36, kill_restart("assets", if_it_counts=True)),
            (0.42, kill_restart("workorders")),
            (0.50, hooks.kill_mid_delivery()),
            (0.70, hooks.outage("refused", 3)),
        )
        outcome = asyncio.run(
            run(
                cluster,
                SHORT_OPERATIONS,
                faults,
                workers=8,
                converge_timeout=100,
                with_workload=lambda work: hooks.setup(cluster, work),
            )
        )
        poisoned = asyncio.run(_poison(cluster, outcome, max_deliveries=6))
        with capsys.disabled():
            print(outcome.summary())
            print(poisoned)
            hooked = _webhooks(cluster, hooks)
        _check(outcome)
        _check_webhooks(hooked)


@pytest.mark.skipif(not FULL, reason="the full variant runs with `make chaos`")
@pytest.mark.timeout(3600)
def test_chaos_full(capsys: pytest.CaptureFixture[str]) -> None:
    """>= 10,000 operations through every fault the issue lists, on a private PostgreSQL."""
    with (
        Cluster.running(
            admin_url=None, env={"OVERDUE_INTERVAL": "2", **HOOK_ENV, **FILE_ENV}
        ) as cluster,
        receiving() as hooks,
    ):
        faults = schedule(
            (0.03, hooks.outage("500", 8)),
            (0.06, nats_kill()),
            (0.13, nats_pause(6)),
            (0.20, service_kill("assets")),
            (0.23, service_kill("attachments")),
            (0.27, service_kill("workorders")),
            (0.34, postgres_restart()),
            (0.41, nats_kill()),
            (0.48, service_kill("auth")),
            (0.55, service_kill("gateway")),
            (0.62, service_kill("ocr")),
            (0.69, postgres_restart()),
            (0.72, service_kill("attachments")),
            (0.76, service_kill("workorders")),
            (0.80, hooks.outage("refused", 8)),
            (0.85, hooks.kill_mid_delivery()),
        )
        outcome = asyncio.run(
            run(
                cluster,
                OPERATIONS,
                faults,
                workers=16,
                converge_timeout=200,
                with_workload=lambda work: hooks.setup(cluster, work),
            )
        )
        poisoned = asyncio.run(_poison(cluster, outcome, max_deliveries=6))
        with capsys.disabled():
            print(outcome.summary())
            print(poisoned)
            hooked = _webhooks(cluster, hooks)
        assert outcome.work.done >= OPERATIONS
        _check(outcome)
        _check_webhooks(hooked)
