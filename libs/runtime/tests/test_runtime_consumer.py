"""Consumers apply each event once, retry failures with a delay, and dead-letter poison;
batched consumers (group commit) keep the same promises."""

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import nats
import pytest
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from rivet_contracts import EventEnvelope, Events
from rivet_contracts.auth import UserRegistered
from rivet_contracts.identity import Role
from rivet_contracts.streams import USERS
from rivet_devstack.testing.env import TestEnv
from rivet_runtime import EventContext, EventRouter, Refused, ServiceRuntime, ServiceSettings
from rivet_runtime.db import async_url
from rivet_runtime.metrics import DEAD_LETTERS
from rivet_runtime.outbox import write_event
from rivet_runtime.tables import add_job_table, add_messaging_tables

SCHEMA = "consumer_test"


@dataclass
class Recorder:
    applied: Counter[str] = field(default_factory=Counter)
    attempts: Counter[str] = field(default_factory=Counter)
    fail_times: dict[str, int] = field(default_factory=dict)
    batches: list[int] = field(default_factory=list)
    delay: float = 0.0
    subjects: list[str | None] = field(default_factory=list)


async def _create_schema(url: str) -> None:
    metadata = MetaData(schema=SCHEMA)
    add_messaging_tables(metadata)
    add_job_table(metadata)
    engine = create_async_engine(async_url(url))
    async with engine.begin() as conn:
        await conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        await conn.run_sync(metadata.create_all)
    await engine.dispose()


def _event(name: str) -> EventEnvelope[Any]:
    return EventEnvelope(
        type=Events.USER_REGISTERED,
        org_id=uuid.uuid4(),
        data=UserRegistered(
            user_id=uuid.uuid4(),
            org_id=uuid.uuid4(),
            organization_name="Org",
            email=f"{name}@example.com",
            full_name=name,
            role=Role.ADMIN,
        ),
    )


async def _start(
    env: TestEnv, url: str, namespace: str, *, batched: bool = False, fetch: int = 1
) -> tuple[ServiceRuntime[Recorder], Recorder]:
    """A runtime with one consumer of ``user.registered``: one event per transaction, or
    batched (group commit); with ``fetch`` > 1 the runtime's own pull loop serves it."""
    await _create_schema(url)
    recorder = Recorder()
    router: EventRouter[Recorder] = EventRouter()

    async def on_batch(events: Sequence[EventEnvelope[Any]], ctx: EventContext[Recorder]) -> None:
        seen = ctx.state
        seen.batches.append(len(events))
        if ctx.event is None:  # a batch: the subject of each event by its id
            seen.subjects += [ctx.subjects.get(event.event_id) for event in events]
        names = [event.data.full_name for event in events]
        for name in names:
            seen.attempts[name] += 1
        for name in names:
            if name.startswith("refused"):
                raise Refused("not_welcome", f"{name} never applies")
            if seen.attempts[name] <= seen.fail_times.get(name, 0):
                raise RuntimeError(f"{name} failed on purpose")
        await asyncio.sleep(seen.delay)
        for name in names:
            seen.applied[name] += 1

    async def on_registered(event: EventEnvelope[Any], ctx: EventContext[Recorder]) -> None:
        await on_batch([event], ctx)

    if batched:
        router.on_many(Events.USER_REGISTERED, consumer="test-users", fetch=fetch)(on_batch)
    else:
        router.on(Events.USER_REGISTERED, consumer="test-users")(on_registered)

    settings = ServiceSettings(
        **env.common()
        | {
            "service_name": "consumer-test",
            "database_url": url,
            "nats_namespace": namespace,
            "consumer_max_deliveries": 3,
        }
    )
    runtime = ServiceRuntime(settings, recorder, schema=SCHEMA, publishes=(USERS,))
    runtime.include_events(router)
    await runtime.start()
    return runtime, recorder


async def _publish(runtime: ServiceRuntime[Any], envelope: EventEnvelope[Any]) -> None:
    assert runtime.db is not None
    async with runtime.db.transaction() as conn:
        await write_event(conn, SCHEMA, envelope)


