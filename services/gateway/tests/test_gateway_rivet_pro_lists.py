"""A ``/pro`` equipment list fills Rivet Pro's ``work_order_count`` and
``last_reported_fault`` with one request to the work-order service per page, not one per asset:
200 assets cost about what Rivet's own list costs."""

import asyncio
import statistics
import time
import uuid

import httpx
import nats
import pytest

from rivet_devstack.testing.services import ServiceSet
from rivet_gateway.rivetpro import PREFIX

PASSWORD = "Turbine blade 77"
ASSETS = 200
ROUNDS = 5


async def _median_seconds(api: httpx.AsyncClient, path: str, headers: dict[str, str]) -> float:
    took = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        answer = await api.get(path, headers=headers, params={"limit": ASSETS})
        took.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    return statistics.median(took)


@pytest.mark.timeout(300)
async def test_a_pro_list_of_200_assets_asks_the_work_orders_once(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    email = f"pro-list-{uuid.uuid4().hex[:10]}@example.com"
    made = await api.post(
        f"{PREFIX}/api/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert made.status_code == 200, made.text
    headers = {"Authorization": f"Bearer {made.json()['access_token']}"}
    gate = asyncio.Semaphore(2)  # a loaded machine: creates stay within their timeout

    async def asset(n: int) -> str:
        body = {"manufacturer": "Siemens", "model": f"1LE1-{n}", "serial": f"LS-{n:04d}-{email}"}
        async with gate:
            answer = await api.post(
                "/api/equipment", json={**body, "create_anyway": True}, headers=headers
            )
        assert answer.status_code in (200, 201), answer.text
        return str(answer.json()["equipment"]["id"])

    ids = await asyncio.gather(*(asset(n) for n in range(ASSETS)))
    # a few assets with orders: the figures are theirs (newest order's first fault code)
    for ref, faults in ((ids[0], ["F0001"]), (ids[0], []), (ids[7], ["E12", "E13"])):
        body = {"equipment_id": ref, "title": "Trips on start", "fault_codes": faults}
        order = await api.post("/api/work-orders", json=body, headers=headers)
        assert order.status_code == 201, order.text

    # the requests the work-order service gets while a /pro list is answered, counted on NATS
    nc = await nats.connect(services.env.nats_url)
    seen: list[str] = []

    async def count(msg: nats.aio.msg.Msg) -> None:
        seen.append(msg.subject)

    await nc.subscribe(f"{services.env.namespace}.rpc.workorders.>", cb=count)
    await nc.flush()
    try:
        listed = await api.get(
            f"{PREFIX}/api/equipment/", headers=headers, params={"limit": ASSETS}
        )
        await nc.flush()
    finally:
        await nc.close()
    assert listed.status_code == 200, listed.text
    rows = {row["id"]: row for row in listed.json()}
    assert len(rows) == ASSETS
    assert (rows[ids[0]]["work_order_count"], rows[ids[0]]["last_reported_fault"]) == (2, "F0001")
    assert (rows[ids[7]]["work_order_count"], rows[ids[7]]["last_reported_fault"]) == (1, "E12")
    assert (rows[ids[1]]["work_order_count"], rows[ids[1]]["last_reported_fault"]) == (0, None)
    assert rows[ids[1]]["last_work_order_at"] is None
    assert [s.rsplit(".", 1)[-1] for s in seen] == ["equipment_figures"]

    # and the time: a /pro page of 200 costs about what Rivet's own page costs
    own = await _median_seconds(api, "/api/equipment", headers)
    pro = await _median_seconds(api, f"{PREFIX}/api/equipment/", headers)
    print(f"200 assets, median of {ROUNDS}: /pro {pro:.3f}s, Rivet's own list {own:.3f}s")
    assert pro - own < 0.5, (pro, own)
