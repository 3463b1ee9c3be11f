"""Attachments service entry point: ``rivet-attachments [serve|migrate]``.

A regular Rivet service (database, NATS, jobs, /health, /ready, /metrics on HTTP_PORT): the
files attached to work orders and assets (and the nameplate photos of scans, attached to their
assets), their renditions, each organization's quota, and the deletion of what is removed or
left behind.
"""

from pathlib import Path

from rivet_contracts.streams import ATTACHMENTS
from rivet_runtime import ServiceRuntime
from rivet_runtime.cli import run_service

from .attachments.handlers import router as attachments
from .attachments.jobs import jobs as attachment_jobs
from .attachments.scans import router as scan_photos
from .settings import AttachmentsSettings
from .state import AttachmentsState
from .tables import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: AttachmentsSettings | None = None) -> ServiceRuntime[AttachmentsState]:
    settings = settings or AttachmentsSettings()
    runtime: ServiceRuntime[AttachmentsState] = ServiceRuntime(
        settings,
        lambda resources: AttachmentsState.connected(settings, resources),
        schema=SCHEMA,
        migrations=MIGRATIONS,
        publishes=(ATTACHMENTS,),
        uses_uploads=True,
    )
    runtime.include_rpc(attachments)
    runtime.include_events(scan_photos)
    runtime.include_jobs(attachment_jobs)
    return runtime


def cli() -> None:
    run_service(build)