async def _until(check, timeout: float = 15) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def _until_dead_letters(db: asyncpg.Connection, count: int, timeout: float = 15) -> None:
    """Wait until the dead-letter table holds ``count`` rows."""
    deadline = time.monotonic() + timeout
    while await db.fetchval(f"SELECT count(*) FROM {SCHEMA}.dead_letters") < count:
        assert time.monotonic() < deadline, f"fewer than {count} dead letters"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("batched", "fetch"),
    [(False, 1), (True, 1), (True, 16)],
    ids=["one-by-one", "group-commit", "pulled"],
)
async def test_duplicates_retries_and_dead_letters(
    test_env: TestEnv, isolated_database: str, namespace: str, batched: bool, fetch: int
) -> None:
    runtime, seen = await _start(
        test_env, isolated_database, namespace, batched=batched, fetch=fetch
    )
    try:
        # 1. A transient failure is retried and the event applied once.
        seen.fail_times["flaky"] = 2
        await _publish(runtime, _event("flaky"))
        await _until(lambda: seen.applied["flaky"] == 1)
        assert seen.attempts["flaky"] == 3

        # 2. The same event delivered twice (published under two message ids, so JetStream's
        #    own de-duplication cannot help) changes state once: the inbox holds.
        twice = _event("twice")
        await _publish(runtime, twice)
        nc = await nats.connect(test_env.nats_url)
        await nc.jetstream().publish(
            runtime.settings.subject(Events.USER_REGISTERED),
            twice.model_dump_json().encode(),
            headers={"Nats-Msg-Id": "another-id"},
        )
        await _until(lambda: seen.attempts["twice"] >= 1)
        await asyncio.sleep(0.5)
        assert seen.applied["twice"] == 1
        assert seen.attempts["twice"] == 1  # the duplicate never reached the handler

        # 3. A poison message ends in the dead-letter table after 3 deliveries and does not
        #    hold up the stream: an event behind it is applied. (Batched, the two may share
        #    a batch, which then fails and is applied event by event: more attempts than
        #    deliveries, so the handler's attempts do not tell when the third delivery came;
        #    the dead letter does.)
        dead_before = DEAD_LETTERS.labels("consumer-test", "test-users")._value.get()
        seen.fail_times["poison"] = 1000
        await _publish(runtime, _event("poison"))
        await _publish(runtime, _event("after"))
        await _until(lambda: seen.applied["after"] == 1)
        db = await asyncpg.connect(isolated_database)
        try:
            await _until_dead_letters(db, 1)

            # 4. A message that is not an event at all is dead-lettered at once.
            await nc.jetstream().publish(
                runtime.settings.subject(Events.USER_REGISTERED), b"\xff not json"
            )
            await _until_dead_letters(db, 2)
            rows = await db.fetch(
                f"SELECT deliveries, error, payload FROM {SCHEMA}.dead_letters ORDER BY id"
            )
        finally:
            await db.close()
        assert rows[0]["deliveries"] == 3
        assert "poison failed on purpose" in rows[0]["error"]
        assert rows[1]["error"].startswith("unparseable")
        assert DEAD_LETTERS.labels("consumer-test", "test-users")._value.get() == dead_before + 2
        attempts = seen.attempts["poison"]
        await asyncio.sleep(0.5)
        assert seen.attempts["poison"] == attempts  # acknowledged: not delivered again
        assert seen.applied["poison"] == 0
        assert seen.applied["after"] == 1

        # The dead letters are announced on the DEADLETTERS stream.
        # (through the outbox: the relay publishes them shortly after the commit)
        js = nc.jetstream()
        stream = runtime.settings.stream_name("DEADLETTERS")
        deadline = time.monotonic() + 15
        while (await js.stream_info(stream)).state.messages < 2:
            assert time.monotonic() < deadline, "dead letters not announced"
            await asyncio.sleep(0.1)
        assert (await js.stream_info(stream)).state.messages == 2
        await nc.close()
    finally:
        await runtime.stop()


