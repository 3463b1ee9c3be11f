"""Maintenance service entry point: ``rivet-maintenance [serve|migrate]``.

The service owns its schema and its migrations; it serves no requests and consumes no events
yet (its contracts, routes and deployment come with the scheduler).
"""

from pathlib import Path

from rivet_runtime import ServiceRuntime
from rivet_runtime.cli import run_service

from .settings import MaintenanceSettings
from .state import MaintenanceState
from .tables import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: MaintenanceSettings | None = None) -> ServiceRuntime[MaintenanceState]:
    settings = settings or MaintenanceSettings()
    return ServiceRuntime(
        settings,
        MaintenanceState(settings),
        schema=SCHEMA,
        migrations=MIGRATIONS,
    )


def cli() -> None:
    run_service(build)
