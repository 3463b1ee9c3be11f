"""The gateway's rate limits, through its HTTP API: per user, per API key and per client
address on the routes without sign-in; 429 with ``Retry-After`` and the usual error shape; one
budget for two gateway replicas (each its own NATS connection); the budget back after the
wait it names; and, with NATS gone, the replica still serving within its own count.

The session's gateway has limits no test reaches (``GATEWAY_LOAD_LIMITS``); these tests start
gateways of their own with low ones, on the session's system: a few a minute, so a slow machine
does not earn a request back in the middle of a test."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from rivet_devstack.servers import EmbeddedNats
from rivet_devstack.testing.helpers import create_api_key, key_headers, register
from rivet_devstack.testing.services import ServiceSet
from rivet_runtime.service import ServiceRuntime

pytestmark = pytest.mark.security

BAD_REFRESH = {"refresh_token": "not-a-refresh-token-" + "x" * 24}


@contextlib.asynccontextmanager
async def _gateway(services: ServiceSet, **overrides: Any) -> AsyncIterator[FastAPI]:
    """A gateway of its own (its own NATS connection), started, with these settings."""
    runtime, app = services.gateway(**overrides)
    await runtime.start()
    try:
        yield app
    finally:
        await _stop(runtime)


async def _stop(runtime: ServiceRuntime[Any]) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(runtime.stop(), 15)


def _client(app: FastAPI, ip: str = "203.0.113.10") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://rivet.test")


def _refused(kind: str) -> float:
    return REGISTRY.get_sample_value("rivet_gateway_rate_limited_total", {"kind": kind}) or 0.0


def _assert_refused(answer: httpx.Response, scope: str) -> int:
    """A 429 in the gateway's error shape; its ``Retry-After``."""
    assert answer.status_code == 429, answer.text
    retry = int(answer.headers["Retry-After"])
    assert retry >= 1
    error = answer.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["retry_after"] == retry
    assert error["details"]["scope"] == scope
    assert "too many requests" in error["message"]
    assert f"retry in {retry} s" in error["message"]
    return retry