async def test_a_refused_message_is_dead_lettered_at_once_and_handlers_see_the_subject(
    test_env: TestEnv, isolated_database: str, namespace: str
) -> None:
    await _create_schema(isolated_database)
    subjects: list[str | None] = []
    attempts: Counter[str] = Counter()
    router: EventRouter[Recorder] = EventRouter()

    async def on_registered(event: EventEnvelope[Any], ctx: EventContext[Recorder]) -> None:
        subjects.append(ctx.subject)
        attempts[event.data.full_name] += 1
        if event.data.full_name == "refused":
            raise Refused("not_welcome", "this one never applies")

    router.on(Events.USER_REGISTERED, consumer="test-refusals")(on_registered)
    settings = ServiceSettings(
        **test_env.common()
        | {
            "service_name": "consumer-test",
            "database_url": isolated_database,
            "nats_namespace": namespace,
            "consumer_max_deliveries": 3,
        }
    )
    runtime = ServiceRuntime(settings, Recorder(), schema=SCHEMA, publishes=(USERS,))
    runtime.include_events(router)
    await runtime.start()
    try:
        await _publish(runtime, _event("refused"))
        await _publish(runtime, _event("welcome"))
        await _until(lambda: attempts["welcome"] == 1)
        db = await asyncpg.connect(isolated_database)
        try:
            deadline = time.monotonic() + 15
            while await db.fetchval(f"SELECT count(*) FROM {SCHEMA}.dead_letters") < 1:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
            row = await db.fetchrow(f"SELECT deliveries, error FROM {SCHEMA}.dead_letters")
        finally:
            await db.close()
        assert row is not None
        assert row["deliveries"] == 1
        assert row["error"] == "refused: not_welcome: this one never applies"
        await asyncio.sleep(0.3)
        assert attempts["refused"] == 1  # never retried
        assert subjects == [Events.USER_REGISTERED, Events.USER_REGISTERED]  # no namespace
    finally:
        await runtime.stop()


@pytest.mark.parametrize("fetch", [1, 64], ids=["group-commit", "pulled"])
async def test_group_commit_batches_what_queues_up_and_applies_each_event_once(
    test_env: TestEnv, isolated_database: str, namespace: str, fetch: int
) -> None:
    runtime, seen = await _start(test_env, isolated_database, namespace, batched=True, fetch=fetch)
    seen.delay = 0.05  # a slow transaction: events queue up behind it
    try:
        names = [f"burst{i}" for i in range(60)]
        assert runtime.db is not None
        async with runtime.db.transaction() as conn:
            for name in names:
                await write_event(conn, SCHEMA, _event(name))
        await _until(lambda: sum(seen.applied.values()) >= len(names))
        await asyncio.sleep(0.3)
        assert {name: seen.applied[name] for name in names} == dict.fromkeys(names, 1)
        assert sum(seen.batches) == len(names)  # no event handled twice, none retried
        assert seen.subjects == [Events.USER_REGISTERED] * len(names)  # each one's, no namespace
        assert max(seen.batches) > 1, seen.batches
        assert len(seen.batches) < len(names) / 2, seen.batches
        db = await asyncpg.connect(isolated_database)
        try:
            inbox = await db.fetchval(f"SELECT count(*) FROM {SCHEMA}.inbox")
        finally:
            await db.close()
        assert inbox == len(names)
    finally:
        await runtime.stop()


async def test_inbox_forgets_ids_older_than_the_streams_keep(
    test_env: TestEnv, isolated_database: str
) -> None:
    from rivet_runtime.db import Database
    from rivet_runtime.jobs import JobContext
    from rivet_runtime.maintenance import prune_inbox

    await _create_schema(isolated_database)
    db = Database(isolated_database, SCHEMA)
    try:
        async with db.transaction() as conn:
            await conn.exec_driver_sql(
                f"INSERT INTO {SCHEMA}.inbox (consumer, event_id, processed_at) VALUES "
                f"('c', '{uuid.uuid4()}', now() - interval '40 days'), "
                f"('c', '{uuid.uuid4()}', now() - interval '1 day')"
            )
        assert await prune_inbox(JobContext(state=None, schema=SCHEMA, db=db)) == 1
        async with db.transaction() as conn:
            left = (await conn.exec_driver_sql(f"SELECT count(*) FROM {SCHEMA}.inbox")).scalar()
        assert left == 1
    finally:
        await db.dispose()


