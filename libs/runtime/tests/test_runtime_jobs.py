"""Background jobs: periodic passes once per period across replicas, queue jobs woken at commit
and never doing an item twice, failures counted and retried, a graceful stop."""

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import create_async_engine

from rivet_devstack.testing.env import TestEnv
from rivet_runtime.db import Database, async_url
from rivet_runtime.jobs import JobContext, JobRouter, JobRunner, notify
from rivet_runtime.listener import CommitListener
from rivet_runtime.metrics import JOB_LAST_SUCCESS, JOB_RUNS
from rivet_runtime.settings import ServiceSettings
from rivet_runtime.tables import add_job_table

SCHEMA = "jobs_test"
CHANNEL = "jobs_test_items"
TAKE = text(
    "UPDATE items SET done_by = :me WHERE id = ANY(ARRAY(SELECT id FROM items "
    "WHERE done_by IS NULL ORDER BY id LIMIT 5 FOR UPDATE SKIP LOCKED)) RETURNING id"
)


@dataclass
class Seen:
    passes: list[tuple[str, float, float]] = field(default_factory=list)
    """(replica, started, ended) of each periodic pass."""
    items: Counter[int] = field(default_factory=Counter)
    fail: int = 0


async def _create_schema(url: str) -> None:
    metadata = MetaData(schema=SCHEMA)
    add_job_table(metadata)
    engine = create_async_engine(async_url(url))
    async with engine.begin() as conn:
        await conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        await conn.run_sync(metadata.create_all)
        await conn.exec_driver_sql(
            f"CREATE TABLE {SCHEMA}.items (id int PRIMARY KEY, done_by text)"
        )
    await engine.dispose()


def _router(seen: Seen, every: float) -> JobRouter[str]:
    jobs: JobRouter[str] = JobRouter()

    @jobs.periodic("tick", every=every)
    async def tick(ctx: JobContext[str]) -> int:
        started = time.monotonic()
        await asyncio.sleep(every / 4)
        seen.passes.append((ctx.state, started, time.monotonic()))
        return 1

    @jobs.queue("items", channel=CHANNEL, poll=30.0)
    async def take(ctx: JobContext[str]) -> int:
        async with ctx.transaction() as conn:
            taken = (await conn.execute(TAKE, {"me": ctx.state})).scalars().all()
        for item in taken:
            seen.items[item] += 1
        return len(taken)

    return jobs


@pytest.fixture
async def replicas(
    test_env: TestEnv, isolated_database: str
) -> AsyncIterator[tuple[Database, Seen, list[JobRunner[str]]]]:
    await _create_schema(isolated_database)
    settings = ServiceSettings(**test_env.common() | {"service_name": "jobs-test"})
    seen = Seen()
    dbs = [Database(isolated_database, SCHEMA) for _ in range(3)]
    listeners = [CommitListener(db) for db in dbs[:2]]
    runners = [
        JobRunner(settings, db, f"replica-{n}", _router(seen, 0.4).jobs, listener)
        for n, (db, listener) in enumerate(zip(dbs, listeners, strict=False))
    ]
    for runner in runners:
        await runner.start()
    try:
        yield dbs[2], seen, runners
    finally:
        for runner in runners:
            await runner.stop()
        for listener in listeners:
            await listener.close()
        for db in dbs:
            await db.dispose()


async def test_a_periodic_job_runs_once_per_period_across_replicas(
    replicas: tuple[Database, Seen, list[JobRunner[str]]],
) -> None:
    db, seen, _ = replicas
    started = time.monotonic()
    await asyncio.sleep(4.0)
    elapsed = time.monotonic() - started
    passes = sorted(seen.passes, key=lambda p: p[1])
    # Once per 0.4 s period, whichever replica: never more, and not much less.
    assert 0.7 * elapsed / 0.4 <= len(passes) <= elapsed / 0.4 + 1
    assert {replica for replica, _, _ in passes} <= {"replica-0", "replica-1"}
    for before, after in itertools.pairwise(passes):
        assert after[1] >= before[2], "two passes of one periodic job overlapped"
    async with db.transaction() as conn:
        runs = await conn.scalar(text("SELECT runs FROM job_runs WHERE name = 'tick'"))
    assert runs is not None
    assert len(passes) <= runs <= len(passes) + 1


