"""Maintenance service entry point: ``rivet-maintenance [serve|migrate]``."""

import gc
from pathlib import Path

from rivet_contracts.streams import MAINTENANCE, READINGS
from rivet_runtime import ServiceRuntime
from rivet_runtime.cli import run_service

from .completions.events import router as completions
from .meters.events import router as device_readings
from .meters.handlers import router as meters
from .organizations.events import router as organizations
from .plans.events import router as authors
from .plans.handlers import router as plans
from .reports.handlers import router as reports
from .reports.jobs import jobs as gauge_jobs
from .scheduler.jobs import jobs as scheduler_jobs
from .settings import MaintenanceSettings
from .state import MaintenanceState
from .tables import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: MaintenanceSettings | None = None) -> ServiceRuntime[MaintenanceState]:
    settings = settings or MaintenanceSettings()
    runtime = ServiceRuntime(
        settings,
        MaintenanceState(settings),
        schema=SCHEMA,
        migrations=MIGRATIONS,
        # READINGS too: machines only publish to it, so its consumer declares it
        publishes=(MAINTENANCE, READINGS),
    )
    for router in (plans, meters, reports):
        runtime.include_rpc(router)
    for events in (authors, completions, device_readings, organizations):
        runtime.include_events(events)
    for jobs in (scheduler_jobs, gauge_jobs):
        runtime.include_jobs(jobs)
    return runtime


def cli() -> None:
    # What the imports made lives as long as the process: kept out of the collector's full
    # passes, which otherwise walk those 150,000 objects (0.1 s; more on busy cores) in the
    # middle of some request - a forecast page's p99.
    gc.freeze()
    run_service(build)
