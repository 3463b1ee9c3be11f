"""Transactional outbox: events are rows written with the change, published after commit.

Writers call ``write_event`` inside their transaction; the row and a ``NOTIFY`` commit together.
The ``OutboxRelay`` wakes on that notification (or a slow safety poll), claims rows with
``FOR UPDATE SKIP LOCKED`` so several replicas can relay side by side, publishes each to
JetStream with ``Nats-Msg-Id`` = event id, and deletes the rows JetStream acknowledged. If the
process dies between publish and delete, the next pass publishes again and JetStream's duplicate
window drops the copy; consumers' inboxes catch anything older.

A pass's publishes are sent at once (``publish_async``) and their acknowledgements awaited
together. With a backlog,
the next pass claims and sends its rows while the acknowledgements of the one before are still
on their way (at most ``PIPELINE_DEPTH`` passes out, each in its own transaction), and each pass
after a full one claims twice as many rows, up to ``MAX_BATCH_FACTOR`` times
``outbox_batch_size`` (ADR 0013).
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts import EventEnvelope, Headers

from .db import Database
from .listener import Waker
from .metrics import (
    EVENTS_PUBLISHED,
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PUBLISH_FAILURES,
)
from .settings import ServiceSettings

log = logging.getLogger(__name__)

PIPELINE_DEPTH = 2
"""Relay passes whose acknowledgements are awaited at the same time, one transaction each."""
MAX_BATCH_FACTOR = 4
"""With a backlog, a pass claims up to this many times ``outbox_batch_size`` rows."""
PUBLISH_TIMEOUT = 10.0
"""Seconds a pass waits for JetStream's acknowledgements before it puts the rest back. The
events in flight (at most ``PIPELINE_DEPTH * MAX_BATCH_FACTOR * outbox_batch_size``, 1,600 by
default) must be stored within it: a stream that flushes every message to disk stores about
1,000-1,700 a second on a disk that flushes in 0.6-1 ms, a few hundred on a busy one."""

# The row and its notification in one round trip (the one-row subquery runs pg_notify once;
# PostgreSQL folds the notifications of one transaction into one).
_INSERT = text(
    "INSERT INTO outbox (event_id, subject, payload) "
    "SELECT :event_id, :subject, CAST(:payload AS jsonb) FROM (SELECT pg_notify(:channel, '')) n"
)
# Many rows and one notification in one statement (a batch's follow-ups), in the given order.
_INSERT_MANY = text(
    "INSERT INTO outbox (event_id, subject, payload) "
    "SELECT u.event_id, u.subject, CAST(u.payload AS jsonb) FROM unnest("
    "CAST(:ids AS uuid[]), CAST(:subjects AS text[]), CAST(:payloads AS text[])) "
    "WITH ORDINALITY AS u(event_id, subject, payload, n) "
    "CROSS JOIN (SELECT pg_notify(:channel, '')) notified ORDER BY u.n"
)
# Claim and delete in one statement; rows whose publish failed are put back (same seq, so the
# order holds) before the pass commits. ``= ANY(ARRAY(...))`` rather than ``IN (...)``: with
# ``IN`` the planner may join against a sequential scan of the table, whose dead rows (a queue
# table is mostly dead rows between vacuums) then cost every pass more and more.
_TAKE = text(
    "DELETE FROM outbox WHERE seq = ANY(ARRAY("
    "SELECT seq FROM outbox ORDER BY seq LIMIT :limit FOR UPDATE SKIP LOCKED)) "
    "RETURNING seq, event_id, subject, payload::text AS payload, created_at"
)
_PUT_BACK = text(
    "INSERT INTO outbox (seq, event_id, subject, payload, created_at) OVERRIDING SYSTEM VALUE "
    "SELECT seq, event_id, subject, CAST(payload AS jsonb), created_at FROM unnest("
    "CAST(:seqs AS bigint[]), CAST(:ids AS uuid[]), CAST(:subjects AS text[]), "
    "CAST(:payloads AS text[]), CAST(:created AS timestamptz[])) "
    "AS u(seq, event_id, subject, payload, created_at)"
)
_BACKLOG = text(
    "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM outbox"
)


def notify_channel(schema: str) -> str:
    return f"{schema}_outbox"


async def write_event(conn: AsyncConnection, schema: str, envelope: EventEnvelope[Any]) -> None:
    """Add ``envelope`` to the outbox in the caller's transaction."""
    await conn.execute(
        _INSERT,
        {
            "event_id": envelope.event_id,
            "subject": envelope.type,
            "payload": envelope.model_dump_json(),
            "channel": notify_channel(schema),
        },
    )


