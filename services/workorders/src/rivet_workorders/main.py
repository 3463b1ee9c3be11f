"""Work orders service entry point: ``rivet-workorders [serve|migrate]``."""

from pathlib import Path

from rivet_contracts.streams import WORKORDERS
from rivet_runtime import ServiceRuntime
from rivet_runtime.cli import run_service

from .orders.attachments import router as attachments
from .orders.handlers import router as orders
from .orders.jobs import jobs as overdue_jobs
from .replicas.events import router as replicas
from .rollups.events import router as rollups
from .rollups.jobs import jobs as health_jobs
from .settings import WorkordersSettings
from .state import WorkordersState
from .stats.handlers import router as stats
from .stats.jobs import jobs as gauge_jobs
from .tables import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: WorkordersSettings | None = None) -> ServiceRuntime[WorkordersState]:
    settings = settings or WorkordersSettings()
    runtime = ServiceRuntime(
        settings,
        WorkordersState(settings),
        schema=SCHEMA,
        migrations=MIGRATIONS,
        publishes=(WORKORDERS,),
    )
    for router in (orders, stats):
        runtime.include_rpc(router)
    for events in (replicas, rollups, attachments):
        runtime.include_events(events)
    for jobs in (health_jobs, gauge_jobs, overdue_jobs):
        runtime.include_jobs(jobs)
    return runtime


def cli() -> None:
    run_service(build)
