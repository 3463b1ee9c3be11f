"""Bad input never crashes a service: inputs that used to reach PostgreSQL unchecked are a 4xx,
and no answer (not even a 500) carries a stack trace, SQL or a password hash.

A case marked ``xfail(strict=True)`` is an open bug (see docs/reliability.md): it fails as
"unexpectedly passing" once fixed, so the mark goes with the fix."""

from typing import Any

import httpx
import pytest
from security_support import Tenant, leaks

from rivet_devstack.testing.services import ServiceSet

pytestmark = pytest.mark.security


def _nul(case: str, method: str, url: str, **kwargs: Any) -> Any:
    return pytest.param(method, url, kwargs, id=case)


@pytest.mark.parametrize(
    ("method", "url", "kwargs"),
    [
        _nul("register: name", "POST", "/api/auth/register", json={
            "email": "nul@example.com", "password": "correct horse battery",
            "full_name": "Nul\u0000Name"}),
        _nul("login: e-mail", "POST", "/api/auth/login", data={
            "username": "nul\u0000@example.com", "password": "whatever password"}),
        _nul("asset: name", "POST", "/api/equipment", json={
            "manufacturer": "ABB", "serial": "NUL-1", "name": "Pump\u00002"}),
        _nul("asset list: location filter", "GET", "/api/equipment?location=Bay%00"),
        _nul("asset history: number", "GET", "/api/equipment/EQ-%00/history"),
        _nul("work order: title", "POST", "/api/work-orders", json={
            "equipment": {"manufacturer": "ABB", "serial": "NUL-2"}, "title": "Leak\u0000"}),
        pytest.param("GET", "/api/equipment/search/fuzzy?query=a%00b", {}, id="search"),
        pytest.param("GET", "/api/equipment/a%00b", {}, id="asset: id"),
        pytest.param("GET", "/api/work-orders/a%00b", {}, id="work order: id"),
        pytest.param("GET", "/api/equipment?manufacturer=a%00b", {}, id="asset list: brand"),
    ],
)  # fmt: skip
async def test_nul_characters_are_refused_not_crashing(
    client: httpx.AsyncClient,
    tenants: tuple[Tenant, Tenant],
    method: str,
    url: str,
    kwargs: dict[str, Any],
) -> None:
    team, _ = tenants
    answer = await client.request(method, url, headers=team.admin.headers, **kwargs)
    assert not leaks(answer.text)  # even the 500 hides its internals
    assert answer.status_code < 500, f"{answer.status_code} {answer.text}"


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/api/equipment", {"limit": "9" * 5000}),
        ("/api/equipment", {"offset": 2**64}),
        ("/api/equipment", {"sort": "id; DROP TABLE equipment"}),
        ("/api/equipment", {"manufacturer": "' OR 1=1 --"}),
        ("/api/equipment", {"location": "%_%"}),
        ("/api/equipment/search/fuzzy", {"query": "' OR '1'='1"}),
        ("/api/equipment/search/fuzzy", {"query": "\\" * 200}),
        ("/api/work-orders", {"status": ["open"] * 6}),
        ("/api/work-orders", {"assignee_id": "not-a-uuid"}),
        ("/api/stats/work-order-trends", {"days": "1e3"}),
        ("/api/stats/kpis", {"days": "NaN"}),
    ],
)
async def test_hostile_query_strings_are_handled(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant], url: str, params: dict[str, Any]
) -> None:
    team, _ = tenants
    answer = await client.get(url, params=params, headers=team.admin.headers)
    assert answer.status_code in (200, 422), f"{answer.status_code} {answer.text}"
    if answer.status_code == 200 and "items" in answer.json():
        assert all(team.org_id == str(i.get("org_id", team.org_id)) for i in answer.json()["items"])


async def test_errors_have_one_shape_and_no_internals(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant]
) -> None:
    team, _ = tenants
    answers = [
        await client.get("/api/nowhere"),
        await client.delete("/api/auth/me", headers=team.admin.headers),
        await client.get("/api/equipment/EQ-2026-999999", headers=team.admin.headers),
        await client.post("/api/equipment", json={}, headers=team.admin.headers),
        await client.get("/api/equipment"),
    ]
    for answer in answers:
        body = answer.json()
        assert set(body) == {"error"}, body
        assert {"code", "message"} <= set(body["error"])
        assert not leaks(answer.text)


@pytest.mark.parametrize("field", ["status", "criticality"])
async def test_patch_cannot_clear_required_asset_fields(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant], field: str
) -> None:
    team, _ = tenants
    answer = await client.patch(
        f"/api/equipment/{team.other_asset['id']}", json={field: None}, headers=team.admin.headers
    )
    assert answer.status_code == 422, f"{answer.status_code} {answer.text}"


