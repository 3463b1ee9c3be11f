"""OCR service entry point: ``rivet-ocr [serve|migrate]``."""

import asyncio
import contextlib
from pathlib import Path

from rivet_contracts.streams import NAMEPLATES
from rivet_runtime import ServiceRuntime
from rivet_runtime.cli import run_service
from rivet_runtime.uploads import UploadStore

from .metrics import QUEUE_DEPTH
from .reader import Reader
from .scans.events import router as worker
from .scans.handlers import router as scans
from .settings import OcrSettings
from .state import OcrState
from .tables import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: OcrSettings | None = None) -> ServiceRuntime[OcrState]:
    settings = settings or OcrSettings()
    state = OcrState(settings, Reader(settings))
    runtime = ServiceRuntime(
        settings,
        state,
        schema=SCHEMA,
        migrations=MIGRATIONS,
        publishes=(NAMEPLATES,),
        uses_uploads=True,
    )
    runtime.include_rpc(scans)
    runtime.include_events(worker)
    tasks: list[asyncio.Task[None]] = []

    async def started() -> None:
        js = runtime.broker.connection.jetstream()
        state.upload_store = runtime.uploads
        state.photo_store = UploadStore(
            js, settings, bucket="PHOTOS", ttl=None, description="Nameplate photos (re-encoded)"
        )
        await state.photo_store.ensure()
        tasks.append(asyncio.create_task(state.reader.load(), name="ocr-load-models"))
        tasks.append(asyncio.create_task(_watch_queue(runtime), name="ocr-queue-depth"))

    async def stopping() -> None:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    runtime.on_started.append(started)
    runtime.on_stopping.append(stopping)
    return runtime


async def _watch_queue(runtime: ServiceRuntime[OcrState]) -> None:
    """Publish the OCR backlog (photos not yet taken by any worker) every few seconds."""
    settings = runtime.settings
    stream = settings.stream_name(NAMEPLATES.name)
    while True:
        with contextlib.suppress(Exception):
            info = await runtime.broker.connection.jetstream().consumer_info(stream, "ocr-worker")
            QUEUE_DEPTH.set(info.num_pending + (info.num_ack_pending or 0))
        await asyncio.sleep(5)


def cli() -> None:
    run_service(build)
