"""HTTP behaviour of the gateway: errors, limits, headers, docs, and unavailable services."""

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta

import httpx
import nats

from rivet_devstack.testing.helpers import register
from rivet_devstack.testing.services import ServiceSet
from rivet_gateway.app import create_app
from rivet_runtime import metrics as runtime_metrics
from rivet_runtime.service import ServiceRuntime


async def test_security_headers_and_request_id(api: httpx.AsyncClient) -> None:
    answer = await api.get("/api/auth/me", headers={"X-Request-ID": "trace-123"})
    assert answer.headers["x-request-id"] == "trace-123"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    weird = await api.get("/api/auth/me", headers={"X-Request-ID": "bad id\twith spaces"})
    assert weird.headers["x-request-id"] != "bad id\twith spaces"


async def test_body_size_is_capped(api: httpx.AsyncClient) -> None:
    big = b'{"email": "' + b"a" * 2_000_000 + b'"}'
    answer = await api.post(
        "/api/auth/register", content=big, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"


async def test_body_size_is_capped_without_content_length(api: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"x" * 65536

    answer = await api.post(
        "/api/auth/register", content=chunks(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413


async def test_malformed_json_is_a_422(api: httpx.AsyncClient) -> None:
    answer = await api.post(
        "/api/auth/register", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "validation_error"


async def test_unknown_route_and_method(api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/nothing-here")).json()["error"]["code"] == "not_found"
    assert (await api.delete("/api/auth/me")).status_code == 405


async def test_health_ready_metrics_and_docs(api: httpx.AsyncClient) -> None:
    assert (await api.get("/health")).json()["status"] == "ok"
    await api.get("/health")
    ready = await api.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["nats"] is True
    await api.get("/api/auth/me")
    # the API port does not serve /metrics (METRICS_PORT: a listener of its own)
    assert (await api.get("/metrics")).status_code == 404
    metrics = runtime_metrics.render()[0].decode()
    assert 'rivet_http_request_duration_seconds_count{method="GET",route="/api/auth/me"' in metrics
    assert 'route="/health"' in metrics
    assert not re.search(r"^\w+_created\b", metrics, re.M)  # no _created series
    schema = (await api.get("/openapi.json")).json()
    assert "OAuth2PasswordBearer" in schema["components"]["securitySchemes"]
    assert "/api/auth/link-telegram" in schema["paths"]
    assert (await api.get("/docs")).status_code == 200
    assert (await api.get("/redoc")).status_code == 200


async def test_service_that_does_not_exist_gives_503_fast(services: ServiceSet) -> None:
    """A namespace where no auth service listens: NATS says "no responders" at once."""
    runtime: ServiceRuntime[None] = ServiceRuntime(
        services.gateway_settings(nats_namespace="nobody" + services.env.run_id[:6]), None
    )
    app = create_app(runtime)
    await runtime.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            started = time.monotonic()
            answer = await client.post(
                "/api/auth/login", data={"username": "a@example.com", "password": "x"}
            )
            assert answer.status_code == 503
            assert time.monotonic() - started < 1.0
            assert "auth service is unavailable" in answer.json()["error"]["message"]
    finally:
        await runtime.stop()


async def test_service_that_hangs_gives_504_within_the_timeout(services: ServiceSet) -> None:
    namespace = "hang" + services.env.run_id[:6]
    silent = await nats.connect(services.env.nats_url)
    await silent.subscribe(f"{namespace}.rpc.auth.login", cb=_never_answer)
    runtime: ServiceRuntime[None] = ServiceRuntime(
        services.gateway_settings(nats_namespace=namespace, rpc_timeout=0.5), None
    )
    app = create_app(runtime)
    await runtime.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            started = time.monotonic()
            answer = await client.post(
                "/api/auth/login", data={"username": "a@example.com", "password": "x"}
            )
            assert answer.status_code == 504
            assert 0.4 < time.monotonic() - started < 2.0
    finally:
        await runtime.stop()
        await silent.close()


async def _never_answer(_msg: object) -> None:
    await asyncio.sleep(0)


async def test_cors_allow_list(services: ServiceSet) -> None:
    runtime: ServiceRuntime[None] = ServiceRuntime(
        services.gateway_settings(cors_origins=["https://app.example.com"]), None
    )
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        preflight = {"Access-Control-Request-Method": "GET"}
        allowed = await c.options(
            "/api/auth/me", headers={"Origin": "https://app.example.com"} | preflight
        )
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
        denied = await c.options(
            "/api/auth/me", headers={"Origin": "https://evil.example.com"} | preflight
        )
        assert "access-control-allow-origin" not in denied.headers


async def test_responses_never_carry_hashes(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    for path in ("/api/auth/me", "/api/auth/users"):
        body = (await api.get(path, headers=admin.headers)).text
        assert "argon2" not in body
        assert "password" not in body


async def test_the_forecast_pages_by_cursor_and_refuses_a_foreign_one(
    api: httpx.AsyncClient,
) -> None:
    admin, other = await register(api), await register(api, "other")
    asset = await api.post(
        "/api/equipment",
        json={"manufacturer": "WEG", "model": "W22", "serial": f"FC-{time.time_ns()}"},
        headers=admin.headers,
    )
    assert asset.status_code == 201, asset.text
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    daily = {"kind": "calendar", "every": 1, "unit": "days", "first_due": tomorrow}
    plan = await api.post(
        "/api/maintenance/plans",
        json={"equipment_id": asset.json()["equipment"]["id"], "title": "Daily", "trigger": daily},
        headers=admin.headers,
    )
    assert plan.status_code == 201, plan.text
    route = "/api/maintenance/forecast"
    # a daily plan: 365 or 366 items in the widest window, three a page
    first = await api.get(route, params={"days": 366, "limit": 3}, headers=admin.headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert len(body["items"]) == 3
    assert body["next_cursor"]
    cursor = body["next_cursor"]
    second = await api.get(
        route, params={"days": 366, "limit": 3, "cursor": cursor}, headers=admin.headers
    )
    assert second.status_code == 200, second.text
    dues = [i["due_at"] for i in body["items"] + second.json()["items"]]
    assert len(set(dues)) == 6
    assert dues == sorted(dues)
    refused = [
        (admin, {"days": 366, "cursor": "not a cursor"}),
        (admin, {"days": 30, "cursor": cursor}),  # another forecast's
        (other, {"days": 366, "cursor": cursor}),  # another organization's
        (admin, {"limit": 0}),
        (admin, {"limit": 501}),
        (admin, {"cursor": "f1." + "A" * 300}),
    ]
    for who, params in refused:
        answer = await api.get(route, params=params, headers=who.headers)
        assert answer.status_code == 422, (params, answer.text)
    empty = await api.get(route, headers=other.headers)
    assert empty.status_code == 200
    assert empty.json()["items"] == []
    assert empty.json()["next_cursor"] is None
