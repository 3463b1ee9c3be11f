"""Business gauges (Prometheus, per organization) follow the rollups."""

import asyncio

import httpx
from prometheus_client import REGISTRY

from rivet_devstack.testing.helpers import register
from rivet_devstack.testing.services import ServiceSet
from rivet_workorders.stats import gauges


async def test_business_gauges_follow_the_rollups(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    """The Prometheus gauges per organization: open, overdue, backlog hours (refreshed by a
    background task; refreshed here directly)."""
    admin = await register(api)
    asset = await api.post(
        "/api/equipment", json={"manufacturer": "Gauge Co", "serial": "G-1"}, headers=admin.headers
    )
    equipment_id = asset.json()["equipment"]["id"]
    for hours in (2.5, 1.5):
        made = await api.post(
            "/api/work-orders",
            json={"equipment_id": equipment_id, "title": "check", "estimated_hours": hours},
            headers=admin.headers,
        )
        assert made.status_code == 201, made.text
    runtime = services.runtimes["workorders"]
    org = admin.user["org_id"]

    async def sample(name: str) -> float | None:
        return REGISTRY.get_sample_value(name, {"org": org})

    for _ in range(100):  # the rollups follow the events
        await gauges.refresh(runtime.db, runtime.state.clock)
        if await sample("rivet_wo_open") == 2:
            break
        await asyncio.sleep(0.1)
    assert await sample("rivet_wo_open") == 2
    assert await sample("rivet_wo_backlog_hours") == 4.0
    assert await sample("rivet_wo_overdue") == 0
