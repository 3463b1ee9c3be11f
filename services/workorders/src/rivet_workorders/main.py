"""Work orders service entry point: ``rivet-workorders [serve|migrate]``."""

import asyncio
from pathlib import Path

from rivet_contracts.streams import WORKORDERS
from rivet_runtime import ServiceRuntime
from rivet_runtime.cli import run_service

from .orders.handlers import router as orders
from .replicas.events import router as replicas
from .rollups.events import router as rollups
from .rollups.refresher import HealthRefresher
from .settings import WorkordersSettings
from .state import WorkordersState
from .stats import gauges
from .stats.handlers import router as stats
from .tables import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: WorkordersSettings | None = None) -> ServiceRuntime[WorkordersState]:
    settings = settings or WorkordersSettings()
    state = WorkordersState(settings)
    runtime = ServiceRuntime(
        settings, state, schema=SCHEMA, migrations=MIGRATIONS, publishes=(WORKORDERS,)
    )
    for router in (orders, stats):
        runtime.include_rpc(router)
    for events in (replicas, rollups):
        runtime.include_events(events)

    tasks: list[asyncio.Task[None]] = []

    def started() -> None:
        assert runtime.db is not None
        state.refresher = HealthRefresher(runtime.db, state)
        state.refresher.start()
        tasks.append(asyncio.create_task(gauges.run_forever(runtime.db, state.clock)))

    async def stopping() -> None:
        for task in tasks:
            task.cancel()
        if state.refresher is not None:
            await state.refresher.stop()

    runtime.on_started.append(started)
    runtime.on_stopping.append(stopping)
    return runtime


def cli() -> None:
    run_service(build)
