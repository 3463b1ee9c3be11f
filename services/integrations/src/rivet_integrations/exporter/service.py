"""The exporter's loop: one durable pull consumer per exported domain stream.

Each pull takes up to ``EXPORT_BATCH`` events. An event that leaves Rivet (``rules.route``) is
published, bytes unchanged, on ``org.<org_id>.<subject>`` into its organization's stream with
``Nats-Msg-Id`` = its event id, and acknowledged once that stream has stored it; one that does
not leave is acknowledged at once. A copy that fails is tried again later (a delayed negative
acknowledgement), so an event is never dropped.

Webhook endpoints read the organizations' streams themselves (``webhooks/fanout.py``): the
exporter writes nothing to the database for them.

Replicas share each durable consumer: JetStream hands an event to one of them at a time. A
second copy of an event (a redelivery after a lost acknowledgement or a crash, to this replica
or another) carries the same ``Nats-Msg-Id`` and comes within the organization's stream's
duplicate window, which drops it (see docs/adr/0012-per-organization-event-streams.md).
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from sqlalchemy.dialects.postgresql import insert

from rivet_contracts import Headers
from rivet_runtime.streams import stream_config

from .. import metrics
from ..state import IntegrationsState
from ..tables import org_streams
from .rules import Copy, Skip, route
from .sources import SOURCES, Source

log = logging.getLogger(__name__)

PULL_TIMEOUT = 2.0
"""Seconds a pull waits for events before it counts the stream as caught up."""


class Exporter:
    """Started once the runtime is up (``start``); ``stop`` lets batches in hand finish."""

    def __init__(self) -> None:
        self._state: IntegrationsState | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._busy: set[str] = set()
        self._stopping = False
        self._known: set[str] = set()
        """Organizations' streams known to exist (namespaced names)."""
        self._creating: dict[str, asyncio.Lock] = {}

    @property
    def state(self) -> IntegrationsState:
        if self._state is None:
            raise RuntimeError("the exporter has not started")
        return self._state

    async def start(self, state: IntegrationsState) -> None:
        self._state = state
        for source in SOURCES:
            self._tasks[source.durable] = asyncio.create_task(
                self._run(source), name=f"export-{source.stream.name}"
            )

    async def stop(self) -> None:
        self._stopping = True
        for durable, task in self._tasks.items():
            if durable not in self._busy:  # waiting for events: nothing in hand
                task.cancel()
        grace = self._state.settings.shutdown_grace if self._state else 0.0
        if self._tasks:
            _, late = await asyncio.wait(self._tasks.values(), timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()

    # --- the loop of one domain stream --------------------------------------------------

    async def _run(self, source: Source) -> None:
        delay = 0.5
        while not self._stopping:
            try:
                sub = await self._subscribe(source)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the stream is not declared yet, NATS is away
                log.warning("exporter of %s waits (%r); again in %.1fs", source.name, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            delay = 0.5
            try:
                await self._pull(source, sub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "exporter of %s: pulling failed (%r); subscribing again", source.name, exc
                )
                await asyncio.sleep(delay)
            finally:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()

    async def _subscribe(self, source: Source) -> JetStreamContext.PullSubscription:
        state = self.state
        stream = state.settings.stream_name(source.stream.name)
        await state.js.stream_info(stream)  # declared by its publisher
        await state.js.add_consumer(
            stream,
            config=ConsumerConfig(
                name=source.durable,
                durable_name=source.durable,
                description="Copies exported events to the organizations' streams.",
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=state.settings.export_ack_wait,
                max_deliver=-1,  # an event is never dropped: a failed copy is tried again
                max_ack_pending=state.settings.export_batch * 4,
            ),
        )
        return await state.js.pull_subscribe_bind(durable=source.durable, stream=stream)

    async def _pull(self, source: Source, sub: JetStreamContext.PullSubscription) -> None:
        batch = self.state.settings.export_batch
        while not self._stopping:
            try:
                msgs = await sub.fetch(batch, timeout=PULL_TIMEOUT)
            except nats.errors.TimeoutError:
                metrics.LAG.labels(source.name).set(0)
                metrics.PENDING.labels(source.name).set(0)
                continue
            self._busy.add(source.durable)
            try:
                await self.export(source, msgs)
            finally:
                self._busy.discard(source.durable)

    # --- one batch ----------------------------------------------------------------------

    async def export(self, source: Source, msgs: Sequence[Msg]) -> None:
        """Copy the events of ``msgs`` that leave Rivet, acknowledge what is done."""
        prefix = self.state.settings.subject("")
        copies: list[tuple[Msg, Copy]] = []
        for msg in msgs:
            subject = msg.subject[len(prefix) :] if msg.subject.startswith(prefix) else msg.subject
            decision = route(subject, msg.data)
            if isinstance(decision, Skip):
                if decision is Skip.UNREADABLE:
                    log.warning("exporter of %s: %s is not an event; skipped", source.name, subject)
                metrics.EVENTS.labels(source.name, decision.value).inc()
                await self._acknowledge(msg)
            else:
                copies.append((msg, decision))
        # published in order on one connection: an organization's stream keeps the domain
        # stream's order within a batch
        stored = await asyncio.gather(*(self._copy(source, msg, copy) for msg, copy in copies))
        for (msg, _), ok in zip(copies, stored, strict=True):
            if ok:
                await self._acknowledge(msg)
        if msgs:
            last = msgs[-1].metadata
            age = (datetime.now(UTC) - last.timestamp).total_seconds() if last.timestamp else 0.0
            metrics.LAG.labels(source.name).set(max(age, 0.0))
            metrics.PENDING.labels(source.name).set(last.num_pending or 0)

    async def _copy(self, source: Source, msg: Msg, copy: Copy) -> bool:
        """Store the event in its organization's stream; False if that failed (the event
        comes again after a delay)."""
        state = self.state
        settings = state.settings
        try:
            stream = await self._org_stream(copy)
            ack = await state.js.publish(
                settings.subject(copy.subject),
                msg.data,
                stream=stream,
                headers={Headers.MSG_ID: str(copy.event_id)},
                timeout=settings.rpc_timeout,
            )
        except Exception as exc:
            metrics.FAILURES.labels(source.name).inc()
            deliveries = msg.metadata.num_delivered or 1
            delay = min(settings.export_retry_delay * 2 ** min(deliveries - 1, 16), 30.0)
            log.warning(
                "exporter of %s: copying %s failed (delivery %d, %r); again in %.1fs",
                source.name,
                copy.event_id,
                deliveries,
                exc,
                delay,
            )
            with contextlib.suppress(Exception):
                await msg.nak(delay=delay)
            return False
        metrics.EVENTS.labels(source.name, "duplicate" if ack.duplicate else "exported").inc()
        return True

    async def _acknowledge(self, msg: Msg) -> None:
        """The event is done: its copy is stored, or it does not leave. A lost acknowledgement
        brings the event again after ``EXPORT_ACK_WAIT``; its copy is then a duplicate."""
        await msg.ack()

    async def _org_stream(self, copy: Copy) -> str:
        """The organization's stream (namespaced name), created on its first event."""
        state = self.state
        name = state.settings.stream_name(copy.stream.name)
        if name in self._known:
            return name
        lock = self._creating.setdefault(name, asyncio.Lock())
        async with lock:
            if name in self._known:
                return name
            try:
                await state.js.stream_info(name)
            except NotFoundError:
                # Another replica may create it at the same moment: the same configuration,
                # so both succeed.
                await state.js.add_stream(stream_config(copy.stream, state.settings))
                log.info("created stream %s", name)
            await self._record(copy.org_id, copy.stream.name)
            self._known.add(name)
        return name

    async def _record(self, org_id: UUID, stream: str) -> None:
        started = time.monotonic()
        async with self.state.db.transaction() as conn:
            result = await conn.execute(
                insert(org_streams)
                .values(org_id=org_id, stream=stream)
                .on_conflict_do_nothing(index_elements=["org_id"])
            )
        if result.rowcount:
            metrics.ORG_STREAMS.inc()
            log.info(
                "recorded the stream of organization %s (%.3fs)", org_id, time.monotonic() - started
            )