async def test_a_queue_job_wakes_at_commit_and_does_each_item_once(
    replicas: tuple[Database, Seen, list[JobRunner[str]]],
) -> None:
    db, seen, _ = replicas
    await asyncio.sleep(0.5)  # both replicas idle, waiting on a 30 s safety poll
    started = time.monotonic()
    async with db.transaction() as conn:
        await conn.execute(text("INSERT INTO items (id) SELECT generate_series(1, 200)"))
        await notify(conn, CHANNEL)
    while sum(seen.items.values()) < 200:
        assert time.monotonic() - started < 10, f"only {sum(seen.items.values())} of 200 done"
        await asyncio.sleep(0.02)
    took = time.monotonic() - started
    assert took < 5, f"the commit notification did not wake the job ({took:.1f} s)"
    assert set(seen.items.values()) == {1}, "an item was done twice"
    async with db.transaction() as conn:
        counts = await conn.execute(text("SELECT done_by, count(*) FROM items GROUP BY 1"))
        by = dict(counts.all())
    assert sum(by.values()) == 200
    assert None not in by


async def test_a_lost_listening_connection_is_replaced(
    replicas: tuple[Database, Seen, list[JobRunner[str]]],
) -> None:
    db, seen, _ = replicas
    await asyncio.sleep(0.5)
    async with db.transaction() as conn:
        killed = await conn.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query ILIKE 'LISTEN%'"
            )
        )
    assert killed == 2
    await asyncio.sleep(0.5)
    async with db.transaction() as conn:
        await conn.execute(text("INSERT INTO items (id) VALUES (1)"))
        await notify(conn, CHANNEL)
    started = time.monotonic()
    while not seen.items:
        assert time.monotonic() - started < 5, "no replica listens any more"
        await asyncio.sleep(0.02)


async def test_a_failing_job_is_counted_retried_and_recovers(
    test_env: TestEnv, isolated_database: str
) -> None:
    await _create_schema(isolated_database)
    settings = ServiceSettings(**test_env.common() | {"service_name": "jobs-failing"})
    attempts = 0
    jobs: JobRouter[None] = JobRouter()

    @jobs.periodic("flaky", every=0.2, per_replica=True)
    async def flaky(_ctx: JobContext[None]) -> int:
        nonlocal attempts
        attempts += 1
        if attempts <= 2:
            raise RuntimeError("failed on purpose")
        return 1

    db = Database(isolated_database, SCHEMA)
    listener = CommitListener(db)
    runner = JobRunner(settings, db, None, jobs.jobs, listener)
    failed = JOB_RUNS.labels("jobs-failing", "flaky", "failed")
    before = failed._value.get()
    await runner.start()
    try:
        started = time.monotonic()
        while attempts < 4:
            assert time.monotonic() - started < 10
            await asyncio.sleep(0.05)
    finally:
        await runner.stop()
        await listener.close()
        await db.dispose()
    assert failed._value.get() - before == 2
    assert JOB_LAST_SUCCESS.labels("jobs-failing", "flaky")._value.get() > time.time() - 10


async def test_stop_lets_a_running_pass_finish_and_tells_it_to_hurry(
    test_env: TestEnv, isolated_database: str
) -> None:
    await _create_schema(isolated_database)
    settings = ServiceSettings(
        **test_env.common() | {"service_name": "jobs-stop", "shutdown_grace": 5.0}
    )
    steps: list[str] = []
    running = asyncio.Event()
    jobs: JobRouter[None] = JobRouter()

    @jobs.periodic("long", every=60, per_replica=True)
    async def long(ctx: JobContext[None]) -> int:
        running.set()
        for _ in range(100):  # 10 s of work, in steps
            if ctx.stopping:
                steps.append("stopped early")
                return 0
            await asyncio.sleep(0.1)
        steps.append("finished")
        return 1

    db = Database(isolated_database, SCHEMA)
    listener = CommitListener(db)
    runner = JobRunner(settings, db, None, jobs.jobs, listener)
    await runner.start()
    await asyncio.wait_for(running.wait(), 5)
    started = time.monotonic()
    await runner.stop()
    await listener.close()
    await db.dispose()
    assert steps == ["stopped early"]
    assert time.monotonic() - started < 1.0