async def test_a_user_over_the_limit_is_refused_with_retry_after(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    busy, calm = await register(api, "busy"), await register(api, "calm")
    async with (
        _gateway(services, rate_limit_user=3, rate_limit_user_burst=4) as app,
        _client(app) as client,
    ):
        refused = _refused("user")
        statuses = [(await client.get("/api/auth/me", headers=busy.headers)) for _ in range(6)]
        assert [a.status_code for a in statuses] == [200] * 4 + [429] * 2
        _assert_refused(statuses[-1], "user")
        assert _refused("user") - refused == 2  # counted by kind, never by caller
        assert "this user" in statuses[-1].json()["error"]["message"]
        # another person is not held back by the first one's requests
        assert (await client.get("/api/auth/me", headers=calm.headers)).status_code == 200


async def test_an_api_key_over_the_limit_is_refused(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin = await register(api, "keys")
    key = key_headers(await create_api_key(api, admin, "viewer"))
    async with (
        _gateway(services, rate_limit_api_key=3, rate_limit_api_key_burst=3) as app,
        _client(app) as client,
    ):
        # the new gateway loads the keys at start (503 until then, which spends nothing)
        for _ in range(100):
            first = await client.get("/api/auth/organization", headers=key)
            if first.status_code != 503:
                break
            await asyncio.sleep(0.05)
        rest = [await client.get("/api/auth/organization", headers=key) for _ in range(3)]
        assert [first.status_code] + [a.status_code for a in rest] == [200] * 3 + [429]
        _assert_refused(rest[-1], "api_key")
        # the key's budget is its own: the admin who made it still gets through
        own = await client.get("/api/auth/organization", headers=admin.headers)
        assert own.status_code == 200


async def test_routes_without_sign_in_are_limited_per_client_address(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    person = await register(api, "behindnat")
    settings = {"rate_limit_anonymous": 3, "rate_limit_anonymous_burst": 3}
    async with _gateway(services, **settings) as app:
        async with _client(app, "198.51.100.20") as client:
            answers = [await client.post("/api/auth/refresh", json=BAD_REFRESH) for _ in range(4)]
            assert [a.status_code for a in answers] == [401] * 3 + [429]
            _assert_refused(answers[-1], "address")
            # a forwarding header does not buy a new address when no proxy is trusted
            spoofed = await client.post(
                "/api/auth/login",
                data={"username": "a@example.com", "password": "x"},
                headers={"X-Forwarded-For": "192.0.2.77"},
            )
            _assert_refused(spoofed, "address")
            # signed-in requests from the same address spend the person's budget, not it
            assert (await client.get("/api/auth/me", headers=person.headers)).status_code == 200
        async with _client(app, "198.51.100.21") as other:
            assert (await other.post("/api/auth/refresh", json=BAD_REFRESH)).status_code == 401
    # behind a trusted proxy, each client forwarded by it has its own budget
    async with (
        _gateway(services, trusted_proxies=["10.0.0.0/8"], **settings) as app,
        _client(app, "10.1.2.3") as proxy,
    ):
        for client_ip in ("192.0.2.1", "192.0.2.2"):
            hop = {"X-Forwarded-For": f"6.6.6.6, {client_ip}"}  # the left one is the client's lie
            answers = [
                await proxy.post("/api/auth/refresh", json=BAD_REFRESH, headers=hop)
                for _ in range(4)
            ]
            assert [a.status_code for a in answers] == [401] * 3 + [429], client_ip


async def test_two_gateways_share_one_budget(api: httpx.AsyncClient, services: ServiceSet) -> None:
    """Two replicas, each with its own NATS connection: a user alternating between them gets
    the limit once, not once per replica."""
    person = await register(api, "tworeplicas")
    limits = {"rate_limit_user": 3, "rate_limit_user_burst": 6}
    async with (
        _gateway(services, **limits) as first,
        _gateway(services, **limits) as second,
        _client(first) as a,
        _client(second) as b,
    ):
        answers = [
            await (a if i % 2 else b).get("/api/auth/me", headers=person.headers) for i in range(10)
        ]
        assert sum(answer.status_code == 200 for answer in answers) == 6
        assert [answer.status_code for answer in answers[6:]] == [429] * 4
        _assert_refused(answers[-1], "user")
        _assert_refused(answers[-2], "user")


async def test_the_budget_comes_back_after_the_wait_it_names(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    person = await register(api, "patient")
    async with (
        _gateway(services, rate_limit_user=20, rate_limit_user_burst=2) as app,
        _client(app) as client,
    ):
        for _ in range(10):
            answer = await client.get("/api/auth/me", headers=person.headers)
            if answer.status_code == 429:
                break
        retry = _assert_refused(answer, "user")
        await asyncio.sleep(retry)
        assert (await client.get("/api/auth/me", headers=person.headers)).status_code == 200


async def test_without_nats_the_gateway_keeps_serving_within_its_own_count(
    services: ServiceSet, private_nats: EmbeddedNats
) -> None:
    """Fail open, as documented: the shared bucket unreachable, each replica limits with its
    own memory (a request is not refused for want of NATS, and not let through unlimited)
    and counts the failure."""

    def failures() -> float:
        name = "rivet_gateway_rate_limit_store_failures_total"
        return REGISTRY.get_sample_value(name) or 0.0

    runtime, app = services.gateway(
        nats_url=private_nats.url,
        nats_namespace="rl" + uuid.uuid4().hex[:6],
        rpc_timeout=0.5,
        rate_limit_anonymous=6,
        rate_limit_anonymous_burst=2,
        rate_limit_store_timeout=0.2,
    )
    await runtime.start()
    try:
        before = failures()
        private_nats.kill()
        async with _client(app, "198.51.100.99") as client:
            answers = [await client.post("/api/auth/refresh", json=BAD_REFRESH) for _ in range(3)]
        # served (the auth service is unreachable too: 503), then the replica's own limit
        assert {a.status_code for a in answers[:2]} <= {503, 504}, [a.text for a in answers]
        _assert_refused(answers[2], "address")
        assert failures() > before
    finally:
        await _stop(runtime)
