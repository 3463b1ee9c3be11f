"""The webhooks' fan-out: every enabled endpoint reads its organization's stream through a
cursor of its own, owned by one replica at a time
(docs/adr/0022-webhook-fan-out-by-stream-cursor.md).

- **Ownership.** Each replica renews, in one statement, its lease on the endpoints it sends
  for and takes enabled endpoints nobody holds (``repository.own``), up to its share (the
  enabled endpoints divided among the live replicas, ``repository.share``; it gives away what
  is over it, once it has stored their sends), every third of its sending window and whenever
  an endpoint changes (a commit notification on ``ENDPOINTS_CHANNEL``). It starts sends only
  while its last renewal is younger than ``WEBHOOK_LEASE - WEBHOOK_TIMEOUT - 1`` seconds, so
  its last send has ended before another replica can take the endpoint over: two replicas
  never send for one endpoint at once.
- **Sending.** A ``Pump`` per owned endpoint reads the stream after the endpoint's cursor
  (``stream.reader``) and sends the events the endpoint takes, up to ``WEBHOOK_CONCURRENCY``
  at once; the others are done as soon as they are read.
- **Cursor.** An event is finished when its send ended: delivered (2xx), or failed, in which
  case it becomes a delivery row with the retry schedule ahead (the retry job sends it again,
  as redeliveries and replays), so one failing event never holds back the ones after it. The
  cursor is the highest sequence below which every event read is finished.
- **Flush.** Every ``WEBHOOK_FLUSH_INTERVAL`` seconds one transaction stores, for every
  endpoint of the replica: the cursors (only where the replica still owns the endpoint), the
  failed events' rows, the delivery log of the sends (one multi-row insert), the endpoints'
  success or failure. A replica that dies re-sends at most what it sent since its last flush
  (at least once; receivers de-duplicate by ``webhook-id``).
"""

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from rivet_runtime.db import Database
from rivet_runtime.jobs import notify
from rivet_runtime.listener import Waker

from .. import metrics
from ..settings import IntegrationsSettings
from . import repository as repo
from . import rules, stream
from .channels import ENDPOINTS_CHANNEL
from .sender import Attempt, Sender

log = logging.getLogger(__name__)

FLUSH_ROWS = 2000
"""Log rows waiting that start a flush before its time."""
MAX_WAITING = 20_000
"""Log rows waiting (the database away) at which the pumps stop reading."""
FETCH_WAIT = 1.0
"""Seconds a pump's read waits for the next event."""
READ_AHEAD = 256
"""Events a pump reads ahead of its sends, at most."""


@dataclass(frozen=True)
class Failed:
    endpoint_id: UUID
    event: repo.EventRow
    seq: int
    attempt: Attempt


