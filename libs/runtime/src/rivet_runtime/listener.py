"""Commit notifications: one dedicated ``LISTEN`` connection per process, shared by every loop
that waits for work (the outbox relay, queue jobs).

A writer sends ``pg_notify(channel, '')`` in its transaction; PostgreSQL delivers it when the
transaction commits. A loop takes a ``Waker`` for its channel and waits on it with a safety
poll, so a lost notification (the listening connection dropped, the server restarted) delays
work by at most one poll and never loses it. When the connection is lost every waker fires, so
each loop makes a pass and the next ``ensure`` listens again.
"""

import asyncio
import contextlib
import logging

import asyncpg

from .db import Database

log = logging.getLogger(__name__)


class Waker:
    """Set by a notification on its channel (or a lost connection); ``wait`` clears it."""

    def __init__(self, listener: "CommitListener", channel: str) -> None:
        self.listener = listener
        self.channel = channel
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        """A notification (or a lost connection) came and no ``wait`` has taken it yet."""
        return self._event.is_set()

    async def wait(self, poll: float) -> bool:
        """Wait until woken or ``poll`` seconds pass; True if woken. Listens first if the
        connection is down (best effort: the timeout is the safety poll)."""
        await self.listener.ensure()
        try:
            await asyncio.wait_for(self._event.wait(), poll)
            woken = True
        except TimeoutError:
            woken = False
        self._event.clear()
        return woken


class CommitListener:
    """The process's ``LISTEN`` connection, detached from the pool, for every channel asked."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._wakers: dict[str, list[Waker]] = {}
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()

    def waker(self, channel: str) -> Waker:
        waker = Waker(self, channel)
        new = channel not in self._wakers
        self._wakers.setdefault(channel, []).append(waker)
        if new and self._conn is not None and not self._conn.is_closed():
            self._conn.terminate()  # a new channel: the next ``ensure`` listens on all again
        return waker

    def _notify(self, _conn: object, _pid: int, channel: str, _payload: object) -> None:
        for waker in self._wakers.get(channel, ()):
            waker.set()

    def _lost(self, *_: object) -> None:
        for wakers in self._wakers.values():
            for waker in wakers:
                waker.set()

    async def ensure(self) -> None:
        """Listen on every channel asked for; reconnect if the connection was lost. Failures
        are logged, not raised: the callers' safety polls carry on."""
        if self._conn is not None and not self._conn.is_closed():
            return
        async with self._lock:
            if self._conn is not None and not self._conn.is_closed():
                return
            await self._close()
            try:
                raw = await self.db.engine.raw_connection()
            except Exception:
                return
            conn: asyncpg.Connection = raw.driver_connection
            raw.detach()  # this connection lives as long as the listener
            try:
                # a channel may be asked for while this awaits: listen until none is left out
                listened: set[str] = set()
                while todo := [c for c in self._wakers if c not in listened]:
                    for channel in todo:
                        await conn.add_listener(channel, self._notify)
                        listened.add(channel)
            except Exception as exc:
                # A pooled connection can be dead without asyncpg knowing yet (the server just
                # restarted): drop it; the safety polls carry on and the next call tries again.
                log.warning("cannot listen for commits yet: %r", exc)
                conn.terminate()
                return
            conn.add_termination_listener(self._lost)
            self._conn = conn
            self._lost()  # notifications sent while nobody listened: one pass each

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    async def close(self) -> None:
        async with self._lock:
            await self._close()
