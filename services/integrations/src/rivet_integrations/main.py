"""Integrations service entry point: ``rivet-integrations [serve|migrate]``.

A regular Rivet service (database, NATS, jobs, /health, /ready, /metrics on HTTP_PORT) with the
exporter started once the runtime is up: every exported event of the domain streams is copied
to its organization's stream, where outside subscribers read it with credentials of that
organization only; each enabled webhook endpoint reads that stream through a cursor of its own
(the fan-out, in the replica that holds the endpoint) and is POSTed the events it takes; the
retry job sends again those that failed (docs/integrations.md).
"""

from pathlib import Path

from rivet_contracts.streams import INTEGRATIONS
from rivet_runtime import ServiceRuntime
from rivet_runtime.cli import run_service

from .exporter.service import Exporter
from .settings import IntegrationsSettings
from .state import IntegrationsState
from .tables import SCHEMA
from .webhooks.channels import ENDPOINTS_CHANNEL
from .webhooks.handlers import router as webhooks
from .webhooks.jobs import jobs as webhook_jobs

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: IntegrationsSettings | None = None) -> ServiceRuntime[IntegrationsState]:
    settings = settings or IntegrationsSettings()
    runtime: ServiceRuntime[IntegrationsState] = ServiceRuntime(
        settings,
        lambda resources: IntegrationsState.connected(settings, resources),
        schema=SCHEMA,
        migrations=MIGRATIONS,
        publishes=(INTEGRATIONS,),  # webhook.endpoint_disabled
    )
    runtime.include_rpc(webhooks)
    runtime.include_jobs(webhook_jobs)
    exporter = Exporter()
    runtime.on_started.append(lambda: exporter.start(runtime.state))
    runtime.on_started.append(
        lambda: runtime.state.fanout.start(
            runtime.listener.waker(ENDPOINTS_CHANNEL) if runtime.listener else None
        )
    )
    runtime.on_stopping.append(exporter.stop)
    runtime.on_stopping.append(lambda: runtime.state.fanout.stop())
    runtime.on_stopped.append(lambda: runtime.state.sender.close())
    return runtime


def cli() -> None:
    run_service(build)