async def test_import_rows_offset_is_bounded(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant]
) -> None:
    team, _ = tenants
    answer = await client.get(
        f"/api/equipment/import/{team.import_id}",
        params={"rows_offset": 2**63},
        headers=team.admin.headers,
    )
    assert answer.status_code == 422, f"{answer.status_code} {answer.text}"


def _documented(openapi: dict[str, Any], method: str, path: str) -> set[str]:
    return set(openapi["paths"][path][method]["responses"])


async def test_unparseable_body_status_is_documented(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant], openapi: dict[str, Any]
) -> None:
    team, _ = tenants
    answer = await client.post(
        "/api/equipment",
        content=b'{"manufacturer": "\xff"}',
        headers=team.admin.headers | {"content-type": "application/json"},
    )
    assert answer.status_code < 500
    assert str(answer.status_code) in _documented(openapi, "post", "/api/equipment")


async def test_created_status_is_documented(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant], openapi: dict[str, Any]
) -> None:
    team, _ = tenants
    answer = await client.post(
        "/api/equipment",
        json={"manufacturer": "WEG", "serial": "DOC-201"},
        headers=team.admin.headers,
    )
    assert answer.status_code == 201
    assert "201" in _documented(openapi, "post", "/api/equipment")


REF_ROUTES = [
    ("GET", "/api/equipment/{}", None),
    ("PUT", "/api/equipment/{}", {"manufacturer": "WEG"}),
    ("PATCH", "/api/equipment/{}", {"location": "Bay 1"}),
    ("POST", "/api/equipment/{}/retire", {"reason": "scrapped"}),
    ("GET", "/api/equipment/{}/history", None),
    ("GET", "/api/equipment/{}/work-orders", None),
    ("GET", "/api/work-orders/equipment/{}/work-orders", None),
    ("GET", "/api/work-orders/{}", None),
    ("PATCH", "/api/work-orders/{}", {"note": "hello"}),
    ("PUT", "/api/work-orders/{}", {"note": "hello"}),
    ("POST", "/api/work-orders/{}/comments", {"body": "hello"}),
    ("POST", "/api/work-orders/{}/checklist/1", {"done": True}),
    ("POST", "/api/work-orders/WO-2026-000001/checklist/{}", {"done": True}),
]


def _ref_cases() -> list[Any]:
    cases = []
    for method, template, body in REF_ROUTES:
        refs = {"blank": "%20"}
        if template.startswith("/api/equipment/{}") and not template.endswith("work-orders"):
            refs["65 characters"] = "x" * 65
        for name, ref in refs.items():
            cases.append(
                pytest.param(
                    method,
                    template.format(ref),
                    body,
                    id=f"{method} {template} {name}",
                )
            )
    cases.append(
        pytest.param(
            "GET",
            "/api/equipment/search/fuzzy?query=%20%20",
            None,
            id="search: blank query",
        )
    )
    return cases


@pytest.mark.parametrize(("method", "url", "body"), _ref_cases())
async def test_ids_the_contract_refuses_are_a_422(
    services: ServiceSet,
    tenants: tuple[Tenant, Tenant],
    method: str,
    url: str,
    body: dict[str, Any] | None,
) -> None:
    team, _ = tenants
    assert services.app is not None
    transport = httpx.ASGITransport(app=services.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://rivet.test") as raw:
        answer = await raw.request(method, url, json=body, headers=team.admin.headers)
    assert not leaks(answer.text)
    assert answer.status_code == 422, f"{answer.status_code} {answer.text}"


async def test_work_order_with_unknown_asset_reference_is_documented(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant], openapi: dict[str, Any]
) -> None:
    team, _ = tenants
    answer = await client.post(
        "/api/work-orders",
        json={"title": "Merge", "equipment": {"manufacturer": "ABB", "merge_into": team.org_id}},
        headers=team.admin.headers,
    )
    assert answer.status_code < 500
    assert str(answer.status_code) in _documented(openapi, "post", "/api/work-orders")


async def test_documented_max_length_holds(
    client: httpx.AsyncClient, openapi: dict[str, Any]
) -> None:
    schema = openapi["components"]["schemas"]["LogOut"]["properties"]["refresh_token"]
    padded = "a" * 20 + " " * schema["maxLength"]
    answer = await client.post("/api/auth/logout", json={"refresh_token": padded})
    assert answer.status_code == 422, f"{answer.status_code} {answer.text}"
