"""The real maintenance service behind the bot.

Where the devstack registry lists it, the session runs it with the other services and the tests
use that one. Until then a test that needs it starts it the way the maintenance tests run it with
the real work-order service (``services/maintenance/tests/test_maintenance_workorders.py``):
built by its entry point on the session's NATS namespace, with a database of its own, asking the
real auth, assets and work-order services. Either way there is one maintenance service on the
namespace: two would answer the same requests from two databases.

Meters and plans are set up with requests on NATS as the gateway sends them, as the admin of
the test's organization.
"""

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from rivet_contracts import Identity, Role
from rivet_contracts import maintenance as m
from rivet_contracts.spec import RpcSpec
from rivet_devstack.testing.helpers import Session
from rivet_devstack.testing.services import ServiceSet
from rivet_maintenance.main import build
from rivet_maintenance.settings import MaintenanceSettings
from rivet_runtime.client import CallMeta
from rivet_runtime.service import ServiceRuntime

NAME = "maintenance"
TEST_SETTINGS = {"open_retry": 0.3, "open_lease": 5.0, "rpc_timeout": 3.0}


def identity(who: Session) -> Identity:
    user = who.user
    return Identity(user_id=UUID(user["id"]), org_id=UUID(user["org_id"]), role=Role(user["role"]))


class Maintenance:
    def __init__(self, runtime: ServiceRuntime[Any], own: bool) -> None:
        self.runtime = runtime
        self.own = own
        """Started for this test (stopped after it), not the session's."""

    @classmethod
    @contextlib.asynccontextmanager
    async def running(
        cls, services: ServiceSet, common: dict[str, Any], database_url: str
    ) -> AsyncIterator["Maintenance"]:
        """The session's maintenance service, or one of the test's own while there is none."""
        if NAME in services.runtimes:
            yield cls(services.runtimes[NAME], own=False)
            return
        settings = MaintenanceSettings.model_validate(
            common | {"database_url": database_url} | TEST_SETTINGS
        )
        runtime: ServiceRuntime[Any] = build(settings)
        await runtime.start()
        try:
            yield cls(runtime, own=True)
        finally:
            await runtime.stop()

    async def call(self, spec: RpcSpec[Any, Any], request: Any, who: Session) -> Any:
        meta = CallMeta(identity(who), f"test-{uuid.uuid4().hex[:8]}", "api")
        return await self.runtime.client.call(spec, request, meta, timeout=10)

    async def meter(
        self, who: Session, equipment: str, name: str, unit: str, **fields: Any
    ) -> m.MeterView:
        kind = m.MeterKind.GAUGE if {"low_limit", "high_limit"} & set(fields) else "counter"
        request = m.CreateMeter(
            equipment_id=equipment, name=name, kind=m.MeterKind(kind), unit=unit, **fields
        )
        meter: m.MeterView = await self.call(m.CREATE_METER, request, who)
        return meter

    async def readings(self, who: Session, meter: m.MeterView) -> list[m.ReadingView]:
        page = await self.call(m.LIST_READINGS, m.ListReadings(meter_id=meter.id), who)
        items: list[m.ReadingView] = page.items
        return items


@contextlib.asynccontextmanager
async def stopped(services: ServiceSet) -> AsyncIterator[None]:
    """No maintenance service on the namespace for a while, as in a deployment without it (the
    session's, if it runs one, is started again afterwards: a fresh instance, the same data)."""
    runtime = services.runtimes.get(NAME)
    if runtime is None:
        yield
        return
    await runtime.stop()
    try:
        yield
    finally:
        fresh = services.build(NAME)
        services.runtimes[NAME] = fresh
        await fresh.start()
