"""``Idempotency-Key`` through the gateway to the owning service (ADR 0015): racing creates with
one key make one asset and get one answer, another request with the key is a 422, keys are
validated and scoped to an organization, secrets shown once come back to a repeat, and every
route that creates something documents the header."""

import asyncio
import inspect
import re
from typing import Any
from uuid import uuid4

import httpx
from fastapi.routing import APIRoute

from rivet_contracts import Rpc
from rivet_contracts.catalog import RPCS
from rivet_devstack.keys import generate
from rivet_devstack.testing.helpers import Session, register
from rivet_gateway.app import build_runtime, create_app
from rivet_gateway.routes import ROUTERS
from rivet_gateway.settings import GatewaySettings


def _equipment() -> dict[str, Any]:
    return {"manufacturer": "Grundfos", "model": "CR 10-4", "serial": f"G{uuid4().hex[:10]}"}


async def _post(
    api: httpx.AsyncClient, who: Session, path: str, body: dict[str, Any], key: str | None
) -> httpx.Response:
    headers = who.headers | ({"Idempotency-Key": key} if key is not None else {})
    answer: httpx.Response = await api.post(path, json=body, headers=headers)
    return answer


async def test_fifty_racing_creates_with_one_key_make_one_asset(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    body = _equipment()
    answers = await asyncio.gather(
        *(_post(api, admin, "/api/equipment", body, "one-asset") for _ in range(50))
    )
    assert {a.status_code for a in answers} == {201}, {a.status_code: a.text for a in answers}
    assert len({a.content for a in answers}) == 1, "the answers differ"
    created = answers[0].json()
    assert created["outcome"] == "created"
    listed = (await api.get("/api/equipment", headers=admin.headers)).json()
    assert [item["id"] for item in listed["items"]] == [created["equipment"]["id"]]
    # one of them ran; the others are the first answer again, and say so
    replayed = [a.headers.get("Idempotent-Replayed") for a in answers]
    assert sorted(replayed, key=str) == [None] + ["true"] * 49
    # later, the same request answers the first answer again: 201, not a 200 "matched"
    again = await _post(api, admin, "/api/equipment", body, "one-asset")
    assert (again.status_code, again.content) == (201, answers[0].content)
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_another_request_with_the_key_is_refused(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    body = _equipment()
    first = await _post(api, admin, "/api/equipment", body, "k-1")
    assert first.status_code == 201, first.text
    other = await _post(api, admin, "/api/equipment", body | {"serial": "other"}, "k-1")
    assert other.status_code == 422, other.text
    error = other.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert "different request" in error["message"]
    # keys belong to an organization: another one uses the same key for its own asset
    stranger = await register(api, "stranger")
    theirs = await _post(api, stranger, "/api/equipment", body, "k-1")
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["equipment"]["id"] != first.json()["equipment"]["id"]
    # a key 255 characters long is fine; longer, empty or not printable ASCII is a 422
    assert (await _post(api, admin, "/api/equipment", _equipment(), "k" * 255)).status_code == 201
    for bad in ("k" * 256, "", "tab\tkey"):
        refused = await _post(api, admin, "/api/equipment", _equipment(), bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["error"]["code"] == "validation_error"
    listed = (await api.get("/api/equipment", headers=admin.headers)).json()
    assert listed["total"] == 2


async def test_a_secret_shown_once_comes_back_to_a_repeat(api: httpx.AsyncClient) -> None:
    """The webhook create runs in transactions of its own (own_transaction)."""
    admin = await register(api)
    body = {"url": "https://example.com/rivet-hook", "event_types": ["wo.*"]}
    path = "/api/integrations/webhooks"
    answers = await asyncio.gather(*(_post(api, admin, path, body, "hook-1") for _ in range(10)))
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["secret"] for a in answers}) == 1
    listed = (await api.get(path, headers=admin.headers)).json()
    assert len(listed["items"]) == 1
    other = await _post(api, admin, path, body | {"description": "another"}, "hook-1")
    assert other.status_code == 422, other.text


def test_every_route_that_creates_documents_the_header() -> None:
    spec = create_app(build_runtime(GatewaySettings(jwt_public_key=generate()[1]))).openapi()
    documented = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", []))
    }
    wanted = set()
    for router in ROUTERS:
        for route in router.routes:
            if not isinstance(route, APIRoute):
                continue
            names = re.findall(r"Rpc\.([A-Z_]+)", inspect.getsource(route.endpoint))
            subjects = {getattr(Rpc, name) for name in names}
            if any(RPCS[s].idempotent for s in subjects) or Rpc.WORKORDERS_CREATE in subjects:
                wanted |= {(method, route.path) for method in route.methods}
    assert ("POST", "/api/equipment") in wanted
    assert wanted == documented


async def test_each_kind_of_create_answers_a_repeat_once(api: httpx.AsyncClient) -> None:
    """Meters and plans (handlers with their own transactions), readings, comments and
    invitations (the runtime's transaction): the repeat is the first answer, made once."""
    admin = await register(api)
    asset = (await _post(api, admin, "/api/equipment", _equipment(), None)).json()["equipment"]
    meter_body = {"equipment_id": asset["id"], "name": "Hours", "kind": "counter", "unit": "h"}
    cases: list[tuple[str, Any]] = [("/api/meters", meter_body)]
    made: dict[str, httpx.Response] = {}
    for path, body in cases:
        made[path] = await _post(api, admin, path, body, "m-1")
    meter = made["/api/meters"].json()
    plan_body = {
        "equipment_id": asset["id"],
        "title": "Grease bearings",
        "trigger": {"kind": "meter", "meter_id": meter["id"], "every": 500},
    }
    order = await api.post(
        "/api/work-orders", json={"equipment_id": asset["id"], "title": "x"}, headers=admin.headers
    )
    assert order.status_code == 201, order.text
    cases += [
        ("/api/maintenance/plans", plan_body),
        (f"/api/meters/{meter['id']}/readings", {"value": 12.5}),
        (f"/api/work-orders/{order.json()['id']}/comments", {"body": "Greased."}),
        (
            "/api/auth/invitations",
            {"email": f"tech-{uuid4().hex[:8]}@example.com", "role": "viewer"},
        ),
    ]
    for path, body in cases[1:]:
        made[path] = await _post(api, admin, path, body, "m-1")
    for path, body in cases:
        first = made[path]
        assert first.status_code == 201, (path, first.text)
        again = await _post(api, admin, path, body, "m-1")
        assert (again.status_code, again.content) == (201, first.content), path
    assert len((await api.get("/api/meters", headers=admin.headers)).json()["items"]) == 1
    plans = (await api.get("/api/maintenance/plans", headers=admin.headers)).json()
    assert len(plans["items"]) == 1
    readings = await api.get(f"/api/meters/{meter['id']}/readings", headers=admin.headers)
    assert len(readings.json()["items"]) == 1
    invitations = (await api.get("/api/auth/invitations", headers=admin.headers)).json()
    assert len(invitations["items"]) == 1