async def test_an_empty_pull_of_several_messages_times_out_as_a_pull_of_one(
    test_env: TestEnv, namespace: str
) -> None:
    """A subscription pulling several messages at once (``on_many(fetch=N)``) on a quiet
    stream: nats-py raised asyncio's TimeoutError there, which FastStream's pull loop does not
    expect (it logged an error and restarted the loop every idle period); the runtime makes it
    nats-py's own, as for a pull of one."""
    import nats.errors

    import rivet_runtime.broker  # noqa: F401  (applies the shim)

    nc = await nats.connect(test_env.nats_url)
    js = nc.jetstream()
    stream = f"{namespace.upper()}_QUIET"
    try:
        await js.add_stream(name=stream, subjects=[f"{namespace}.quiet"])
        sub = await js.pull_subscribe(f"{namespace}.quiet", durable="quiet", stream=stream)
        for batch in (1, 8):
            with pytest.raises(nats.errors.TimeoutError):
                await sub.fetch(batch, timeout=0.3)
        await js.publish(f"{namespace}.quiet", b"x")
        assert [m.data for m in await sub.fetch(8, timeout=2)] == [b"x"]
    finally:
        await js.delete_stream(stream)
        await nc.close()


# --- the runtime's own pull loop (on_many with fetch > 1, ADR 0011) -------------------------


async def _inbox_and_dead(url: str) -> tuple[int, list[asyncpg.Record]]:
    db = await asyncpg.connect(url)
    try:
        inbox = await db.fetchval(f"SELECT count(*) FROM {SCHEMA}.inbox")
        dead = await db.fetch(f"SELECT event_id, deliveries, error FROM {SCHEMA}.dead_letters")
    finally:
        await db.close()
    return inbox, dead


async def _consumer_settled(runtime: ServiceRuntime[Any], env: TestEnv) -> None:
    """Every message of the durable consumer acknowledged."""
    nc = await nats.connect(env.nats_url)
    try:
        js = nc.jetstream()
        stream = runtime.settings.stream_name(USERS.name)
        deadline = time.monotonic() + 20
        while True:
            info = await js.consumer_info(stream, "test-users")
            if info.num_pending == 0 and info.num_ack_pending == 0:
                return
            assert time.monotonic() < deadline, info
            await asyncio.sleep(0.1)
    finally:
        await nc.close()


async def test_pulled_duplicates_in_one_batch_and_across_batches_apply_once(
    test_env: TestEnv, isolated_database: str, namespace: str
) -> None:
    runtime, seen = await _start(test_env, isolated_database, namespace, batched=True, fetch=32)
    nc = await nats.connect(test_env.nats_url)
    try:
        subject = runtime.settings.subject(Events.USER_REGISTERED)
        js = nc.jetstream()
        twice = _event("twice")
        others = [_event(f"other{i}") for i in range(20)]
        # the same event three times among others, published at once (one batch, most
        # likely), under different message ids so JetStream's de-duplication cannot help
        for n, envelope in enumerate([twice, *others[:10], twice, *others[10:], twice]):
            await js.publish(
                subject, envelope.model_dump_json().encode(), headers={"Nats-Msg-Id": f"m{n}"}
            )
        await _until(lambda: sum(seen.applied.values()) >= 21)
        # and once more, later: a batch of its own
        await js.publish(subject, twice.model_dump_json().encode(), headers={"Nats-Msg-Id": "m99"})
        await _consumer_settled(runtime, test_env)
        assert seen.applied["twice"] == 1
        assert seen.attempts["twice"] == 1  # the copies never reached the handler
        assert all(seen.applied[f"other{i}"] == 1 for i in range(20))
        inbox, dead = await _inbox_and_dead(isolated_database)
        assert inbox == 21
        assert dead == []
    finally:
        await nc.close()
        await runtime.stop()


