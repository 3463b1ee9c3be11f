"""Transactional outbox: events are rows written with the change, published after commit.

Writers call ``write_event`` inside their transaction; the row and a ``NOTIFY`` commit together.
The ``OutboxRelay`` wakes on that notification (or a slow safety poll), claims rows with
``FOR UPDATE SKIP LOCKED`` so several replicas can relay side by side, publishes each to
JetStream with ``Nats-Msg-Id`` = event id, and deletes the rows JetStream acknowledged. If the
process dies between publish and delete, the next pass publishes again and JetStream's duplicate
window drops the copy; consumers' inboxes catch anything older.
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
        backoff = 0.1
        while not self._stopping.is_set():
            # Everything inside the try: an exception escaping this loop would end the relay
            # task silently, and the service would look healthy with its events piling up.
            try:
                published = await self.relay_once()
                backoff = 0.1
            except Exception as exc:
                OUTBOX_PUBLISH_FAILURES.labels(self.settings.service_name).inc()
                log.warning("outbox relay pass failed: %s", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if published >= self.settings.outbox_batch_size:
                continue  # a full batch: more may be waiting
            # Otherwise the claim saw every committed row; a row committed since then has
            # notified (the waker was cleared before the pass), so waiting loses nothing
            # and saves an empty pass - a whole transaction - per event at low rates.
            poll = self.settings.outbox_safety_poll
            if self.waker is not None:
                await self.waker.wait(poll)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), poll)

    async def relay_once(self) -> int:
        """Publish one batch; returns how many events went out.

        The batch's rows are deleted as they are claimed, in the pass's transaction; rows whose
        publish failed are put back before it commits, so one event that cannot be published
        never holds up the others. If the pass dies before it commits, every row stays and the
        next pass publishes them again: JetStream's duplicate window drops the copies of those
        that had gone out (same ``Nats-Msg-Id``).
        """
        async with self.db.transaction() as conn:
            taken = (await conn.execute(_TAKE, {"limit": self.settings.outbox_batch_size})).all()
            rows = sorted(taken, key=lambda row: int(row.seq))
            done = set(await self._publish(rows)) if rows else set()
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
        if failed:
            raise RuntimeError(f"published {len(done)} of {len(rows)} events")
        return len(rows)

    async def _publish(self, rows: Sequence[Any]) -> list[int]:
        subject = self.settings.subject

        async def one(row: Any) -> int:
            await self.js.publish(
                subject(row.subject),
                row.payload.encode(),
                timeout=2.0,
                headers={Headers.MSG_ID: str(row.event_id)},
            )
            EVENTS_PUBLISHED.labels(self.settings.service_name, row.subject).inc()
            return int(row.seq)

        results = await asyncio.gather(*(one(r) for r in rows), return_exceptions=True)
        done = [r for r in results if isinstance(r, int)]
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            log.warning("outbox: %d of %d publishes failed: %r", len(errors), len(rows), errors[0])
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
