"""Readiness follows the NATS connection; migrations are idempotent and concurrency-safe;
a restarted service keeps its users and sessions."""

import asyncio
import time

import asyncpg
import httpx

from rivet_auth.main import MIGRATIONS
from rivet_devstack.servers import EmbeddedNats
from rivet_devstack.testing.helpers import login, register
from rivet_devstack.testing.services import ServiceSet
from rivet_gateway.app import create_app
from rivet_runtime.migrations import migrate
from rivet_runtime.service import ServiceRuntime


async def _ready(client: httpx.AsyncClient) -> bool:
    return (await client.get("/ready")).status_code == 200


async def _eventually(client: httpx.AsyncClient, want: bool, timeout: float) -> float:
    started = time.monotonic()
    while await _ready(client) != want:
        assert time.monotonic() - started < timeout, f"/ready never became {want}"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def test_readiness_is_red_while_nats_is_away(
    services: ServiceSet, private_nats: EmbeddedNats, namespace: str
) -> None:
    runtime: ServiceRuntime[None] = ServiceRuntime(
        services.gateway_settings(nats_url=private_nats.url, nats_namespace=namespace), None
    )
    app = create_app(runtime)
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert await _ready(client)
            private_nats.kill()
            await _eventually(client, want=False, timeout=15)
            assert (await client.get("/health")).status_code == 200  # alive, just not ready
            answer = await client.post("/api/auth/login", data={"username": "a", "password": "b"})
            assert answer.status_code == 503
            # Well past nats-py's default give-up point would be minutes; reconnection is
            # unbounded, so the service comes back whenever NATS does.
            restarted = EmbeddedNats(private_nats.store, port=private_nats.port).start()
            private_nats.proc = restarted.proc
            await _eventually(client, want=True, timeout=15)
    finally:
        await runtime.stop()


async def _schema_fingerprint(url: str) -> list[tuple[str, ...]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'auth' ORDER BY 1, 2"
        )
        version = await conn.fetchval("SELECT version_num FROM auth.alembic_version")
    finally:
        await conn.close()
    return [tuple(r) for r in rows] + [("version", version)]


async def test_migrations_twice_and_concurrently_change_nothing(isolated_database: str) -> None:
    # Three replicas starting at once: the advisory lock lets one migrate, the others wait.
    await asyncio.gather(*(migrate(isolated_database, "auth", MIGRATIONS) for _ in range(3)))
    first = await _schema_fingerprint(isolated_database)
    assert ("users", "email", "text") in first
    await migrate(isolated_database, "auth", MIGRATIONS)
    assert await _schema_fingerprint(isolated_database) == first


async def test_restart_keeps_users_and_sessions(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin = await register(api)
    await services.restart("auth")
    assert (await login(api, admin.email)).status_code == 200
    refreshed = await api.post(
        "/api/auth/refresh", json={"refresh_token": admin.tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200
    # Access tokens issued before the restart stay valid too.
    assert (await api.get("/api/auth/me", headers=admin.headers)).status_code == 200
