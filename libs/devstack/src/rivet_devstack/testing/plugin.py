"""Session fixtures: servers, an isolated database and namespace, signing keys, running
services and an HTTP client for the gateway."""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from ..keys import generate
from ..servers import EmbeddedNats, Servers, drop_database, ensure_database, with_database
from .env import TestEnv, discover
from .services import ServiceSet


@pytest.fixture(scope="session")
def test_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestEnv]:
    env, started = discover(tmp_path_factory.mktemp("servers"))
    asyncio.run(ensure_database(env.admin_url, env.database))
    yield env
    asyncio.run(_cleanup(env))
    if isinstance(started, Servers):
        started.stop()


async def all_streams(js: Any) -> list[Any]:
    """Every stream's info: the server lists them a page (256) at a time, and a test server
    holds more (each run's streams, an organization's stream per organization exported)."""
    found: list[Any] = []
    while True:
        page = await js.streams_info(offset=len(found))
        found += page
        if not page:
            return found


async def _cleanup(env: TestEnv) -> None:
    await drop_database(env.admin_url, env.database)
    with contextlib.suppress(Exception):
        nc = await nats.connect(env.nats_url, connect_timeout=2, max_reconnect_attempts=0)
        js = nc.jetstream()
        prefix = env.namespace.upper()  # streams, object stores (OBJ_<b>), key-value (KV_<b>)
        names = [info.config.name for info in await all_streams(js)]
        for name in names:  # listed first: deleting moves the later pages
            if name and name.removeprefix("OBJ_").removeprefix("KV_").startswith(prefix):
                await js.delete_stream(name)
        await nc.close()


@pytest.fixture(scope="session")
def signing_keys() -> tuple[str, str]:
    """(private PEM, public PEM) used by this run's auth service and gateway."""
    return generate()


@pytest.fixture(scope="session")
async def services(test_env: TestEnv, signing_keys: tuple[str, str]) -> AsyncIterator[ServiceSet]:
    """Every service of the system, started in this process against the run's servers."""
    started = ServiceSet(test_env, signing_keys)
    await started.start()
    yield started
    await started.stop()


@pytest.fixture(scope="session")
async def api(services: ServiceSet) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the gateway app (in process, no socket)."""
    async with services.client() as client:
        yield client


@pytest.fixture
async def isolated_database(test_env: TestEnv) -> AsyncIterator[str]:
    """A database of its own for one test (dropped afterwards): for tests that run extra
    service instances whose relays must not compete with the session's services."""
    name = f"{test_env.database}_{uuid.uuid4().hex[:6]}"
    await ensure_database(test_env.admin_url, name)
    yield with_database(test_env.admin_url, name)
    await drop_database(test_env.admin_url, name)


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    """A nats-server of this test's own, which the test may kill and restart."""
    server = EmbeddedNats(tmp_path / "nats").start()
    yield server
    server.stop()


@pytest.fixture
def namespace(test_env: TestEnv) -> str:
    """A NATS namespace of this test's own."""
    return f"{test_env.namespace}x{uuid.uuid4().hex[:6]}"


def pytest_collection_modifyitems(items: list[Any]) -> None:
    """Tests that use a running system are integration tests."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if {"test_env", "services", "api"} & set(fixtures):
            item.add_marker(pytest.mark.integration)


def pytest_configure(config: pytest.Config) -> None:
    # FastStream logs every subscriber stop at INFO; keep test output about the tests.
    logging.getLogger("faststream").setLevel(logging.WARNING)