async def write_events(
    conn: AsyncConnection, schema: str, envelopes: Sequence[EventEnvelope[Any]]
) -> None:
    """Add ``envelopes`` to the outbox in the caller's transaction, in one statement."""
    if not envelopes:
        return
    await conn.execute(
        _INSERT_MANY,
        {
            "ids": [envelope.event_id for envelope in envelopes],
            "subjects": [envelope.type for envelope in envelopes],
            "payloads": [envelope.model_dump_json() for envelope in envelopes],
            "channel": notify_channel(schema),
        },
    )


class OutboxRelay:
    """Publishes committed outbox rows to JetStream, in commit order per relay pass."""

    def __init__(
        self,
        settings: ServiceSettings,
        db: Database,
        js: JetStreamContext,
        waker: Waker | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.js = js
        self.waker = waker
        """Commit notifications on ``notify_channel(schema)`` (None: the safety poll alone)."""
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._last_gauge = 0.0
        self._last_backlog = -1

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.db.schema}")

    async def stop(self) -> None:
        self._stopping.set()
        if self.waker is not None:
            self.waker.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=self.settings.shutdown_grace)
            except TimeoutError:
                self._task.cancel()

    async def _run(self) -> None:
        base = self.settings.outbox_batch_size
        most = min(5000, MAX_BATCH_FACTOR * base)
        limit = base
        backoff = 0.1
        passes: set[asyncio.Task[int]] = set()
        try:
            while not self._stopping.is_set():
                # Everything inside the try: an exception escaping this loop would end the relay
                # task silently, and the service would look healthy with its events piling up.
                try:
                    claimed = await self._start_pass(limit, passes)
                    self._reap(passes)
                    if claimed >= limit:
                        # A full batch: more may be waiting. The next pass claims (twice as
                        # many) while this one's acknowledgements come back, once fewer than
                        # PIPELINE_DEPTH passes are out.
                        limit = min(most, limit * 2)
                        while len(passes) >= PIPELINE_DEPTH:
                            await asyncio.wait(passes, return_when=asyncio.FIRST_COMPLETED)
                            self._reap(passes)
                        continue
                    # Otherwise the claim saw every committed row; a row committed since then
                    # has notified (the waker was cleared before the pass), so waiting loses
                    # nothing and saves an empty pass - a whole transaction - per event at low
                    # rates. The passes out finish first, so a failure is seen before waiting.
                    limit = base
                    if passes:
                        await asyncio.wait(passes)
                        self._reap(passes)
                    backoff = 0.1
                except Exception as exc:
                    OUTBOX_PUBLISH_FAILURES.labels(self.settings.service_name).inc()
                    log.warning("outbox relay pass failed: %s", exc)
                    await self._settle(passes)  # their rows deleted or put back
                    limit = base
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                poll = self.settings.outbox_safety_poll
                if self.waker is not None:
                    await self.waker.wait(poll)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), poll)
        finally:
            try:
                await self._settle(passes)
            except asyncio.CancelledError:
                for task in passes:
                    task.cancel()  # rolled back: their rows stay for the next relay
                raise

    async def _start_pass(self, limit: int, passes: set[asyncio.Task[int]]) -> int:
        """Start a pass; returns once its rows are claimed and their publishes sent."""
        sent: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._pass(limit, sent), name="outbox-relay-pass")
        passes.add(task)
        try:
            return await sent
        except Exception:
            await asyncio.wait({task})  # failed before sending: its failure is raised here
            passes.discard(task)
            if not task.cancelled():
                task.exception()
            raise

    @staticmethod
    def _reap(passes: set[asyncio.Task[int]]) -> None:
        """Forget the passes that have finished; raise the failure of one that failed."""
        done = {task for task in passes if task.done()}
        passes -= done
        failures = [t.exception() for t in done if not t.cancelled() and t.exception()]
        if failures:
            for extra in failures[1:]:
                log.warning("outbox relay pass failed: %s", extra)
            raise failures[0]  # type: ignore[misc]

    async def _settle(self, passes: set[asyncio.Task[int]]) -> None:
        """Wait for the passes out; log their failures."""
        while passes:
            await asyncio.wait(passes)
            try:
                self._reap(passes)
            except Exception as exc:
                OUTBOX_PUBLISH_FAILURES.labels(self.settings.service_name).inc()
                log.warning("outbox relay pass failed: %s", exc)

    async def relay_once(self) -> int:
        """Publish one batch of ``outbox_batch_size`` rows; returns how many events went out."""
        return await self._pass(self.settings.outbox_batch_size)

    async def _pass(self, limit: int, sent: asyncio.Future[int] | None = None) -> int:
        """Claim up to ``limit`` rows, publish them, delete those JetStream acknowledged.

        The batch's rows are deleted as they are claimed, in the pass's transaction; rows whose
        publish failed are put back before it commits, so one event that cannot be published
        never holds up the others. If the pass dies before it commits, every row stays and the
        next pass publishes them again: JetStream's duplicate window drops the copies of those
        that had gone out (same ``Nats-Msg-Id``). ``sent`` is given the number of rows claimed
        once their publishes are on their way, before their acknowledgements.
        """
        try:
            async with self.db.transaction() as conn:
                taken = (await conn.execute(_TAKE, {"limit": limit})).all()
                rows = sorted(taken, key=lambda row: int(row.seq))
                # Written in seq order before the next pass claims, so its publishes follow.
                acks = await self._send(rows)
                if sent is not None:
                    sent.set_result(len(rows))
                done = await self._acknowledged(rows, acks)
                failed = [row for row in rows if int(row.seq) not in done]
                if failed:
                    await conn.execute(
                        _PUT_BACK,
                        {
                            "seqs": [row.seq for row in failed],
                            "ids": [row.event_id for row in failed],
                            "subjects": [row.subject for row in failed],
                            "payloads": [row.payload for row in failed],
                            "created": [row.created_at for row in failed],
                        },
                    )
                # Drop the backlog gauge to zero as soon as a pass finds nothing; otherwise at
                # most once a second (a query per pass cost as much as the claim itself).
                await self._update_gauges(conn, force=not rows and self._last_backlog > 0)
        except BaseException as exc:
            if sent is not None and not sent.done():
                sent.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
            raise
        if failed:
            raise RuntimeError(f"published {len(done)} of {len(rows)} events")
        return len(rows)

    async def _send(self, rows: Sequence[Any]) -> list[asyncio.Future[Any]]:
        """Publish each row (``Nats-Msg-Id`` = event id), in order, without waiting for the
        acknowledgements; returns their futures (fewer than the rows if sending failed)."""
        subject = self.settings.subject
        acks: list[asyncio.Future[Any]] = []
        try:
            for row in rows:
                acks.append(
                    await self.js.publish_async(
                        subject(row.subject),
                        row.payload.encode(),
                        wait_stall=PUBLISH_TIMEOUT,
                        headers={Headers.MSG_ID: str(row.event_id)},
                    )
                )
        except Exception as exc:  # the rest is not sent: put back with the unacknowledged
            log.warning("outbox: sent %d of %d events: %r", len(acks), len(rows), exc)
        return acks

    async def _acknowledged(
        self, rows: Sequence[Any], acks: Sequence[asyncio.Future[Any]]
    ) -> set[int]:
        """The seqs of the rows JetStream acknowledged within ``PUBLISH_TIMEOUT``."""
        if acks:
            await asyncio.wait(acks, timeout=PUBLISH_TIMEOUT)
        done: set[int] = set()
        published: dict[str, int] = {}
        errors: list[BaseException] = []
        for row, ack in zip(rows, acks, strict=False):
            if not ack.done():
                ack.cancel()
                errors.append(TimeoutError("no acknowledgement"))
            elif ack.cancelled():
                errors.append(TimeoutError("cancelled"))
            elif (exc := ack.exception()) is not None:
                errors.append(exc)
            else:
                done.add(int(row.seq))
                published[row.subject] = published.get(row.subject, 0) + 1
        for name, count in published.items():
            EVENTS_PUBLISHED.labels(self.settings.service_name, name).inc(count)
        if errors or len(acks) < len(rows):
            log.warning(
                "outbox: %d of %d publishes not acknowledged: %r",
                len(rows) - len(done),
                len(rows),
                errors[0] if errors else "not sent",
            )
        return done

    async def _update_gauges(self, conn: AsyncConnection, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last_gauge < 1.0:
            return
        self._last_gauge = now
        count, age = (await conn.execute(_BACKLOG)).one()
        self._last_backlog = int(count)
        OUTBOX_BACKLOG.labels(self.settings.service_name).set(count)
        OUTBOX_OLDEST_AGE.labels(self.settings.service_name).set(float(age))