async def _runners(
    test_env: TestEnv, isolated_database: str, jobs: JobRouter[str], hold: float, count: int = 2
) -> tuple[list[JobRunner[str]], list[CommitListener], list[Database]]:
    await _create_schema(isolated_database)
    settings = ServiceSettings(**test_env.common() | {"service_name": "jobs-lease"})
    dbs = [Database(isolated_database, SCHEMA) for _ in range(count)]
    listeners = [CommitListener(db) for db in dbs]
    runners = [
        JobRunner(settings, db, f"replica-{n}", jobs.jobs, listener, hold=hold)
        for n, (db, listener) in enumerate(zip(dbs, listeners, strict=True))
    ]
    return runners, listeners, dbs


async def _stop(
    runners: list[JobRunner[str]], listeners: list[CommitListener], dbs: list[Database]
) -> None:
    for runner in runners:
        await runner.stop()
    for listener in listeners:
        await listener.close()
    for db in dbs:
        await db.dispose()


async def test_a_pass_longer_than_its_lease_renews_it_and_never_overlaps(
    test_env: TestEnv, isolated_database: str
) -> None:
    """Passes of 1.5 s under a lease of 0.6 s, every 0.2 s, two replicas: without renewal the
    other replica would start a pass beside the running one."""
    passes: list[tuple[str, float, float]] = []
    jobs: JobRouter[str] = JobRouter()

    @jobs.periodic("slow", every=0.2)
    async def slow(ctx: JobContext[str]) -> int:
        started = time.monotonic()
        await asyncio.sleep(1.5)
        passes.append((ctx.state, started, time.monotonic()))
        return 1

    runners, listeners, dbs = await _runners(test_env, isolated_database, jobs, hold=0.6)
    for runner in runners:
        await runner.start()
    try:
        await asyncio.sleep(5.0)
    finally:
        await _stop(runners, listeners, dbs)
    ordered = sorted(passes, key=lambda p: p[1])
    assert len(ordered) >= 2
    for before, after in itertools.pairwise(ordered):
        assert after[1] >= before[2] - 0.01, "a pass started while another held the job"


async def test_the_job_of_a_replica_that_died_mid_pass_runs_when_its_lease_ends(
    test_env: TestEnv, isolated_database: str
) -> None:
    """A claim taken and never renewed nor finished (its replica was killed): another replica
    runs the job once the lease runs out, not a period later."""
    passes: list[float] = []
    jobs: JobRouter[str] = JobRouter()

    @jobs.periodic("hourly", every=3600)
    async def hourly(_ctx: JobContext[str]) -> int:
        passes.append(time.monotonic())
        return 1

    runners, listeners, dbs = await _runners(test_env, isolated_database, jobs, 1.0, count=1)
    async with dbs[0].transaction() as conn:  # what a replica's claim leaves when it is killed
        await conn.execute(
            text(
                "INSERT INTO job_runs (name, due_at, started_at, runs) "
                "VALUES ('hourly', now() + interval '1 second', now(), 1)"
            )
        )
    started = time.monotonic()
    await runners[0].start()
    try:
        while not passes:
            assert time.monotonic() - started < 5, "the dead replica's claim was never taken over"
            await asyncio.sleep(0.05)
    finally:
        await _stop(runners, listeners, dbs)
    assert passes[0] - started >= 0.8, "the live claim was not respected"
    assert len(passes) == 1


async def test_channels_asked_for_while_listening_starts_are_all_listened_to(
    isolated_database: str,
) -> None:
    db = Database(isolated_database, SCHEMA)
    listener = CommitListener(db)
    try:
        wakers = [listener.waker("early_0")]
        starting = asyncio.create_task(listener.ensure())
        while not starting.done():  # asked for while ``ensure`` connects and LISTENs
            wakers.append(listener.waker(f"late_{len(wakers)}"))
            await asyncio.sleep(0.001)
        await starting  # one start listens to every channel, the late ones too
        for waker in wakers:
            waker._event.clear()  # the start's own wake-up pass
        async with db.transaction() as conn:
            for waker in wakers:
                await notify(conn, waker.channel)
        deadline = time.monotonic() + 5
        while not all(w.is_set() for w in wakers):
            missed = [w.channel for w in wakers if not w.is_set()]
            assert time.monotonic() < deadline, f"not listened to: {missed}"
            await asyncio.sleep(0.02)
    finally:
        await listener.close()
        await db.dispose()
