"""The outbox: an event committed while NATS is down is published once NATS is back - once."""

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import nats
import pytest
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from sqlalchemy.exc import DBAPIError

from rivet_auth.main import build as build_auth
from rivet_contracts import Events, Headers, Rpc
from rivet_devstack.servers import EmbeddedNats
from rivet_devstack.testing.helpers import PASSWORD
from rivet_devstack.testing.services import ServiceSet
from rivet_runtime import ServiceRuntime
from rivet_runtime.streams import ensure_streams


async def _stream_messages(url: str, stream: str) -> list[dict[str, object]]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        count = info.state.messages
        if not count:
            return []
        sub = await js.pull_subscribe(
            "", stream=stream, config=ConsumerConfig(ack_policy="none", durable_name=None)
        )
        msgs = await sub.fetch(count, timeout=5)
        return [json.loads(m.data) for m in msgs]
    finally:
        await nc.close()


async def _start(auth: ServiceRuntime[Any]) -> None:
    """Start auth after declaring the streams it consumes: their publishers do not run here."""
    nc = await nats.connect(auth.settings.nats_url)
    try:
        await ensure_streams(nc.jetstream(), auth.consumed_streams(), auth.settings)
    finally:
        await nc.close()
    await auth.start()


async def _register(auth: Any, name: str) -> tuple[bytes, dict[str, str]]:
    """Register a user through the auth service's request handler (in-process)."""
    body = json.dumps(
        {"email": f"{uuid.uuid4().hex}@example.com", "password": PASSWORD, "full_name": name}
    ).encode()
    result: tuple[bytes, dict[str, str]] = await auth.rpc.handle(Rpc.AUTH_REGISTER, body, {})
    return result


@asynccontextmanager
async def _auth_service(
    services: ServiceSet, database: str, namespace: str, **settings: Any
) -> AsyncIterator[tuple[ServiceRuntime[Any], JetStreamContext, str]]:
    """The auth service started on the session's NATS, a JetStream client, its USERS stream."""
    auth = build_auth(
        services.auth_settings(database_url=database, nats_namespace=namespace, **settings)
    )
    await _start(auth)
    nc = await nats.connect(services.env.nats_url)
    try:
        yield auth, nc.jetstream(), auth.settings.stream_name("USERS")
    finally:
        await nc.close()
        await auth.stop()


async def _count(js: JetStreamContext, stream: str) -> int:
    return int((await js.stream_info(stream)).state.messages)


async def _wait(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.1)
    return False


async def test_user_registered_reaches_jetstream_once_after_nats_comes_back(
    services: ServiceSet, private_nats: EmbeddedNats, isolated_database: str, namespace: str
) -> None:
    auth = build_auth(
        services.auth_settings(
            nats_url=private_nats.url, nats_namespace=namespace, database_url=isolated_database
        )
    )
    await _start(auth)
    stream = auth.settings.stream_name("USERS")
    try:
        private_nats.kill()
        await asyncio.sleep(0.2)
        assert not auth.health.nats_connected
        # The request reaches the service while NATS is down (its handler runs in-process here);
        # the registration commits and its event waits in the outbox.
        payload, headers = await _register(auth, "X")
        assert headers == {Headers.OUTCOME: "created"}, payload
        user_id = json.loads(payload)["id"]

        db = await asyncpg.connect(isolated_database)
        try:
            await asyncio.sleep(1.0)
            assert await db.fetchval("SELECT count(*) FROM auth.outbox") == 1

            restarted = EmbeddedNats(private_nats.store, port=private_nats.port).start()
            private_nats.proc = restarted.proc  # the fixture stops it at the end

            async def outbox_empty() -> bool:
                return await db.fetchval("SELECT count(*) FROM auth.outbox") == 0

            assert await _wait(outbox_empty, 20), "the relay did not publish after reconnect"
        finally:
            await db.close()
        await asyncio.sleep(1.5)  # further relay passes must not publish it again
        events = await _stream_messages(private_nats.url, stream)
        registered = [e for e in events if e["type"] == Events.USER_REGISTERED]
        assert len(registered) == 1
        assert registered[0]["data"]["user_id"] == user_id  # type: ignore[index]
    finally:
        await auth.stop()


