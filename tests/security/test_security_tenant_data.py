"""Nothing shows one organization's activity to anyone outside it: the work-order service's
``/metrics`` (no token needed) names no organization and carries no per-organization figures,
and the ids a tenant sees are no counter shared with the other tenants."""

import asyncio
import re
import time
import uuid
from typing import Any

import httpx
import pytest
from security_support import Tenant
from starlette.applications import Starlette

from rivet_devstack.testing.services import ServiceSet
from rivet_runtime import metrics

pytestmark = pytest.mark.security

UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
SERIES = re.compile(r"^(?P<name>[a-z_:]+)(?:\{(?P<labels>[^}]*)\})? ")


async def _open_orders(client: httpx.AsyncClient, tenant: Tenant) -> int:
    answer = await client.get("/api/stats/overview", headers=tenant.viewer.headers)
    assert answer.status_code == 200, answer.text
    count: int = answer.json()["work_orders"]["open"]
    return count


async def _new_order(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    answer = await client.post(
        "/api/work-orders",
        json={"equipment_id": tenant.other_asset["id"], "title": "Probe job", "priority": "high"},
        headers=tenant.admin.headers,
    )
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()
    return order


async def _scrape(services: ServiceSet) -> str:
    """``GET /metrics`` of the work-order service, as Prometheus scrapes it: on its HTTP port,
    or (``METRICS_PORT`` set) what its metrics listener serves. The services under test share
    one process and registry, so this is every service's metrics at once."""
    app = Starlette(routes=services.runtimes["workorders"].ops_routes())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://workorders:8103") as ops:
        answer = await ops.get("/metrics")
    if answer.status_code == 404:  # served by a listener of its own
        body, _content_type = metrics.render()
        return body.decode()
    assert answer.status_code == 200, answer.text
    return answer.text


async def test_work_order_metrics_name_no_organization(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant], services: ServiceSet
) -> None:
    """Both organizations have open work orders, counted (their own stats show them); then the
    work-order service's /metrics mentions neither organization, has no ``org`` label, and its
    work-order series are a fixed set (totals; labels from fixed vocabularies only)."""
    before = [await _open_orders(client, t) for t in tenants]
    for tenant in tenants:
        await _new_order(client, tenant)
    deadline = time.monotonic() + 15
    while [await _open_orders(client, t) for t in tenants] != [n + 1 for n in before]:
        assert time.monotonic() < deadline, "the rollups did not count the new orders"
        await asyncio.sleep(0.1)
    runtime = services.runtimes["workorders"]
    assert runtime.runner is not None
    await runtime.runner.run_now("gauges")  # the background job's pass, now

    exposed = await _scrape(services)
    for tenant in tenants:
        assert tenant.org_id not in exposed, "an organization id is on /metrics"
    assert not re.search(r'[{,]\s*org="', exposed), "a series is labelled by organization"
    lines = map(SERIES.match, exposed.splitlines())
    work_orders = [m for m in lines if m and m["name"].startswith("rivet_wo_")]
    assert work_orders, "the work-order totals are missing from /metrics"
    for series in work_orders:
        labels = dict(re.findall(r'(\w+)="([^"]*)"', series["labels"] or ""))
        assert set(labels) <= {"priority"}, series[0]
        assert not UUID_TEXT.search(series[0]), series[0]
    assert len(work_orders) <= 8, "per-tenant series: their number grows with the tenants"


async def test_timeline_entry_ids_are_no_shared_counter(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant]
) -> None:
    """Comments added in turn to the two organizations' orders: their ids are random UUIDs
    (not integers from one sequence, whose gaps would count the other tenant's activity), and
    every id in a tenant's timeline is one."""
    orders = {t.org_id: await _new_order(client, t) for t in tenants}
    made: dict[str, list[str]] = {t.org_id: [] for t in tenants}
    for tenant in (*tenants, *tenants):
        answer = await client.post(
            f"/api/work-orders/{orders[tenant.org_id]['id']}/comments",
            json={"body": "probe"},
            headers=tenant.technician.headers,
        )
        assert answer.status_code == 201, answer.text
        made[tenant.org_id].append(answer.json()["id"])
    ids = [i for org_ids in made.values() for i in org_ids]
    for entry_id in ids:
        assert isinstance(entry_id, str), f"timeline entry id {entry_id!r} is a number"
        assert uuid.UUID(entry_id).version == 4, f"{entry_id} is not a random UUID"
    assert len(set(ids)) == len(ids)
    for tenant in tenants:
        ref = orders[tenant.org_id]["id"]
        view = await client.get(f"/api/work-orders/{ref}", headers=tenant.viewer.headers)
        assert view.status_code == 200, view.text
        timeline = view.json()["timeline"]
        assert [e["id"] for e in timeline if e["kind"] == "comment"] == made[tenant.org_id]
        for entry in timeline:
            assert isinstance(entry["id"], str), entry
            assert uuid.UUID(entry["id"]).version == 4, entry
