"""Webhooks on the real NATS and PostgreSQL, POSTing to a real HTTP receiver on 127.0.0.1
(allowed by ``WEBHOOK_ALLOWED_HOSTS`` for that address only): signed per Standard Webhooks
(verified with ``standardwebhooks``), both secrets during a rotation, at least once through a
receiver that fails for a while, redelivery and replay, two replicas never sending one
delivery at once, the endpoint disabled after sustained failure, and internal addresses
refused at create, at update and at send."""

import asyncio
import collections
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
import pytest
from aiohttp import web
from integrations_support import envelope, publish, read_stream
from standardwebhooks import Webhook

from rivet_contracts import ErrorCode, Events, Identity, Role, ServiceError
from rivet_contracts import integrations as contract
from rivet_contracts.streams import EXPORTED_STREAMS, INTEGRATIONS, org_stream
from rivet_devstack.testing.env import TestEnv
from rivet_integrations.main import build
from rivet_integrations.settings import IntegrationsSettings
from rivet_integrations.webhooks import addresses
from rivet_runtime.client import CallMeta
from rivet_runtime.service import ServiceRuntime
from rivet_runtime.streams import ensure_streams

pytestmark = pytest.mark.integration

SHORT = [0.2, 0.2, 0.3, 0.3, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
"""A retry schedule of seconds: ~7 s of retries."""


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records what it is sent and answers ``status()``."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    status: Callable[[], int] = lambda: 200
    status_for: Callable[[str], int] | None = None
    """An answer by ``webhook-id`` (instead of ``status``)."""
    delay: float = 0.0
    in_flight: collections.Counter[str] = field(default_factory=collections.Counter)
    max_per_id: int = 0
    max_total: int = 0
    peers: set[Any] = field(default_factory=set)
    """The client's (address, port) of each connection the requests came on."""
    answer: bytes = b"ok"
    """The body of every answer."""

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def ok(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        webhook_id = request.headers.get("webhook-id", "")
        if request.transport is not None:
            self.peers.add(request.transport.get_extra_info("peername"))
        self.in_flight[webhook_id] += 1
        self.max_per_id = max(self.max_per_id, self.in_flight[webhook_id])
        self.max_total = max(self.max_total, sum(self.in_flight.values()))
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if request.path == "/redirect":
                status = 302
            elif self.status_for is not None:
                status = self.status_for(webhook_id)
            else:
                status = self.status()
            self.requests.append(Received(request.path, dict(request.headers), body, status))
        finally:
            self.in_flight[webhook_id] -= 1
        if status == 302:
            return web.Response(status=302, headers={"Location": self.url()})
        return web.Response(status=status, body=self.answer)


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", found.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    found.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield found
    finally:
        await runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serving() as found:
        yield found


@pytest.fixture
async def js(test_env: TestEnv) -> AsyncIterator[Any]:
    nc = await nats.connect(test_env.nats_url)
    yield nc.jetstream()
    await nc.close()


def _settings(
    test_env: TestEnv, database_url: str, namespace: str, **overrides: Any
) -> IntegrationsSettings:
    values: dict[str, Any] = test_env.common() | {
        "database_url": database_url,
        "nats_namespace": namespace,
        "export_ack_wait": 5.0,
        "export_retry_delay": 0.2,
        "webhook_schedule": SHORT,
        "webhook_allowed_hosts": ["127.0.0.1"],
        "webhook_timeout": 5.0,
        "webhook_lease": 10.0,
    }
    return IntegrationsSettings.model_validate(values | overrides)


class Stack:
    def __init__(self, settings: IntegrationsSettings, js: Any, replicas: int = 1) -> None:
        self.settings = settings
        self.js = js
        self.replicas: list[ServiceRuntime[Any]] = [build(settings) for _ in range(replicas)]
        self.org = uuid.uuid4()
        self.admin = Identity(user_id=uuid.uuid4(), org_id=self.org, role=Role.ADMIN)

    async def __aenter__(self) -> "Stack":
        await ensure_streams(self.js, EXPORTED_STREAMS, self.settings)
        await asyncio.gather(*(r.start() for r in self.replicas))
        return self

    async def __aexit__(self, *_: object) -> None:
        for replica in self.replicas:
            await replica.stop()

    async def call(self, spec: Any, request: Any, who: Identity | None = None) -> Any:
        meta = CallMeta(who or self.admin, f"test-{uuid.uuid4().hex[:8]}", "api")
        return await self.replicas[0].client.call(spec, request, meta, timeout=10)

    async def endpoint(self, url: str, types: list[str]) -> contract.WebhookSecret:
        request = contract.CreateWebhook(url=url, event_types=types)
        created: contract.WebhookSecret = await self.call(contract.CREATE_WEBHOOK, request)
        return created

    async def publish(self, subject: str, org: uuid.UUID | None = None) -> Any:
        event = envelope(subject, org or self.org)
        await publish(self.js, self.settings.subject(""), event)
        return event

    async def log(self, webhook_id: uuid.UUID) -> list[contract.DeliveryAttemptView]:
        items: list[contract.DeliveryAttemptView] = []
        before = None
        while True:
            request = contract.ListWebhookDeliveries(webhook_id=webhook_id, before=before, limit=7)
            page = await self.call(contract.LIST_WEBHOOK_DELIVERIES, request)
            items += page.items
            if page.next_before is None:
                return items
            before = page.next_before

    async def settled(self, webhook_id: uuid.UUID) -> None:
        """Wait until no delivery of the endpoint is pending (every outcome stored)."""

        async def check() -> bool:
            return (await self.get(webhook_id)).stats.pending == 0

        await until(check, "the deliveries settled")

    async def get(self, webhook_id: uuid.UUID) -> contract.WebhookView:
        view: contract.WebhookView = await self.call(
            contract.GET_WEBHOOK, contract.GetWebhook(webhook_id=webhook_id)
        )
        return view


async def until(
    check: Callable[[], Awaitable[bool] | bool], what: str, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def _verify(secret: str, received: Received) -> Any:
    return Webhook(secret).verify(received.body, received.headers)


async def test_signed_deliveries_rotation_redelivery_and_replay(
    test_env: TestEnv, isolated_database: str, namespace: str, js: Any, receiver: Receiver
) -> None:
    settings = _settings(test_env, isolated_database, namespace)
    async with Stack(settings, js) as stack:
        started = datetime.now(UTC) - timedelta(seconds=1)
        endpoint = await stack.endpoint(receiver.url(), ["wo.*", "user.registered"])
        assert endpoint.secret.startswith("whsec_")
        assert endpoint.enabled
        wo = await stack.publish(Events.WO_CREATED)
        user = await stack.publish(Events.USER_REGISTERED)
        await stack.publish(Events.EQUIPMENT_CREATED)  # not taken
        await stack.publish(Events.WO_CREATED, uuid.uuid4())  # another organization's
        await stack.publish(Events.USER_PASSWORD_CHANGED)  # never leaves Rivet
        await until(lambda: len(receiver.ok()) >= 2, "two deliveries")
        await asyncio.sleep(0.5)  # anything else would arrive now
        assert len(receiver.requests) == 2
        by_id = {r.headers["webhook-id"]: r for r in receiver.requests}
        assert set(by_id) == {str(wo.event_id), str(user.event_id)}
        for event in (wo, user):
            got = by_id[str(event.event_id)]
            assert got.body == event.body  # the envelope, bytes as published
            assert _verify(endpoint.secret, got)["event_id"] == str(event.event_id)
            assert got.headers["Content-Type"] == "application/json"
            assert len(got.headers["webhook-signature"].split(" ")) == 1

        # a rotation: both secrets sign during the overlap
        rotated = await stack.call(
            contract.ROTATE_WEBHOOK_SECRET, contract.RotateWebhookSecret(webhook_id=endpoint.id)
        )
        assert rotated.secret != endpoint.secret
        assert rotated.previous_secret_expires_at
        assert rotated.secret_hint != endpoint.secret_hint
        later = await stack.publish(Events.WO_CREATED)
        await until(lambda: len(receiver.ok()) >= 3, "the third delivery")
        third = receiver.requests[-1]
        assert third.headers["webhook-id"] == str(later.event_id)
        assert len(third.headers["webhook-signature"].split(" ")) == 2
        _verify(rotated.secret, third)
        _verify(endpoint.secret, third)
        with pytest.raises(Exception, match="signature"):
            _verify("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB", third)

        # the delivery log: newest first, every attempt
        await stack.settled(endpoint.id)
        log = await stack.log(endpoint.id)
        assert next(a.event_id for a in log) == later.event_id
        assert all(a.delivered and a.status_code == 200 for a in log)
        assert len(log) == 3
        assert [a.id for a in log] == sorted((a.id for a in log), reverse=True)

        # redelivery of one delivery: the same webhook-id again, a second attempt in the log
        first = next(a for a in log if a.event_id == wo.event_id)
        queued = await stack.call(
            contract.REDELIVER_WEBHOOK,
            contract.RedeliverWebhook(webhook_id=endpoint.id, delivery_id=first.delivery_id),
        )
        assert queued.queued == 1
        await until(lambda: len(receiver.ok()) >= 4, "the redelivery")
        assert receiver.requests[-1].headers["webhook-id"] == str(wo.event_id)
        await stack.settled(endpoint.id)
        log = await stack.log(endpoint.id)
        assert [a.attempt for a in log if a.delivery_id == first.delivery_id] == [2, 1]

        # replay of a time range: the endpoint's events in it, again
        replay = contract.ReplayWebhook(
            webhook_id=endpoint.id, since=started, until=datetime.now(UTC) + timedelta(seconds=1)
        )
        assert (await stack.call(contract.REPLAY_WEBHOOK, replay)).queued == 3
        await until(lambda: len(receiver.ok()) >= 7, "the replay")
        replayed = [r.headers["webhook-id"] for r in receiver.requests[4:]]
        assert sorted(replayed) == sorted(str(e.event_id) for e in (wo, user, later))
        await stack.settled(endpoint.id)
        view = await stack.get(endpoint.id)
        # successful deliveries: 3 from the stream, and the rows the redelivery and the replay
        # made (the wo.created one redelivered, then replayed: one row)
        assert view.stats.delivered == 3 + 3
        assert view.stats.last_success_at is not None

        # another organization's admin sees none of it
        other = Identity(user_id=uuid.uuid4(), org_id=uuid.uuid4(), role=Role.ADMIN)
        with pytest.raises(ServiceError) as refused:
            await stack.call(
                contract.GET_WEBHOOK, contract.GetWebhook(webhook_id=endpoint.id), other
            )
        assert refused.value.code is ErrorCode.NOT_FOUND
        page = await stack.call(contract.LIST_WEBHOOKS, contract.ListWebhooks(), other)
        assert page.items == []
        technician = Identity(user_id=uuid.uuid4(), org_id=stack.org, role=Role.TECHNICIAN)
        with pytest.raises(ServiceError) as forbidden:
            await stack.call(contract.LIST_WEBHOOKS, contract.ListWebhooks(), technician)
        assert forbidden.value.code is ErrorCode.FORBIDDEN


async def test_a_receiver_that_fails_for_a_while_gets_every_event(
    test_env: TestEnv, isolated_database: str, namespace: str, js: Any, receiver: Receiver
) -> None:
    """Two replicas; the receiver answers 500 for 3 seconds from its first request: every
    event arrives, none lost, and each copy the receiver accepted is an attempt in the log."""
    settings = _settings(test_env, isolated_database, namespace)
    first_request: list[float] = []

    def status() -> int:  # counted from the first request: a slow start must not skip it
        now = time.monotonic()
        if not first_request:
            first_request.append(now)
        return 500 if now < first_request[0] + 3.0 else 200

    receiver.status = status
    async with Stack(settings, js, replicas=2) as stack:
        endpoint = await stack.endpoint(receiver.url(), ["*"])
        events = [
            await stack.publish(s)
            for s in (Events.WO_CREATED, Events.EQUIPMENT_CREATED, Events.PLAN_CREATED) * 5
        ]
        wanted = {str(e.event_id) for e in events}
        await until(
            lambda: wanted <= {r.headers["webhook-id"] for r in receiver.ok()},
            "every event accepted",
        )
        await stack.settled(endpoint.id)
        assert any(r.status == 500 for r in receiver.requests)  # it did fail for a while
        log = await stack.log(endpoint.id)
        accepted = collections.Counter(r.headers["webhook-id"] for r in receiver.ok())
        logged = collections.Counter(str(a.event_id) for a in log if a.delivered)
        assert accepted == logged  # a duplicate would show as a second delivered attempt
        failed = collections.Counter(str(a.event_id) for a in log if not a.delivered)
        refused = collections.Counter(r.headers["webhook-id"] for r in receiver.requests)
        assert refused - accepted == failed
        assert all(a.status_code == 500 for a in log if not a.delivered)
        view = await stack.get(endpoint.id)
        assert view.enabled
        assert view.stats.delivered == len(events)
        assert view.stats.failing_since is None


async def test_two_replicas_never_send_one_delivery_at_once(
    test_env: TestEnv, isolated_database: str, namespace: str, js: Any, receiver: Receiver
) -> None:
    """A slow receiver: each delivery reaches it once, never two copies at the same time, and
    at most WEBHOOK_CONCURRENCY requests of the endpoint are in flight across both replicas."""
    settings = _settings(test_env, isolated_database, namespace, webhook_concurrency=2)
    receiver.delay = 0.3
    async with Stack(settings, js, replicas=2) as stack:
        await stack.endpoint(receiver.url(), ["wo.created"])
        events = [await stack.publish(Events.WO_CREATED) for _ in range(12)]
        await until(lambda: len(receiver.ok()) >= len(events), "every delivery", timeout=60)
        await asyncio.sleep(0.8)
        ids = collections.Counter(r.headers["webhook-id"] for r in receiver.requests)
        assert ids == collections.Counter(str(e.event_id) for e in events)  # once each
        assert receiver.max_per_id == 1
        assert receiver.max_total <= 2
        # one replica sends for the endpoint; the other holds nothing
        assert sorted(len(r.state.fanout.pumps) for r in stack.replicas) == [0, 1]


async def test_replicas_share_the_endpoints(
    test_env: TestEnv, isolated_database: str, namespace: str, js: Any, receiver: Receiver
) -> None:
    """Four endpoints, two replicas: each replica sends for two (the first to start gives
    away what is over its share once the other is there), and each endpoint gets each event
    once."""
    settings = _settings(test_env, isolated_database, namespace)
    async with Stack(settings, js, replicas=2) as stack:
        for n in range(4):
            await stack.endpoint(receiver.url(f"/hook{n}"), ["wo.created"])

        def shared() -> bool:
            return sorted(len(r.state.fanout.pumps) for r in stack.replicas) == [2, 2]

        await until(shared, "the endpoints shared between the replicas")
        events = [await stack.publish(Events.WO_CREATED) for _ in range(5)]
        await until(lambda: len(receiver.ok()) >= 4 * len(events), "every delivery")
        await asyncio.sleep(0.5)
        got = collections.Counter((r.path, r.headers["webhook-id"]) for r in receiver.requests)
        assert got == collections.Counter(
            (f"/hook{n}", str(e.event_id)) for n in range(4) for e in events
        )
        assert shared()


async def test_a_failing_event_goes_to_retries_while_later_events_flow(
    test_env: TestEnv, isolated_database: str, namespace: str, js: Any, receiver: Receiver
) -> None:
    """The receiver refuses one event for 2 seconds: the events after it arrive meanwhile (it
    does not hold the endpoint's stream back), it arrives from its delivery row once the
    receiver takes it, and the log shows its failed first attempt and its retries."""
    settings = _settings(test_env, isolated_database, namespace, webhook_schedule=[0.5] * 10)
    refused_until: list[float] = []

    async with Stack(settings, js) as stack:
        endpoint = await stack.endpoint(receiver.url(), ["wo.created"])
        first = envelope(Events.WO_CREATED, stack.org)

        def status(webhook_id: str) -> int:
            if webhook_id != str(first.event_id):
                return 200
            if not refused_until:  # from its first request on
                refused_until.append(time.monotonic() + 2.0)
            return 500 if time.monotonic() < refused_until[0] else 200

        receiver.status_for = status
        await publish(js, settings.subject(""), first)
        later = [await stack.publish(Events.WO_CREATED) for _ in range(5)]
        wanted = {str(e.event_id) for e in later}
        await until(
            lambda: wanted <= {r.headers["webhook-id"] for r in receiver.ok()}, "the later events"
        )
        assert str(first.event_id) not in {r.headers["webhook-id"] for r in receiver.ok()}
        await until(
            lambda: str(first.event_id) in {r.headers["webhook-id"] for r in receiver.ok()},
            "the refused event, retried",
        )
        await stack.settled(endpoint.id)
        log = await stack.log(endpoint.id)
        tries = sorted(
            (a.attempt, a.delivered, a.status_code) for a in log if a.event_id == first.event_id
        )
        assert tries[0] == (1, False, 500)
        assert tries[-1][1:] == (True, 200)
        assert [t[0] for t in tries] == list(range(1, len(tries) + 1))
        assert all(a.delivered and a.attempt == 1 for a in log if a.event_id != first.event_id)
        view = await stack.get(endpoint.id)
        assert view.stats.delivered == 6
        assert view.stats.failing_since is None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(settings: IntegrationsSettings, port: int) -> dict[str, str]:
    """``settings`` as the environment of a ``rivet-integrations`` process."""
    env = dict(os.environ)
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        text = json.dumps(value) if isinstance(value, list | dict) else str(value)
        env[name.upper()] = text.lower() if isinstance(value, bool) else text
    env["HTTP_PORT"] = str(port)
    return env


async def test_a_killed_replica_is_resumed_from_its_cursor(
    test_env: TestEnv,
    isolated_database: str,
    namespace: str,
    js: Any,
    receiver: Receiver,
    tmp_path: Any,
) -> None:
    """A ``rivet-integrations`` process sends for the endpoint and is killed (SIGKILL) half-way
    through 150 events; another replica takes the endpoint over when the lease runs out and
    goes on from the stored cursor: every event arrives, and only those the killed process
    sent since its last flush (or had in flight) arrive twice."""
    settings = _settings(
        test_env, isolated_database, namespace, webhook_lease=6.0, webhook_timeout=2.0
    )
    receiver.delay = 0.03
    port = _free_port()
    log_file = (tmp_path / "killed.log").open("wb")
    stack = Stack(settings, js)
    process = None
    try:
        await stack.__aenter__()
        endpoint = await stack.endpoint(receiver.url(), ["wo.created"])
        await until(lambda: bool(stack.replicas[0].state.fanout.pumps), "the endpoint held")
        process = subprocess.Popen(  # noqa: ASYNC220 - started once, killed below
            [sys.executable, "-c", "from rivet_integrations.main import cli; cli()", "serve"],
            env=_environment(settings, port),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as r:
                    return bool(r.status == 200)
            except OSError:
                return False

        await until(lambda: asyncio.to_thread(ready), "the process ready", timeout=60)
        await stack.replicas[0].stop()  # lets the endpoint go: the process takes it
        events = [await stack.publish(Events.WO_CREATED) for _ in range(150)]
        wanted = {str(e.event_id) for e in events}
        await until(lambda: len(receiver.ok()) >= 50, "the process sending", timeout=60)
        process.kill()
        process.wait(10)
        sent_by_killed = len(receiver.requests)
        stack.replicas = [build(settings)]
        await stack.replicas[0].start()
        await until(
            lambda: wanted <= {r.headers["webhook-id"] for r in receiver.ok()},
            "every event after the kill",
            timeout=90,
        )
        await stack.settled(endpoint.id)
        received = collections.Counter(r.headers["webhook-id"] for r in receiver.ok())
        assert set(received) == wanted
        twice = sum(n - 1 for n in received.values())
        # bounded by the process's sends since its last flush (0.15 s at about 130 sends/s)
        # and those in flight; a cursor not stored would repeat everything it sent
        window = settings.webhook_concurrency + 40
        assert twice <= window < sent_by_killed
        view = await stack.get(endpoint.id)
        assert view.stats.pending == 0
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)
        log_file.close()
        await stack.__aexit__()


async def test_connections_are_kept_and_a_slow_endpoint_holds_back_only_its_own(
    test_env: TestEnv, isolated_database: str, namespace: str, js: Any, receiver: Receiver
) -> None:
    """A fast endpoint gets its deliveries on a few kept connections (keep-alive), while
    another endpoint's slow answers are still in flight: a slow receiver delays only its own
    deliveries."""
    settings = _settings(test_env, isolated_database, namespace, webhook_concurrency=2)
    async with serving() as slow, Stack(settings, js) as stack:
        slow.delay = 4.0
        await stack.endpoint(slow.url(), ["wo.created"])
        await stack.endpoint(receiver.url(), ["wo.created"])
        events = [await stack.publish(Events.WO_CREATED) for _ in range(8)]
        started = time.monotonic()
        await until(lambda: len(receiver.ok()) >= len(events), "the fast endpoint", timeout=60)
        assert time.monotonic() - started < slow.delay  # not behind the slow one's answers
        assert len(slow.requests) < len(events)
        assert receiver.max_total <= 2
        assert len(receiver.peers) <= 2 * settings.webhook_concurrency  # not one per request
        await until(lambda: len(slow.ok()) >= len(events), "the slow endpoint", timeout=120)
        assert slow.max_total <= 2


async def test_an_answer_read_to_its_end_keeps_its_connection_a_long_one_closes_it(
    test_env: TestEnv, isolated_database: str, namespace: str, js: Any, receiver: Receiver
) -> None:
    """The answer's body is read so that its connection carries the next request; one longer
    than 64 kB is not read to its end: its connection is closed. Both are delivered (the
    status decides)."""
    settings = _settings(test_env, isolated_database, namespace, webhook_concurrency=1)
    async with serving() as long, Stack(settings, js) as stack:
        receiver.answer = b"x" * 60_000
        long.answer = b"x" * 200_000
        short_one = await stack.endpoint(receiver.url(), ["wo.created"])
        long_one = await stack.endpoint(long.url(), ["wo.created"])
        events = [await stack.publish(Events.WO_CREATED) for _ in range(4)]

        def both() -> bool:
            return len(receiver.ok()) >= len(events) and len(long.ok()) >= len(events)

        await until(both, "every delivery to both endpoints")
        assert len(receiver.peers) == 1  # one at a time, on one kept connection
        assert len(long.peers) == len(events)  # a new connection for each
        for endpoint in (short_one, long_one):
            await until(
                lambda e=endpoint: _delivered(stack, e.id, len(events)), "the deliveries logged"
            )


async def _delivered(stack: "Stack", webhook_id: uuid.UUID, count: int) -> bool:
    log = await stack.log(webhook_id)
    return len(log) == count and all(a.delivered and a.status_code == 200 for a in log)


async def test_an_endpoint_that_keeps_failing_is_disabled(
    test_env: TestEnv, isolated_database: str, namespace: str, js: Any, receiver: Receiver
) -> None:
    settings = _settings(test_env, isolated_database, namespace, webhook_schedule=[0.1, 0.1])
    receiver.status = lambda: 503
    async with Stack(settings, js) as stack:
        endpoint = await stack.endpoint(receiver.url(), ["wo.created"])
        await stack.publish(Events.WO_CREATED)

        async def disabled() -> bool:
            return not (await stack.get(endpoint.id)).enabled

        await until(disabled, "the endpoint disabled")
        view = await stack.get(endpoint.id)
        assert view.disabled_reason
        assert "HTTP 503" in view.disabled_reason
        assert view.stats.failed == 1
        assert view.stats.failing_since is not None
        log = await stack.log(endpoint.id)
        assert [a.attempt for a in log] == [3, 2, 1]
        # announced: webhook.endpoint_disabled, copied to the organization's stream too
        for stream in (INTEGRATIONS, org_stream(stack.org)):

            async def announced(name: str = settings.stream_name(stream.name)) -> bool:
                stored = await read_stream(js, name) or []
                bodies = [json.loads(m.body) for m in stored]
                return any(
                    b["type"] == Events.WEBHOOK_ENDPOINT_DISABLED
                    and b["org_id"] == str(stack.org)
                    and b["data"]["webhook_id"] == str(endpoint.id)
                    and "HTTP 503" in b["data"]["reason"]
                    for b in bodies
                )

            await until(announced, f"webhook.endpoint_disabled in {stream.name}")
        assert all(a.delivery_status is contract.DeliveryStatus.FAILED for a in log)
        # disabled: a new event is not queued for it
        await stack.publish(Events.WO_CREATED)
        await asyncio.sleep(1.0)
        assert len(receiver.requests) == 3
        # on again, by its admin; a fresh start
        receiver.status = lambda: 200
        changes = contract.WebhookChanges(enabled=True)
        update = contract.UpdateWebhook(webhook_id=endpoint.id, changes=changes)
        view = await stack.call(contract.UPDATE_WEBHOOK, update)
        assert view.enabled
        assert view.disabled_reason is None
        assert view.stats.failing_since is None
        fresh = await stack.publish(Events.WO_CREATED)
        await until(lambda: len(receiver.ok()) == 1, "a delivery after re-enabling")
        assert receiver.ok()[0].headers["webhook-id"] == str(fresh.event_id)


async def test_internal_addresses_are_refused(
    test_env: TestEnv,
    isolated_database: str,
    namespace: str,
    js: Any,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names: dict[str, str] = {"public.test": "93.184.216.34", "inside.test": "127.0.0.1"}
    original = addresses.resolve

    async def resolve(host: str, port: int) -> list[addresses.IpAddress]:
        if host in names:
            return [addresses.ipaddress.ip_address(names[host])]
        return await original(host, port)

    monkeypatch.setattr(addresses, "resolve", resolve)
    settings = _settings(test_env, isolated_database, namespace, webhook_allowed_hosts=[])
    async with Stack(settings, js) as stack:
        for url in (
            receiver.url(),  # loopback
            f"http://localhost:{receiver.port}/hook",  # a name that resolves to loopback
            "http://inside.test/hook",  # ditto, through the (patched) resolver
            "http://10.1.2.3/hook",
            "https://192.168.0.10/hook",
            "http://169.254.169.254/latest/meta-data/",  # cloud metadata
            "http://[::1]/hook",
            "http://[fd00::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
            "http://0.0.0.0/hook",
            "http://224.0.0.1/hook",
            "ftp://public.test/hook",
            "http://user:pw@public.test/hook",
        ):
            with pytest.raises(ServiceError) as refused:
                await stack.endpoint(url, ["*"])
            assert refused.value.code is ErrorCode.VALIDATION, url
            details = refused.value.info.details
            assert isinstance(details, list), url
            assert details[0]["loc"] == ["url"], url

        # a public name is taken; then its DNS answer changes to loopback (rebinding): the send
        # resolves again, refuses, and never connects
        endpoint = await stack.endpoint(f"http://public.test:{receiver.port}/hook", ["*"])
        changes = contract.WebhookChanges(url=f"http://inside.test:{receiver.port}/hook")
        with pytest.raises(ServiceError):  # the update is checked as the create is
            await stack.call(
                contract.UPDATE_WEBHOOK,
                contract.UpdateWebhook(webhook_id=endpoint.id, changes=changes),
            )
        names["public.test"] = "127.0.0.1"
        await stack.publish(Events.WO_CREATED)

        async def attempted() -> bool:
            return bool(await stack.log(endpoint.id))

        await until(attempted, "an attempt")
        first = (await stack.log(endpoint.id))[-1]
        assert not first.delivered
        assert first.status_code is None
        assert first.error
        assert "internal address" in first.error
        assert receiver.requests == []

    # allowed: 127.0.0.1 only; a redirect (to loopback) is not followed
    monkeypatch.setattr(addresses, "resolve", original)
    settings = _settings(test_env, isolated_database, namespace, webhook_schedule=[30.0])
    async with Stack(settings, js) as stack:
        endpoint = await stack.endpoint(receiver.url("/redirect"), ["wo.created"])
        await stack.publish(Events.WO_CREATED)

        async def logged() -> bool:
            return bool(await stack.log(endpoint.id))

        await until(logged, "the redirected attempt")
        attempt = (await stack.log(endpoint.id))[0]
        assert attempt.status_code == 302
        assert not attempt.delivered
        assert attempt.error
        assert "redirect" in attempt.error
        await asyncio.sleep(0.5)
        assert [r.path for r in receiver.requests] == ["/redirect"]


def test_which_addresses_are_internal() -> None:
    internal = [
        "127.0.0.1", "127.8.9.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
        "100.64.0.1", "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255", "192.0.2.1",
        "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:10.0.0.1",
    ]  # fmt: skip
    for address in internal:
        assert addresses.internal(addresses.ipaddress.ip_address(address)), address
    for address in ("93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "1.1.1.1"):
        assert addresses.internal(addresses.ipaddress.ip_address(address)) is None, address
    policy = addresses.Policy(frozenset({"127.0.0.1", "hooks.local"}))
    assert policy.why_not("127.0.0.1", addresses.ipaddress.ip_address("127.0.0.1")) is None
    assert policy.why_not("hooks.local", addresses.ipaddress.ip_address("10.0.0.7")) is None
    assert policy.why_not("other.local", addresses.ipaddress.ip_address("10.0.0.7"))
    everything = addresses.Policy(allow_private=True)
    assert everything.why_not("x", addresses.ipaddress.ip_address("10.0.0.7")) is None