async def test_a_republished_event_is_dropped_by_jetstream(
    services: ServiceSet, private_nats: EmbeddedNats, isolated_database: str, namespace: str
) -> None:
    """A relay that dies after publishing but before deleting the row publishes it again on the
    next pass; the event id as Nats-Msg-Id makes JetStream keep one copy."""
    auth = build_auth(
        services.auth_settings(
            nats_url=private_nats.url, nats_namespace=namespace, database_url=isolated_database
        )
    )
    await _start(auth)
    stream = auth.settings.stream_name("USERS")
    try:
        await _register(auth, "Y")
        nc = await nats.connect(private_nats.url)
        js = nc.jetstream()

        async def published() -> bool:
            return (await js.stream_info(stream)).state.messages == 1

        db = await asyncpg.connect(isolated_database)

        async def drained() -> bool:
            return await db.fetchval("SELECT count(*) FROM auth.outbox") == 0

        # Published, and the relay's transaction that deletes the row committed.
        assert await _wait(published, 10)
        assert await _wait(drained, 10)
        event = (await _stream_messages(private_nats.url, stream))[0]
        # Put the same event back in the outbox, as if the delete had been lost.
        await db.execute(
            "INSERT INTO auth.outbox (event_id, subject, payload) VALUES ($1, $2, $3::jsonb)",
            uuid.UUID(str(event["event_id"])),
            event["type"],
            json.dumps(event),
        )
        await db.execute("NOTIFY auth_outbox")
        assert await _wait(drained, 10)
        await db.close()
        assert (await js.stream_info(stream)).state.messages == 1
        await nc.close()
    finally:
        await auth.stop()


async def test_relay_wakes_on_commit_not_on_its_poll(
    services: ServiceSet, isolated_database: str, namespace: str
) -> None:
    """With the safety poll at 60 s, an event still leaves within a fraction of a second."""
    settings = {"outbox_safety_poll": 60.0}
    async with _auth_service(services, isolated_database, namespace, **settings) as (
        auth,
        js,
        stream,
    ):
        await asyncio.sleep(0.3)  # the relay's first pass is done; it now sleeps on LISTEN
        started = time.monotonic()
        await _register(auth, "Z")

        async def published() -> bool:
            return await _count(js, stream) == 1

        assert await _wait(published, 5)
        assert time.monotonic() - started < 1.0


