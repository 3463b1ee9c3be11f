"""Assets service entry point: ``rivet-assets [serve|migrate]``."""

from pathlib import Path

from rivet_contracts.streams import EQUIPMENT
from rivet_runtime import ServiceRuntime
from rivet_runtime.cli import run_service

from .equipment.attachments import router as attachments
from .equipment.handlers import router as equipment
from .imports.handlers import router as imports
from .imports.jobs import jobs as import_jobs
from .nameplates.events import router as nameplates
from .search.handlers import router as search
from .settings import AssetsSettings
from .state import AssetsState
from .tables import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: AssetsSettings | None = None) -> ServiceRuntime[AssetsState]:
    settings = settings or AssetsSettings()
    runtime: ServiceRuntime[AssetsState] = ServiceRuntime(
        settings,
        lambda resources: AssetsState.connected(settings, resources),
        schema=SCHEMA,
        migrations=MIGRATIONS,
        publishes=(EQUIPMENT,),
        uses_uploads=True,
    )
    for router in (equipment, search, imports):
        runtime.include_rpc(router)
    for events in (nameplates, attachments):
        runtime.include_events(events)
    runtime.include_jobs(import_jobs)
    return runtime


def cli() -> None:
    run_service(build)