async def test_pulled_refused_is_dead_lettered_at_once_and_the_rest_of_its_batch_applies(
    test_env: TestEnv, isolated_database: str, namespace: str
) -> None:
    runtime, seen = await _start(test_env, isolated_database, namespace, batched=True, fetch=32)
    try:
        assert runtime.db is not None
        names = ["before", "refused-one", "after"]
        refused = _event("refused-one")
        async with runtime.db.transaction() as conn:  # published together: one batch
            for name in names:
                await write_event(conn, SCHEMA, refused if name == "refused-one" else _event(name))
        await _until(lambda: seen.applied["before"] == 1 and seen.applied["after"] == 1)
        await _consumer_settled(runtime, test_env)
        inbox, dead = await _inbox_and_dead(isolated_database)
        assert [(r["event_id"], r["deliveries"]) for r in dead] == [(str(refused.event_id), 1)]
        assert dead[0]["error"] == "refused: not_welcome: refused-one never applies"
        assert inbox == 2
        assert seen.applied["refused-one"] == 0
    finally:
        await runtime.stop()


async def test_pulled_event_applied_but_not_acknowledged_is_redelivered_and_skipped(
    test_env: TestEnv, isolated_database: str, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica that dies after its commit and before its acknowledgement: JetStream
    delivers the message again (after ``ack_wait``), to another replica, whose inbox finds it
    applied: acknowledged, not applied twice."""
    import nats.aio.msg

    import rivet_runtime.pull

    monkeypatch.setattr(rivet_runtime.pull, "ACK_WAIT", 2.0)  # the durable is created with it
    first, seen_first = await _start(test_env, isolated_database, namespace, batched=True, fetch=16)
    real_ack = nats.aio.msg.Msg.ack

    async def crash_before_ack(self: nats.aio.msg.Msg) -> None:
        return None  # the process "died" here: nothing reaches JetStream

    monkeypatch.setattr(nats.aio.msg.Msg, "ack", crash_before_ack)
    try:
        assert first.db is not None
        async with first.db.transaction() as conn:
            for i in range(5):
                await write_event(conn, SCHEMA, _event(f"lost-ack{i}"))
        await _until(lambda: sum(seen_first.applied.values()) == 5)
    finally:
        await first.stop()
    monkeypatch.setattr(nats.aio.msg.Msg, "ack", real_ack)
    second, seen_second = await _start(
        test_env, isolated_database, namespace, batched=True, fetch=16
    )
    try:
        await _consumer_settled(second, test_env)  # redelivered after 2 s, acknowledged
        assert sum(seen_second.attempts.values()) == 0  # the inbox answered: never applied
        inbox, dead = await _inbox_and_dead(isolated_database)
        assert inbox == 5
        assert dead == []
    finally:
        await second.stop()


async def test_two_replicas_share_the_durable_and_apply_each_event_once(
    test_env: TestEnv, isolated_database: str, namespace: str
) -> None:
    one, seen_one = await _start(test_env, isolated_database, namespace, batched=True, fetch=16)
    two, seen_two = await _start(test_env, isolated_database, namespace, batched=True, fetch=16)
    seen_one.delay = seen_two.delay = 0.01  # a little work per batch: both take their share
    try:
        assert one.db is not None
        names = [f"shared{i}" for i in range(300)]
        for start in range(0, len(names), 30):
            async with one.db.transaction() as conn:
                for name in names[start : start + 30]:
                    await write_event(conn, SCHEMA, _event(name))
        total = lambda: sum(seen_one.applied.values()) + sum(seen_two.applied.values())  # noqa: E731
        await _until(lambda: total() >= len(names), timeout=30)
        await _consumer_settled(one, test_env)
        assert total() == len(names)
        assert all(seen_one.applied[n] + seen_two.applied[n] == 1 for n in names)
        assert sum(seen_one.applied.values()) > 0
        assert sum(seen_two.applied.values()) > 0
        inbox, dead = await _inbox_and_dead(isolated_database)
        assert inbox == len(names)
        assert dead == []
    finally:
        await one.stop()
        await two.stop()