async def test_relay_survives_a_dead_connection_while_it_subscribes(
    services: ServiceSet, isolated_database: str, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a PostgreSQL restart the pool can hand out a connection that is dead before asyncpg
    has noticed; LISTEN on it fails. That once ended the relay task silently (found by
    `make chaos`: the service answered requests while its events piled up in the outbox)."""
    failures = 2
    listen = asyncpg.Connection.add_listener

    async def flaky_listen(self: asyncpg.Connection, channel: str, callback: Any) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise asyncpg.exceptions.ConnectionDoesNotExistError(
                "connection was closed in the middle of operation"
            )
        await listen(self, channel, callback)

    monkeypatch.setattr(asyncpg.Connection, "add_listener", flaky_listen)
    settings = {"outbox_safety_poll": 0.5}
    async with _auth_service(services, isolated_database, namespace, **settings) as (
        auth,
        js,
        stream,
    ):
        for name in ("A", "B"):
            await _register(auth, name)

        async def published() -> bool:
            return await _count(js, stream) == 2

        assert await _wait(published, 10), "the relay stopped after a failed LISTEN"
        assert failures == 0
        relay = auth.relay
        assert relay is not None
        assert relay._task is not None
        assert not relay._task.done()

        listener = auth.listener
        assert listener is not None

        async def listening() -> bool:
            return listener._conn is not None and not listener._conn.is_closed()

        assert await _wait(listening, 5)  # listening again once a connection worked


async def test_an_event_that_cannot_be_published_does_not_hold_up_the_others(
    services: ServiceSet, isolated_database: str, namespace: str
) -> None:
    from rivet_runtime.outbox import OutboxRelay

    async with _auth_service(services, isolated_database, namespace) as (auth, js, stream):
        assert auth.relay is not None
        await auth.relay.stop()  # this test drives its own relay, pass by pass
        for name in ("A", "B", "C"):
            await _register(auth, name)
        db = await asyncpg.connect(isolated_database)
        try:
            rows = await db.fetch("SELECT seq, event_id, created_at FROM auth.outbox ORDER BY seq")
            assert len(rows) == 3
            stuck = rows[1]

            class Refusing:
                async def publish_async(self, subject: str, payload: bytes, **kwargs: Any) -> Any:
                    if kwargs["headers"]["Nats-Msg-Id"] == str(stuck["event_id"]):
                        refused = asyncio.get_running_loop().create_future()
                        refused.set_exception(nats.errors.TimeoutError())
                        return refused
                    return await js.publish_async(subject, payload, **kwargs)

            assert auth.db is not None
            relay = OutboxRelay(auth.settings, auth.db, Refusing())  # type: ignore[arg-type]
            with pytest.raises(RuntimeError, match="published 2 of 3"):
                await relay.relay_once()
            left = await db.fetch("SELECT seq, event_id, created_at FROM auth.outbox")
            assert [tuple(r) for r in left] == [tuple(stuck)]  # put back as it was, seq included
            assert await _count(js, stream) == 2

            assert await OutboxRelay(auth.settings, auth.db, js).relay_once() == 1
            assert await db.fetchval("SELECT count(*) FROM auth.outbox") == 0
            assert await _count(js, stream) == 3
        finally:
            await db.close()


async def test_a_relay_killed_between_publish_and_delete_publishes_again_and_jetstream_keeps_one(
    services: ServiceSet, isolated_database: str, namespace: str
) -> None:
    """The events went out and were acknowledged, then the relay's connection died before its
    transaction committed (as when the process is killed): the rows are still there, the next
    pass publishes them again with the same Nats-Msg-Id and JetStream drops the copies."""
    from rivet_runtime.outbox import OutboxRelay

    async with _auth_service(services, isolated_database, namespace) as (auth, js, stream):
        assert auth.relay is not None
        assert auth.db is not None
        await auth.relay.stop()
        for name in ("A", "B", "C"):
            await _register(auth, name)
        db = await asyncpg.connect(isolated_database)
        try:
            ids = {str(r["event_id"]) for r in await db.fetch("SELECT event_id FROM auth.outbox")}

            class KilledAfterPublishing(OutboxRelay):
                async def _acknowledged(self, rows: Any, acks: Any) -> set[int]:
                    done = await super()._acknowledged(rows, acks)
                    assert len(done) == 3
                    killed = await db.fetchval(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND state = 'idle in transaction' AND query LIKE 'DELETE FROM outbox%'"
                    )
                    assert killed == 1
                    return done

            with pytest.raises(DBAPIError):  # the relay's connection is gone
                await KilledAfterPublishing(auth.settings, auth.db, js).relay_once()
            assert await _count(js, stream) == 3
            assert await db.fetchval("SELECT count(*) FROM auth.outbox") == 3

            duplicates: list[bool] = []

            class Recording:
                async def publish_async(self, subject: str, payload: bytes, **kwargs: Any) -> Any:
                    ack = await js.publish_async(subject, payload, **kwargs)
                    ack.add_done_callback(lambda f: duplicates.append(bool(f.result().duplicate)))
                    return ack

            relay = OutboxRelay(auth.settings, auth.db, Recording())  # type: ignore[arg-type]
            assert await relay.relay_once() == 3
            assert duplicates == [True, True, True]
            assert await db.fetchval("SELECT count(*) FROM auth.outbox") == 0
            events = await _stream_messages(services.env.nats_url, stream)
            assert sorted(str(e["event_id"]) for e in events) == sorted(ids)
        finally:
            await db.close()


async def test_nats_away_mid_batch_the_relay_retries_and_each_event_is_stored_once(
    services: ServiceSet, private_nats: EmbeddedNats, isolated_database: str, namespace: str
) -> None:
    """NATS is killed while a pass is sending its batch and stays away longer than a publish
    waits: the unacknowledged rows are put back and the relay's loop publishes them once NATS is
    back; the copies sent before (or flushed at the reconnection) are dropped by JetStream."""
    from rivet_runtime.outbox import PUBLISH_TIMEOUT, OutboxRelay

    auth = build_auth(
        services.auth_settings(
            nats_url=private_nats.url,
            nats_namespace=namespace,
            database_url=isolated_database,
            outbox_safety_poll=0.2,
        )
    )
    await _start(auth)
    stream = auth.settings.stream_name("USERS")
    nc = await nats.connect(private_nats.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    relay: OutboxRelay | None = None
    try:
        assert auth.relay is not None
        assert auth.db is not None
        await auth.relay.stop()
        for n in range(6):
            await _register(auth, f"U{n}")
        db = await asyncpg.connect(isolated_database)
        ids = {str(r["event_id"]) for r in await db.fetch("SELECT event_id FROM auth.outbox")}
        js = nc.jetstream()
        sent = [0]
        killed = asyncio.Event()

        class DyingMidBatch:
            async def publish_async(self, subject: str, payload: bytes, **kwargs: Any) -> Any:
                sent[0] += 1
                if sent[0] == 3 and not killed.is_set():
                    await js.publish(subject, payload, headers=kwargs["headers"])  # stored
                    private_nats.kill()
                    killed.set()
                return await js.publish_async(subject, payload, **kwargs)

        relay = OutboxRelay(auth.settings, auth.db, DyingMidBatch())  # type: ignore[arg-type]
        await relay.start()
        await asyncio.wait_for(killed.wait(), 10)
        await asyncio.sleep(PUBLISH_TIMEOUT + 1.0)  # the pass has given up and put rows back
        assert 0 < await db.fetchval("SELECT count(*) FROM auth.outbox") <= 4
        restarted = EmbeddedNats(private_nats.store, port=private_nats.port).start()
        private_nats.proc = restarted.proc  # the fixture stops it at the end

        async def outbox_empty() -> bool:
            return await db.fetchval("SELECT count(*) FROM auth.outbox") == 0

        assert await _wait(outbox_empty, 30), "the relay did not publish after NATS came back"
        await db.close()
        assert sent[0] > 6  # published again
        events = await _stream_messages(private_nats.url, stream)
        assert sorted(str(e["event_id"]) for e in events) == sorted(ids)  # each once
    finally:
        if relay is not None:
            await relay.stop()
        await nc.close()
        await auth.stop()


async def test_a_backlog_goes_out_in_overlapping_passes_in_order(
    services: ServiceSet, isolated_database: str, namespace: str
) -> None:
    """With a backlog, passes grow and the next one is sent while the acknowledgements of the
    one before are awaited; every event is stored once, in the order of the outbox."""
    from rivet_runtime.outbox import PIPELINE_DEPTH, OutboxRelay

    settings = {"outbox_batch_size": 50, "outbox_safety_poll": 0.2}
    async with _auth_service(services, isolated_database, namespace, **settings) as (
        auth,
        js,
        stream,
    ):
        assert auth.relay is not None
        assert auth.db is not None
        await auth.relay.stop()
        db = await asyncpg.connect(isolated_database)
        events = [
            {"event_id": str(uuid.uuid4()), "type": "user.registered", "n": n} for n in range(700)
        ]
        await db.execute(
            "INSERT INTO auth.outbox (event_id, subject, payload) "
            "SELECT e::uuid, 'user.registered', p::jsonb FROM unnest($1::text[], $2::text[]) "
            "WITH ORDINALITY AS u(e, p, n) ORDER BY n",
            [e["event_id"] for e in events],
            [json.dumps(e) for e in events],
        )
        out = [0]
        most = [0]
        sizes: list[int] = []
        overlapped = asyncio.Event()

        class Watched(OutboxRelay):
            async def _acknowledged(self, rows: Any, acks: Any) -> set[int]:
                out[0] += 1
                most[0] = max(most[0], out[0])
                sizes.append(len(rows))
                if out[0] > 1:
                    overlapped.set()
                try:
                    # acknowledgements slower than the next claim, until two passes overlapped
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(overlapped.wait(), 3)
                    return await super()._acknowledged(rows, acks)
                finally:
                    out[0] -= 1

        relay = Watched(auth.settings, auth.db, js)
        await relay.start()
        try:

            async def outbox_empty() -> bool:
                return await db.fetchval("SELECT count(*) FROM auth.outbox") == 0

            assert await _wait(outbox_empty, 30)
        finally:
            await relay.stop()
            await db.close()
        stored = await _stream_messages(services.env.nats_url, stream)
        assert [e["n"] for e in stored] == list(range(700))
        assert most[0] == PIPELINE_DEPTH
        assert sizes[:3] == [50, 100, 200]
        assert max(sizes) == 200
