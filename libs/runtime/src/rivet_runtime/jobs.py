"""Background work, declared like handlers and run by the runtime: periodic jobs and queue jobs.

A service declares its jobs on a ``JobRouter`` in a ``jobs.py`` next to the code they serve::

    jobs: JobRouter[AssetsState] = JobRouter()

    @jobs.queue("imports", channel=IMPORTS_CHANNEL)
    async def run_imports(ctx: JobContext[AssetsState]) -> int:
        ...  # claim one unit of work (FOR UPDATE SKIP LOCKED), do it; return how many

    @jobs.periodic("health-refresh", every=lambda s: s.health_refresh_interval)
    async def refresh_health(ctx: JobContext[WorkordersState]) -> int:
        ...

and ``main.build`` adds them with ``runtime.include_jobs(jobs)``. A job gets a ``JobContext``
(the unit of work of one pass: ``ctx.transaction()``, ``ctx.reading()``, ``ctx.emit``,
``ctx.call`` through ``ctx.as_caller``) and returns how much it did.

- **Queue jobs** wait for a commit notification on their channel (the writer sends
  ``pg_notify(channel, '')`` in its transaction; see ``notify``) with a safety poll. A pass that
  did something is followed by another at once; one that found nothing waits. Several replicas
  run the same queue job side by side: the job claims its work so that no item is done twice.
- **Periodic jobs** run every ``every`` seconds. By default one replica runs each period: the
  pass is claimed in the schema's ``job_runs`` table (``due_at`` moves forward in the claiming
  transaction; the other replicas find it not due and sleep until it is). A claim is a lease of
  ``HOLD`` seconds that the running pass renews every third of it, so a pass that outlives its
  period is never run twice at once, and the job of a replica that died mid-pass runs again
  within ``HOLD`` seconds (a lease that could not be renewed, the database being away, may let
  another replica start a pass beside it: jobs are written to be safe to repeat).
  ``per_replica=True`` runs it in every replica instead (for what is local to a process, such
  as its gauges).

A failed pass is logged, counted (``rivet_job_runs_total{result="failed"}``) and retried after a
growing delay; ``rivet_job_last_success_timestamp_seconds`` says when each job last succeeded.
On shutdown the runtime stops starting passes, lets the running ones finish for up to
``SHUTDOWN_GRACE`` seconds (``ctx.stopping`` tells a long pass to stop early) and cancels them.
"""

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts import Identity

from .context import RequestContext, UnitOfWork
from .db import Database
from .listener import CommitListener
from .metrics import JOB_DURATION, JOB_LAST_SUCCESS, JOB_PERIOD, JOB_RUNS
from .settings import ServiceSettings

if TYPE_CHECKING:
    from .client import RpcClient

log = logging.getLogger(__name__)

StateT = TypeVar("StateT")

HOLD = 30.0
"""Seconds a claim on a periodic pass lasts unless the pass renews it (see the module's
docstring): how long the job of a replica that died mid-pass waits."""
MAX_BACKOFF = 60.0

Seconds = float | Callable[[Any], float]
"""A number of seconds, or a function of the service's settings that returns one."""


@dataclass
class JobContext(UnitOfWork[StateT]):
    """The unit of work of one pass of a background job."""

    job: str = ""
    settings: ServiceSettings | None = None
    client: "RpcClient | None" = None
    rpc_timeout: float = 5.0
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def stopping(self) -> bool:
        """True once the process is shutting down: a long pass should end at its next step
        (what it leaves is picked up again, by this replica after a restart or another)."""
        return self.stop_event.is_set()

    def as_caller(self, identity: Identity, correlation_id: str) -> RequestContext[StateT]:
        """A request's unit of work on behalf of ``identity`` (the person who asked for the
        work, such as the author of an import), for code written for request handlers."""
        return RequestContext(
            state=self.state,
            schema=self.schema,
            db=self.db,
            correlation_id=correlation_id,
            channel=self.channel,
            identity=identity,
            client=self.client,
            rpc_timeout=self.rpc_timeout,
        )


JobFunction = Callable[[JobContext[Any]], Awaitable[int | None]]


@dataclass(frozen=True)
class Job:
    name: str
    function: JobFunction
    every: Seconds | None = None
    """Periodic: seconds between passes."""
    channel: str | None = None
    """Queue: the commit-notification channel that wakes it."""
    poll: Seconds = 5.0
    """Queue: safety poll, seconds between passes when no notification arrives."""
    per_replica: bool = False

    def seconds(self, value: Seconds, settings: ServiceSettings) -> float:
        return float(value(settings)) if callable(value) else float(value)

    def period(self, settings: ServiceSettings) -> float:
        return self.seconds(self.every if self.every is not None else self.poll, settings)