class Fanout:
    """One per process: ``start`` once the runtime runs, ``stop`` before it closes the
    database (the last flush, the endpoints released)."""

    def __init__(
        self,
        settings: IntegrationsSettings,
        js: JetStreamContext,
        db: Database,
        sender: Sender,
    ) -> None:
        self.settings = settings
        self.js = js
        self.db = db
        self.sender = sender
        self.owner = uuid4().hex
        self.pumps: dict[UUID, Pump] = {}
        self._log: list[dict[str, Any]] = []
        self._failed: list[Failed] = []
        self._succeeded: set[UUID] = set()
        self._cursors: dict[UUID, tuple[int, int]] = {}
        self._valid_until = 0.0
        self._reloading = False
        self._stopping = False
        self._flush_now = asyncio.Event()
        self._waker: Waker | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._flushing = asyncio.Lock()
        self._retiring: set[Pump] = set()
        """Pumps stopped or stopping whose last sends are not stored yet."""
        self._background: set[asyncio.Task[None]] = set()

    # --- life ---------------------------------------------------------------------------

    @property
    def window(self) -> float:
        """Seconds after a renewal's start during which sends may start."""
        return self.settings.webhook_lease - self.settings.webhook_timeout - 1.0

    def may_send(self) -> bool:
        """Within the lease's window, and not while an endpoint's change is being read (a
        rotated secret signs the sends that start after the rotation's commit)."""
        if self._stopping or self._reloading or time.monotonic() >= self._valid_until:
            return False
        return self._waker is None or not self._waker.is_set()

    def backed_up(self) -> bool:
        return len(self._log) + len(self._failed) >= MAX_WAITING

    async def start(self, waker: Waker | None) -> None:
        self._waker = waker
        self._tasks = [
            asyncio.create_task(self._owning(), name="webhook-owning"),
            asyncio.create_task(self._flushing_loop(), name="webhook-flush"),
        ]

    async def stop(self) -> None:
        """Start no more sends, let those in flight end, store everything, let the endpoints
        go (another replica takes them at once)."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await asyncio.gather(*(p.stop() for p in list(self.pumps.values())))
        await asyncio.gather(*self._background, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.flush()
        held = list(self.pumps)
        self.pumps.clear()
        with contextlib.suppress(Exception):
            async with self.db.transaction() as conn:
                await repo.release(conn, self.owner, held)
                await repo.leave(conn, self.owner)
                await notify(conn, ENDPOINTS_CHANNEL)  # the others take them at once

    def lag(self) -> float:
        """Seconds since the oldest event a pump of this replica has read and not finished
        was stored in its stream (0: none waits)."""
        return max((p.lag() for p in self.pumps.values()), default=0.0)

    # --- ownership ------------------------------------------------------------------------

    async def _owning(self) -> None:
        while not self._stopping:
            try:
                await self.own()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database away: sends stop when the window closes
                log.warning("webhooks: cannot renew the endpoints' leases: %r", exc)
            finally:
                self._reloading = False
            every = max(self.window / 3, 0.2)
            if self._waker is not None:
                self._reloading = await self._waker.wait(every)  # an endpoint changed
            else:
                await asyncio.sleep(every)

    async def own(self) -> None:
        """Renew, take up to this replica's share, give away what is over it, and start or
        stop pumps to match."""
        started = time.monotonic()
        lease = self.settings.webhook_lease
        async with self.db.transaction() as conn:
            share = await repo.share(conn, self.owner, lease)
            room = max(share - len(self.pumps), 0)
            owned = await repo.own(conn, self.owner, list(self.pumps), lease, room)
        self._valid_until = started + self.window
        now = {o.endpoint_id: o for o in owned}
        for endpoint_id in [e for e in self.pumps if e not in now]:  # disabled, deleted, lost
            self._retire(self.pumps.pop(endpoint_id))
        for endpoint_id, found in now.items():
            if endpoint_id in self.pumps:
                self.pumps[endpoint_id].config = found
            elif not self._stopping:
                self.pumps[endpoint_id] = Pump(self, found)
        for endpoint_id in sorted(self.pumps)[share:]:  # another replica came: its share
            self._retire(self.pumps.pop(endpoint_id), release=True)
        metrics.WEBHOOK_OWNED.set(len(self.pumps))

    def _retire(self, pump: "Pump", *, release: bool = False) -> None:
        """Stop ``pump`` in the background; the flushes store its last sends. ``release``:
        then let its endpoint go at once (to another replica)."""
        self._retiring.add(pump)

        async def retire() -> None:
            await pump.stop()
            self._flush_now.set()
            if release:
                await self.flush()
                async with self.db.transaction() as conn:
                    await repo.release(conn, self.owner, [pump.endpoint_id])
                    await notify(conn, ENDPOINTS_CHANNEL)

        task = asyncio.create_task(retire())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- flushing -------------------------------------------------------------------------

    async def _flushing_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_now.wait(), self.settings.webhook_flush_interval)
            self._flush_now.clear()
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # kept for the next flush
                log.warning("webhooks: cannot store the sends' outcomes yet: %r", exc)
                await asyncio.sleep(self.settings.webhook_flush_interval)

    def finished(self, pump: "Pump", seq: int, event: repo.EventRow, attempt: Attempt) -> None:
        """A send of ``pump`` ended (called as it ends, before the pump counts it finished)."""
        metrics.WEBHOOK_ATTEMPTS.labels(attempt.result).inc()
        if attempt.delivered:
            self._log.append(_row(pump.endpoint_id, event, seq, attempt))
            self._succeeded.add(pump.endpoint_id)
        else:
            occurred = stream.occurred_at(event.body) or event.occurred_at
            event = replace(event, occurred_at=occurred)
            self._failed.append(Failed(pump.endpoint_id, event, seq, attempt))
        if len(self._log) >= FLUSH_ROWS:
            self._flush_now.set()

    async def flush(self) -> None:
        async with self._flushing:
            for pump in list(self.pumps.values()) + list(self._retiring):
                advanced = pump.collect()
                if advanced is not None:
                    seq, delivered = advanced
                    _, before = self._cursors.get(pump.endpoint_id, (0, 0))
                    self._cursors[pump.endpoint_id] = (seq, before + delivered)
                if pump.ended():
                    self._retiring.discard(pump)
            if not (self._cursors or self._log or self._failed):
                return
            cursors, self._cursors = self._cursors, {}
            rows, self._log = self._log, []
            failed, self._failed = self._failed, []
            succeeded, self._succeeded = self._succeeded, set()
            try:
                await self._store(cursors, rows, failed, succeeded)
            except BaseException:
                for endpoint_id, (seq, n) in cursors.items():  # back, for the next flush
                    later, more = self._cursors.get(endpoint_id, (seq, 0))
                    self._cursors[endpoint_id] = (max(seq, later), n + more)
                self._log = rows + self._log
                self._failed = failed + self._failed
                self._succeeded |= succeeded
                raise

    async def _store(
        self,
        cursors: dict[UUID, tuple[int, int]],
        rows: list[dict[str, Any]],
        failed: list[Failed],
        succeeded: set[UUID],
    ) -> None:
        touched = {r["endpoint_id"] for r in rows} | {f.endpoint_id for f in failed}
        pumps = {p.endpoint_id: p for p in self._retiring} | self.pumps
        for endpoint_id in touched - cursors.keys():  # the fence: still this replica's?
            pump = pumps.get(endpoint_id)
            if pump is not None and pump.cursor is not None:
                cursors[endpoint_id] = (pump.cursor, 0)
        schedule = self.settings.webhook_schedule
        async with self.db.transaction() as conn:
            owned = await repo.advance(conn, self.owner, cursors)
            # a send whose endpoint is no longer this replica's (lost, deleted) is sent again
            # by its new owner from the stored cursor; its outcome is not stored
            failed = [f for f in failed if f.endpoint_id in owned]
            rows = [r for r in rows if r["endpoint_id"] in owned]
            if failed:
                await repo.store_events(conn, [f.event for f in failed])
                await repo.queue(
                    conn,
                    [
                        repo.Queue(
                            f.endpoint_id,
                            f.event.event_id,
                            tries=1,
                            attempts=1,
                            delay=rules.retry_delay(schedule, 1) or 0.0,
                        )
                        for f in failed
                    ],
                )
                metrics.WEBHOOK_QUEUED.inc(len(failed))
            await repo.record_attempts(
                conn, rows + [_row(f.endpoint_id, f.event, f.seq, f.attempt) for f in failed]
            )
            await repo.succeeded(conn, sorted(succeeded & owned), recent=True)
            first: dict[UUID, datetime] = {}
            for f in failed:
                first[f.endpoint_id] = min(first.get(f.endpoint_id, f.attempt.at), f.attempt.at)
            for endpoint_id, at in sorted(first.items()):
                await repo.mark_endpoint(
                    conn, endpoint_id, {"failing_since": repo.failing_since(at)}
                )
        lost = cursors.keys() - owned
        for endpoint_id in lost:
            pump = self.pumps.pop(endpoint_id, None)
            if pump is not None:
                log.warning("webhooks: endpoint %s is no longer this replica's", endpoint_id)
                self._retire(pump)


def _row(endpoint_id: UUID, event: repo.EventRow, seq: int, attempt: Attempt) -> dict[str, Any]:
    return {
        "delivery_id": rules.delivery_id(endpoint_id, event.event_id),
        "endpoint_id": endpoint_id,
        "attempt": 1,
        "attempted_at": attempt.at,
        "status_code": attempt.status_code,
        "duration_ms": attempt.duration_ms,
        "error": attempt.error,
        "delivered": attempt.delivered,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "stream_seq": seq,
    }


class Pump:
    """Reads one endpoint's organization's stream after its cursor and sends what it takes."""

    def __init__(self, fanout: Fanout, config: repo.Owned) -> None:
        self.fanout = fanout
        self.config = config
        self.endpoint_id = config.endpoint_id
        self.where = stream.Where.of(fanout.settings, config.org_id)
        self.cursor: int | None = config.stream_seq
        """Every event up to here is finished."""
        self._stored: int | None = config.stream_seq
        self._read: deque[tuple[int, datetime | None]] = deque()
        self._done: set[int] = set()
        self._last_read = config.stream_seq or 0
        self._delivered = 0
        self._flying: set[asyncio.Task[Attempt]] = set()
        self._held: deque[Msg] = deque()
        """Read, not sent yet: sends start only right after ``may_send`` said yes."""
        self._arrived = asyncio.Event()
        self._room = asyncio.Event()
        self._stopping = False
        self.task = asyncio.create_task(self._run(), name=f"webhook-pump-{self.endpoint_id}")

    def ended(self) -> bool:
        """Stopped, with nothing in flight and every outcome collected."""
        return self.task.done() and not self._flying and self._delivered == 0

    async def stop(self) -> None:
        """No more sends; those in flight end (each within ``WEBHOOK_TIMEOUT``)."""
        self._stopping = True
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task

    def lag(self) -> float:
        oldest = next((at for seq, at in self._read if seq not in self._done), None)
        if oldest is None and self._held:
            oldest = self._held[0].metadata.timestamp
        if oldest is None:
            return 0.0
        return max((datetime.now(UTC) - oldest).total_seconds(), 0.0)

    def collect(self) -> tuple[int, int] | None:
        """(cursor, delivered since the last collect) if either moved, else None."""
        while self._read and self._read[0][0] in self._done:
            seq, _ = self._read.popleft()
            self._done.discard(seq)
            self.cursor = seq
        if self.cursor is None or (self.cursor == self._stored and not self._delivered):
            return None
        delivered, self._delivered = self._delivered, 0
        self._stored = self.cursor
        return self.cursor, delivered

    async def _run(self) -> None:
        """Start sends from what the reader read, as room frees up and the lease allows."""
        settings = self.fanout.settings
        reader = asyncio.create_task(self._reading(), name=f"webhook-read-{self.endpoint_id}")
        try:
            while not self._stopping:
                if reader.done():  # it failed: a new one (it logged why)
                    reader = asyncio.create_task(self._reading())
                if not self.fanout.may_send():
                    await asyncio.sleep(0.05)
                    continue
                while self._held and len(self._flying) < settings.webhook_concurrency:
                    self._take(self._held.popleft())
                    self._room.set()
                if not self._held:
                    self._arrived.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._arrived.wait(), FETCH_WAIT)
                elif self._flying:  # full: until a send ends
                    await asyncio.wait(
                        self._flying, timeout=0.2, return_when=asyncio.FIRST_COMPLETED
                    )
        except asyncio.CancelledError:
            pass
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            if self._flying:
                await asyncio.wait(self._flying, timeout=settings.webhook_timeout + 2)

    async def _reading(self) -> None:
        """Read the stream ahead of the sends, up to ``READ_AHEAD`` events held."""
        js = self.fanout.js
        sub = None
        more = False  # the last event read said more were there
        try:
            while True:
                if sub is None:
                    if self.cursor is None:  # new to the stream: from its end
                        self.cursor = self._last_read = await stream.end(js, self.where)
                    sub = await stream.reader(js, self.where, self._last_read + 1)
                    if sub is None:  # the organization has no stream yet
                        await asyncio.sleep(FETCH_WAIT)
                        continue
                room = READ_AHEAD - len(self._held)
                if room <= 0 or self.fanout.backed_up():
                    self._room.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._room.wait(), 0.5)
                    continue
                try:
                    msgs = await stream.fetch(sub, room if more else 1, FETCH_WAIT)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the reader is gone (NATS restarted): a new one
                    log.warning("webhooks: reading %s failed (%r)", self.where.stream, exc)
                    with contextlib.suppress(Exception):
                        await stream.close(js, self.where, sub)
                    sub = None
                    await asyncio.sleep(0.5)
                    continue
                more = bool(msgs) and bool(msgs[-1].metadata.num_pending)
                for msg in msgs:
                    seq = msg.metadata.sequence.stream
                    if seq > self._last_read:  # not read again after a new reader
                        self._last_read = seq
                        self._held.append(msg)
                if msgs:
                    self._arrived.set()
        finally:
            if sub is not None:
                await stream.close(js, self.where, sub)

    def _take(self, msg: Msg) -> None:
        meta = msg.metadata
        seq = meta.sequence.stream
        self._read.append((seq, meta.timestamp))
        event_type = self.where.event_type(msg)
        found = stream.event_id(msg)
        if found is None or not rules.wanted(self.config.event_types, event_type):
            self._done.add(seq)
            return
        config = self.config
        event = repo.EventRow(found, config.org_id, event_type, datetime.now(UTC), msg.data)
        task = asyncio.create_task(
            self.fanout.sender.send(config.url, config.keys, found, msg.data)
        )
        self._flying.add(task)
        task.add_done_callback(lambda t: self._finished(t, seq, event))

    def _finished(self, task: asyncio.Task[Attempt], seq: int, event: repo.EventRow) -> None:
        self._flying.discard(task)
        if task.cancelled():  # never finished: sent again from the cursor
            return
        error = task.exception()
        if error is not None:
            log.error("webhooks: a send failed unexpectedly: %r", error)
            attempt = Attempt(datetime.now(UTC), False, None, repr(error)[:500], 0, "network_error")
        else:
            attempt = task.result()
        if attempt.delivered:
            self._delivered += 1
        self.fanout.finished(self, seq, event, attempt)
        self._done.add(seq)
