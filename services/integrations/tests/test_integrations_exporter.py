"""The exporter on the real NATS and PostgreSQL: two replicas of the service copy each exported
event once into its organization's stream (created on its first event), also when an event
comes again after a lost acknowledgement; what does not leave never appears."""

import asyncio
import collections
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import nats
import pytest
from integrations_support import (
    EXPORTED_KINDS,
    INTERNAL_KINDS,
    envelope,
    event_ids,
    publish,
    read_stream,
)
from nats.aio.msg import Msg
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from rivet_contracts import Events
from rivet_contracts.streams import EXPORTED_STREAMS, org_stream
from rivet_devstack.testing.env import TestEnv
from rivet_devstack.testing.plugin import all_streams
from rivet_integrations.exporter.service import Exporter
from rivet_integrations.main import build
from rivet_integrations.settings import IntegrationsSettings
from rivet_runtime.db import async_url
from rivet_runtime.service import ServiceRuntime
from rivet_runtime.streams import ensure_streams

pytestmark = pytest.mark.integration


def _settings(test_env: TestEnv, database_url: str, namespace: str) -> IntegrationsSettings:
    return IntegrationsSettings.model_validate(
        test_env.common()
        | {
            "database_url": database_url,
            "nats_namespace": namespace,
            "export_ack_wait": 5.0,
            "export_retry_delay": 0.2,
        }
    )


@pytest.fixture
async def js(test_env: TestEnv) -> AsyncIterator[Any]:
    nc = await nats.connect(test_env.nats_url)
    yield nc.jetstream()
    await nc.close()


async def _wait(check: Callable[[], Any], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if await check():
            return
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)


def _sample(result: str) -> float:
    return sum(
        REGISTRY.get_sample_value(
            "rivet_integrations_events_total", {"stream": s.name, "result": result}
        )
        or 0.0
        for s in EXPORTED_STREAMS
    )


async def test_two_replicas_copy_each_event_once_into_its_organization_s_stream(
    test_env: TestEnv,
    isolated_database: str,
    namespace: str,
    js: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _settings(test_env, isolated_database, namespace)
    prefix = settings.subject("")
    await ensure_streams(js, EXPORTED_STREAMS, settings)  # their publishers are not here
    org_a, org_b = uuid.uuid4(), uuid.uuid4()
    stream_a = settings.stream_name(org_stream(org_a).name)
    stream_b = settings.stream_name(org_stream(org_b).name)

    a = [envelope(s, org_a) for s in EXPORTED_KINDS]
    b = [envelope(s, org_b) for s in EXPORTED_KINDS]
    internal = [envelope(s, org_a) for s in INTERNAL_KINDS]
    no_org = envelope(Events.EQUIPMENT_UPDATED, org_a, with_org=False)

    # The first acknowledgement of two events is lost: JetStream brings them again (to
    # either replica) after EXPORT_ACK_WAIT, and their second copy must be dropped.
    lose = {a[2].event_id: 1, b[4].event_id: 1}
    acknowledged: collections.Counter[str] = collections.Counter()
    original = Exporter._acknowledge

    async def acknowledge(self: Exporter, msg: Msg) -> None:
        event_id = uuid.UUID(msg.headers["Nats-Msg-Id"]) if msg.headers else None
        acknowledged[str(event_id)] += 1
        if event_id in lose and lose[event_id] > 0:
            lose[event_id] -= 1
            return
        await original(self, msg)

    monkeypatch.setattr(Exporter, "_acknowledge", acknowledge)
    duplicates = _sample("duplicate")

    replicas: list[ServiceRuntime[Any]] = [build(settings), build(settings)]
    await asyncio.gather(*(r.start() for r in replicas))
    try:
        assert await read_stream(js, stream_a) is None  # created on the first need
        for event in [*internal, no_org, *a[:3]]:
            await publish(js, prefix, event)

        async def a_started() -> bool:
            return len(await read_stream(js, stream_a) or []) >= 3

        await _wait(a_started)
        assert await read_stream(js, stream_b) is None
        for event in [*a[3:], *b]:
            await publish(js, prefix, event)

        async def redelivered() -> bool:
            return all(acknowledged[str(e)] >= 2 for e in (a[2].event_id, b[4].event_id))

        await _wait(redelivered)
        await asyncio.sleep(1.0)  # anything still on its way would show now
        assert _sample("duplicate") >= duplicates + 2

        for stream, events, org in ((stream_a, a, org_a), (stream_b, b, org_b)):
            stored = await read_stream(js, stream) or []
            assert sorted(event_ids(stored)) == sorted(str(e.event_id) for e in events)
            by_id = {s.msg_id: s for s in stored}
            for event in events:
                copy = by_id[str(event.event_id)]
                assert copy.body == event.body  # bytes unchanged
                assert copy.subject == f"{prefix}org.{org}.{event.subject}"

        # nothing else became a stream: no internal event, nothing without an organization
        names = [i.config.name async for i in _streams(js)]
        ours = sorted(n for n in names if n.startswith(settings.stream_name("ORG_")))
        assert ours == sorted([stream_a, stream_b])
        every = [s for n in ours for s in (await read_stream(js, n) or [])]
        leaked = {str(e.event_id) for e in [*internal, no_org]} & set(event_ids(every))
        assert not leaked

        engine = create_async_engine(async_url(isolated_database))
        try:
            async with engine.connect() as conn:
                rows = (
                    await conn.execute(text("SELECT org_id, stream FROM integrations.org_streams"))
                ).all()
        finally:
            await engine.dispose()
        assert sorted(rows) == sorted(
            [(org_a, org_stream(org_a).name), (org_b, org_stream(org_b).name)]
        )
    finally:
        for replica in replicas:
            await replica.stop()


async def _streams(js: Any) -> AsyncIterator[Any]:
    for info in await all_streams(js):  # every page: the test server holds many streams
        yield info