class JobRouter(Generic[StateT]):
    """A set of background jobs."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def _add(self, job: Job) -> None:
        if any(j.name == job.name for j in self.jobs):
            raise ValueError(f"two jobs named {job.name!r}")
        self.jobs.append(job)

    def periodic(
        self, name: str, *, every: Seconds, per_replica: bool = False
    ) -> Callable[[JobFunction], JobFunction]:
        """Run the function every ``every`` seconds: in one replica per period, or in each
        replica with ``per_replica``."""

        def register(func: JobFunction) -> JobFunction:
            self._add(Job(name, func, every=every, per_replica=per_replica))
            return func

        return register

    def queue(
        self, name: str, *, channel: str, poll: Seconds = 5.0
    ) -> Callable[[JobFunction], JobFunction]:
        """Run the function when a transaction that sent ``notify(channel)`` commits, at least
        every ``poll`` seconds, and again at once while it returns more than 0."""

        def register(func: JobFunction) -> JobFunction:
            self._add(Job(name, func, channel=channel, poll=poll))
            return func

        return register


_NOTIFY = text("SELECT pg_notify(:channel, '')")


async def notify(conn: AsyncConnection, channel: str) -> None:
    """Wake the queue jobs of ``channel`` (in every replica) when this transaction commits."""
    await conn.execute(_NOTIFY, {"channel": channel})


_REGISTER = text("INSERT INTO job_runs (name) VALUES (:name) ON CONFLICT (name) DO NOTHING")
_CLAIM = text(
    "UPDATE job_runs SET due_at = now() + make_interval(secs => :hold), started_at = now(), "
    "runs = runs + 1 WHERE name = :name AND due_at <= now() RETURNING runs"
)
_RENEW = text(
    "UPDATE job_runs SET due_at = now() + make_interval(secs => :hold) "
    "WHERE name = :name AND runs = :runs"
)
_UNTIL_DUE = text("SELECT extract(epoch FROM due_at - now()) FROM job_runs WHERE name = :name")
_SUCCEEDED = text(
    "UPDATE job_runs SET due_at = started_at + make_interval(secs => :every), "
    "last_ok_at = now(), last_error = NULL WHERE name = :name"
)
_FAILED = text(
    "UPDATE job_runs SET due_at = now() + make_interval(secs => :retry), "
    "failures = failures + 1, last_error = :error WHERE name = :name"
)


class JobRunner(Generic[StateT]):
    """Runs a service's jobs from start to shutdown."""

    def __init__(
        self,
        settings: ServiceSettings,
        db: Database | None,
        state: StateT,
        jobs: list[Job],
        listener: CommitListener | None,
        client: "RpcClient | None" = None,
        hold: float = HOLD,
    ) -> None:
        """``db`` and ``listener`` may be None for a service without a database, which runs
        per-replica periodic jobs only. ``hold``: seconds of a claim's lease (``HOLD``)."""
        self.settings = settings
        self.hold = hold
        self.db = db
        self.state = state
        self.jobs = jobs
        self.listener = listener
        self.client = client
        self._stopping = asyncio.Event()
        queued = [job for job in jobs if job.channel is not None]
        shared = [job for job in jobs if job.every is not None and not job.per_replica]
        if (queued or shared) and (db is None or listener is None):
            raise ValueError("queue jobs and shared periodic jobs need a database")
        self._wakers = {
            job.name: listener.waker(job.channel)
            for job in queued
            if listener is not None and job.channel is not None
        }
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        shared = [job for job in self.jobs if job.every is not None and not job.per_replica]
        if shared and self.db is not None:
            async with self.db.transaction() as conn:
                for job in shared:
                    await conn.execute(_REGISTER, {"name": job.name})
        for job in self.jobs:
            JOB_PERIOD.labels(self.settings.service_name, job.name).set(job.period(self.settings))
            if job.channel is not None:
                loop = self._queue(job)
            elif job.per_replica:
                loop = self._every(job)
            else:
                loop = self._claimed(job)
            self._tasks.append(asyncio.create_task(loop, name=f"job-{job.name}"))

    async def stop(self) -> None:
        """Start no more passes; give running ones ``SHUTDOWN_GRACE`` seconds, then cancel."""
        self._stopping.set()
        for waker in self._wakers.values():
            waker.set()
        if not self._tasks:
            return
        _, pending = await asyncio.wait(self._tasks, timeout=self.settings.shutdown_grace)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def run_now(self, name: str) -> int:
        """One pass of the job ``name`` in this process, now, whatever its schedule (for tests
        and operators; a periodic job's claim is not taken, so it may overlap a scheduled pass:
        jobs are written to be safe to repeat)."""
        for job in self.jobs:
            if job.name == name:
                return await self.run_once(job)
        raise KeyError(f"no job named {name!r}")

    # --- one pass -----------------------------------------------------------------------

    def context(self, job: Job) -> JobContext[StateT]:
        return JobContext(
            state=self.state,
            schema=self.db.schema if self.db is not None else "",
            db=self.db,
            correlation_id=f"job:{job.name}",
            channel="job",
            job=job.name,
            settings=self.settings,
            client=self.client,
            rpc_timeout=self.settings.rpc_timeout,
            stop_event=self._stopping,
        )

    async def run_once(self, job: Job) -> int:
        """One pass of ``job``; raises what the job raised (after counting it)."""
        service = self.settings.service_name
        started = time.perf_counter()
        try:
            done = await job.function(self.context(job))
        except Exception:
            JOB_RUNS.labels(service, job.name, "failed").inc()
            raise
        finally:
            JOB_DURATION.labels(service, job.name).observe(time.perf_counter() - started)
        JOB_RUNS.labels(service, job.name, "ok").inc()
        JOB_LAST_SUCCESS.labels(service, job.name).set(time.time())
        return int(done or 0)

    async def _pass(self, job: Job, failures: int) -> tuple[int, int]:
        """(work done, consecutive failures); a failure sleeps a growing delay."""
        try:
            return await self.run_once(job), 0
        except Exception:
            log.exception("job %s failed", job.name)
            await self._sleep(min(0.5 * 2**failures, MAX_BACKOFF))
            return 0, failures + 1

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), max(seconds, 0.0))

    # --- the three loops ----------------------------------------------------------------

    async def _queue(self, job: Job) -> None:
        waker = self._wakers[job.name]
        poll = job.seconds(job.poll, self.settings)
        failures = 0
        while not self._stopping.is_set():
            done, failures = await self._pass(job, failures)
            if done or failures or self._stopping.is_set():
                continue
            await waker.wait(poll)

    async def _every(self, job: Job) -> None:
        every = job.period(self.settings)
        failures = 0
        while not self._stopping.is_set():
            _, failures = await self._pass(job, failures)
            if not failures:
                await self._sleep(every)

    async def _claimed(self, job: Job) -> None:
        every = job.period(self.settings)
        failures = 0
        while not self._stopping.is_set():
            try:
                runs, wait = await self._claim(job)
            except Exception as exc:  # the database is away: try again later
                log.warning("job %s: cannot claim a pass: %r", job.name, exc)
                runs, wait = None, min(every, 5.0)
            if runs is None:
                # Not due here: sleep until it is (a little jitter spreads the replicas).
                jitter = random.uniform(0, min(0.05 * every, 1.0))  # noqa: S311
                await self._sleep(min(wait, every) + jitter)
                continue
            lease = asyncio.create_task(self._renew(job, runs), name=f"lease-{job.name}")
            try:
                await self.run_once(job)
            except Exception as exc:
                failures += 1
                log.exception("job %s failed", job.name)
                retry = min(0.5 * 2**failures, MAX_BACKOFF, every)
                await self._record(_FAILED, job, retry=retry, error=repr(exc)[:500])
                continue
            finally:
                lease.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lease
            failures = 0
            await self._record(_SUCCEEDED, job, every=every)

    async def _claim(self, job: Job) -> tuple[int | None, float]:
        """(the claim's number, 0) if this replica claimed the pass; otherwise (None, seconds
        until it is due)."""
        assert self.db is not None  # checked in __init__
        async with self.db.transaction() as conn:
            claimed = await conn.scalar(_CLAIM, {"name": job.name, "hold": self.hold})
            if claimed is not None:
                return int(claimed), 0.0
            until = await conn.scalar(_UNTIL_DUE, {"name": job.name})
            if until is None:  # its row is gone (a restored database): register it again
                await conn.execute(_REGISTER, {"name": job.name})
                return None, 0.01
        return None, max(float(until), 0.0) + 0.01

    async def _renew(self, job: Job, runs: int) -> None:
        """Keep claim ``runs`` of ``job`` alive while its pass runs (cancelled when it ends)."""
        assert self.db is not None  # checked in __init__
        while True:
            await asyncio.sleep(self.hold / 3)
            try:
                async with self.db.transaction() as conn:
                    await conn.execute(_RENEW, {"name": job.name, "runs": runs, "hold": self.hold})
            except Exception as exc:  # the lease may run out: another pass may start beside it
                log.warning("job %s: cannot renew its claim: %r", job.name, exc)

    async def _record(self, statement: Any, job: Job, **params: Any) -> None:
        assert self.db is not None  # checked in __init__
        try:
            async with self.db.transaction() as conn:
                await conn.execute(statement, {"name": job.name, **params})
        except Exception as exc:  # the pass is held until its lease ends; nothing is lost
            log.warning("job %s: cannot record the pass: %r", job.name, exc)
