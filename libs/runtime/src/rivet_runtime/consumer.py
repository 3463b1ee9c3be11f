"""Idempotent event consumers with bounded redelivery and dead letters.

Each subscription is a durable JetStream pull consumer. For every message the processor opens
one transaction, records the event id in the ``inbox`` (a second delivery finds it there and
changes nothing), runs the handler, commits, then acknowledges. A handler that raises gets the
message redelivered after a growing delay; after ``CONSUMER_MAX_DELIVERIES`` attempts (or at once
for a message that cannot be parsed) the message is written to ``dead_letters``, announced as
``deadletter.<consumer>`` and acknowledged, so it never blocks the stream. A handler that
knows a message can never apply (a reading from a device that names an unknown meter) raises
``Refused``: it is dead-lettered at once, with the reason, instead of being retried.

A subscription registered with ``EventRouter.on_many`` is applied by group commit: the events
that arrive while one transaction runs wait and go together into the next one (one inbox
insert, one handler call, one commit for all of them). At low rates every batch holds one
event, so nothing waits; under load, batches grow and the per-event cost falls. When a batch
fails for a reason other than an outage, each of its events is applied again on its own, so
one poison message is retried and dead-lettered alone.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any, Generic, TypeVar
from uuid import UUID

import asyncpg
from pydantic import ValidationError

from rivet_contracts import EventEnvelope, Headers
from rivet_contracts.base import DeadLettered
from rivet_contracts.catalog import EVENTS

from . import inbox
from .context import Duplicate, EventContext
from .db import Database
from .deadletters import write_dead_letter
from .logging import correlation_id as correlation_var
from .metrics import DEAD_LETTERS, EVENT_HANDLING, EVENTS_CONSUMED, EVENTS_FAILED
from .settings import ServiceSettings

log = logging.getLogger(__name__)

StateT = TypeVar("StateT")
EventHandler = Callable[[EventEnvelope[Any], EventContext[Any]], Awaitable[None]]
BatchEventHandler = Callable[[Sequence[EventEnvelope[Any]], EventContext[Any]], Awaitable[None]]


class Refused(Exception):
    """Raised by a handler for a message that will never apply, whatever the retries: the
    transaction rolls back and the message is dead-lettered at once with ``reason`` (a stable
    code) and the message."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


class Outcome(StrEnum):
    OK = "ok"
    DUPLICATE = "duplicate"
    RETRY = "retry"
    DEAD_LETTER = "dead_letter"


@dataclass(frozen=True)
class Subscription:
    subject: str
    consumer: str
    """Durable consumer name: unique per service and purpose, e.g. ``workorders-equipment``."""
    handler: EventHandler | None
    """Applies one event (``None`` when ``batch_handler`` is set)."""
    workers: int | None = None
    """Concurrent messages; 1 keeps stream order. Defaults to ``CONSUMER_WORKERS``, or to
    ``max_batch`` for a batched subscription (messages in flight are what batches are made of)."""
    batch_handler: BatchEventHandler | None = None
    """Applies several events in one transaction (group commit, see the module's docstring)."""
    max_batch: int = 1
    own_transaction: bool = False
    fetch: int = 1
    """Messages asked of JetStream per pull (1: one round trip per message). More lets a busy
    stream's messages arrive together; a pull returns at once with what is there."""
    """The handler opens its unit of work itself (``ctx.transaction()``): see ``on``."""


@dataclass(frozen=True)
class Delivery:
    """One delivery of a message, as the runtime's pull loop hands it to ``process_many``."""

    body: bytes
    headers: Mapping[str, str]
    deliveries: int
    """How many times JetStream has delivered it (1 the first time)."""
    subject: str | None
    """The subject it arrived on (namespaced)."""


class EventRouter(Generic[StateT]):
    """A set of event handlers."""

    def __init__(self) -> None:
        self.subscriptions: list[Subscription] = []

    def on(
        self,
        subject: str,
        *,
        consumer: str,
        workers: int | None = None,
        own_transaction: bool = False,
    ) -> Callable[[EventHandler], EventHandler]:
        """Register the handler of ``subject`` for the durable ``consumer``. The runtime runs
        it inside one transaction that also records the event in the inbox. With
        ``own_transaction`` the handler does its slow I/O first and then opens that one
        transaction itself (``ctx.transaction()``, which raises ``Duplicate`` for an event
        applied before: let it pass); a redelivery of an event already applied is acknowledged
        without running the handler. What it does before its transaction may run again after
        a crash, so it must be safe to repeat."""
        if subject not in EVENTS:
            raise KeyError(f"{subject!r} is not in the contract catalogue")

        def register(func: EventHandler) -> EventHandler:
            self.subscriptions.append(
                Subscription(subject, consumer, func, workers, own_transaction=own_transaction)
            )
            return func

        return register

    def on_many(
        self,
        subject: str,
        *,
        consumer: str,
        max_batch: int = 32,
        workers: int | None = None,
        fetch: int = 1,
    ) -> Callable[[BatchEventHandler], BatchEventHandler]:
        """Register a handler of event batches: for consumers whose work per event shrinks
        when events are applied together (sums, rollups). Order within a batch is arrival
        order; a handler must not depend on stream order across batches. ``fetch``: messages
        asked per pull (``Subscription.fetch``), for high-rate streams."""
        if subject not in EVENTS:
            raise KeyError(f"{subject!r} is not in the contract catalogue")
        if max_batch < 1 or fetch < 1:
            raise ValueError("max_batch and fetch must be at least 1")

        def register(func: BatchEventHandler) -> BatchEventHandler:
            self.subscriptions.append(
                Subscription(subject, consumer, None, workers, func, max_batch, fetch=fetch)
            )
            return func

        return register


class EventProcessor(Generic[StateT]):
    """Applies one delivery of one message; decides ack, retry or dead letter."""

    def __init__(self, settings: ServiceSettings, db: Database, state: StateT) -> None:
        self.settings = settings
        self.db = db
        self.state = state
        self._groups: dict[str, _GroupCommit] = {}

    def retry_delay(self, deliveries: int) -> float:
        exponent = min(deliveries - 1, 16)
        return float(min(self.settings.consumer_retry_delay * 2**exponent, 30.0))

    async def process(
        self,
        sub: Subscription,
        body: bytes,
        headers: Mapping[str, str],
        deliveries: int,
        subject: str | None = None,
    ) -> Outcome:
        """Never raises: every delivery ends acknowledged (ok, duplicate, dead letter) or
        negatively acknowledged with a delay (retry), so JetStream never has to give up on a
        message by itself. ``subject`` is the one the message arrived on (namespaced), for a
        subscription to a wildcard subject."""
        service = self.settings.service_name
        started = time.perf_counter()
        try:
            outcome = await self._process(sub, body, headers, deliveries, subject)
        except Exception as exc:  # the database is away even for the dead letter: try later
            log.warning("consumer %s cannot record its outcome yet: %r", sub.consumer, exc)
            outcome = Outcome.RETRY
        EVENTS_CONSUMED.labels(service, sub.consumer, sub.subject, outcome.value).inc()
        EVENT_HANDLING.labels(service, sub.consumer).observe(time.perf_counter() - started)
        return outcome

    async def _process(
        self,
        sub: Subscription,
        body: bytes,
        headers: Mapping[str, str],
        deliveries: int,
        subject: str | None = None,
    ) -> Outcome:
        try:
            envelope = self._parse(sub.subject, body)
        except ValidationError as exc:
            await self._dead_letter(sub, body, headers, deliveries, f"unparseable: {exc}")
            return Outcome.DEAD_LETTER
        token = correlation_var.set(envelope.correlation_id)
        try:
            if sub.batch_handler is not None:
                result: Outcome | Exception = await self._group(sub).submit(
                    envelope, self._unprefixed(subject)
                )
            else:
                result = await self._apply(sub, envelope, self._unprefixed(subject))
        except Exception as exc:
            result = exc
        try:
            return await self._judge(sub, envelope, result, body, headers, deliveries)
        finally:
            correlation_var.reset(token)

    async def process_many(
        self, sub: Subscription, deliveries: Sequence[Delivery]
    ) -> list[Outcome]:
        """Apply several deliveries of a batched subscription together (one transaction, or
        one each after a failure, as ``_GroupCommit`` does) and decide each one's outcome as
        ``process`` would. Never raises."""
        service = self.settings.service_name
        started = time.perf_counter()
        outcomes: list[Outcome] = [Outcome.RETRY] * len(deliveries)
        parsed: list[tuple[int, EventEnvelope[Any], str | None]] = []
        try:
            for i, delivery in enumerate(deliveries):
                try:
                    envelope = self._parse(sub.subject, delivery.body)
                except ValidationError as exc:
                    await self._dead_letter(
                        sub, delivery.body, delivery.headers, delivery.deliveries,
                        f"unparseable: {exc}",
                    )  # fmt: skip
                    outcomes[i] = Outcome.DEAD_LETTER
                    continue
                parsed.append((i, envelope, self._unprefixed(delivery.subject)))
            if parsed:
                results = await self.apply_group(sub, [(e, s) for _, e, s in parsed])
                for (i, envelope, _), result in zip(parsed, results, strict=True):
                    delivery = deliveries[i]
                    outcomes[i] = await self._judge(
                        sub, envelope, result, delivery.body, delivery.headers,
                        delivery.deliveries,
                    )  # fmt: skip
        except Exception as exc:  # the database is away even for the dead letter: try later
            log.warning("consumer %s cannot record its outcome yet: %r", sub.consumer, exc)
        elapsed = time.perf_counter() - started
        counts: dict[Outcome, int] = {}
        for outcome in outcomes:
            counts[outcome] = counts.get(outcome, 0) + 1
        for outcome, n in counts.items():
            EVENTS_CONSUMED.labels(service, sub.consumer, sub.subject, outcome.value).inc(n)
        handling = EVENT_HANDLING.labels(service, sub.consumer)
        for _ in outcomes:
            handling.observe(elapsed)
        return outcomes

    async def _judge(
        self,
        sub: Subscription,
        envelope: EventEnvelope[Any],
        result: "Outcome | BaseException",
        body: bytes,
        headers: Mapping[str, str],
        deliveries: int,
    ) -> Outcome:
        """The outcome of one delivery from what applying it gave: an outcome, or the
        exception it raised (dead-lettered when refused or out of retries)."""
        if isinstance(result, Outcome):
            return result
        exc = result
        if isinstance(exc, Refused):
            log.warning("consumer %s refused %s: %s", sub.consumer, envelope.event_id, exc)
            await self._dead_letter(sub, body, headers, deliveries, f"refused: {exc}")
            return Outcome.DEAD_LETTER
        if not isinstance(exc, Exception):
            raise exc
        EVENTS_FAILED.labels(self.settings.service_name, sub.consumer).inc()
        if is_outage(exc):
            # PostgreSQL (or the network) is away: not the message's fault, so it does not
            # count towards the poison budget; retry until the database is back.
            log.warning("consumer %s waits for the database: %r", sub.consumer, exc)
            return Outcome.RETRY
        if deliveries < self.settings.consumer_max_deliveries:
            log.warning(
                "consumer %s failed on %s (delivery %d): %r",
                sub.consumer,
                envelope.event_id,
                deliveries,
                exc,
            )
            return Outcome.RETRY
        log.error("consumer %s gives up on %s", sub.consumer, envelope.event_id, exc_info=exc)
        await self._dead_letter(sub, body, headers, deliveries, repr(exc))
        return Outcome.DEAD_LETTER

    @staticmethod
    def _parse(subject: str, body: bytes) -> EventEnvelope[Any]:
        envelope: EventEnvelope[Any] = envelope_model(subject).model_validate_json(body)
        return envelope

    def _unprefixed(self, subject: str | None) -> str | None:
        """``subject`` without the deployment's namespace."""
        prefix = self.settings.subject("")
        return subject[len(prefix) :] if subject and subject.startswith(prefix) else subject

    def _group(self, sub: Subscription) -> "_GroupCommit":
        group = self._groups.get(sub.consumer)
        if group is None:
            group = self._groups[sub.consumer] = _GroupCommit(self, sub)
        return group

    async def _apply(
        self, sub: Subscription, envelope: EventEnvelope[Any], subject: str | None = None
    ) -> Outcome:
        assert sub.handler is not None
        ctx: EventContext[Any] = EventContext(
            state=self.state,
            schema=self.db.schema,
            db=self.db,
            correlation_id=envelope.correlation_id,
            channel=(envelope.actor and envelope.actor.channel) or "event",
            event=envelope,
            consumer=sub.consumer,
            subject=subject,
        )
        try:
            if not sub.own_transaction:
                async with ctx.transaction():
                    await sub.handler(envelope, ctx)
                return Outcome.OK
            if await self._seen(sub.consumer, envelope.event_id):
                return Outcome.DUPLICATE  # skip the slow part of a redelivery
            await sub.handler(envelope, ctx)
            if not ctx.claimed:  # nothing to write: record the event all the same
                async with ctx.transaction():
                    pass
        except Duplicate:
            return Outcome.DUPLICATE
        return Outcome.OK

    async def _seen(self, consumer: str, event_id: UUID) -> bool:
        async with self.db.transaction() as conn:
            found = await conn.execute(inbox.SEEN, {"consumer": consumer, "event_id": event_id})
            return found.first() is not None

    async def apply_batch(
        self,
        sub: Subscription,
        envelopes: Sequence[EventEnvelope[Any]],
        subjects: Mapping[UUID, str | None] | None = None,
    ) -> list[Outcome]:
        """Apply ``envelopes`` in one transaction: OK for each new event, DUPLICATE for one the
        inbox already holds (or that appears twice in the batch). ``subjects``: the subject
        each arrived on, by event id (``EventContext.subjects``)."""
        assert sub.batch_handler is not None
        async with self.db.transaction() as conn:
            ids = [envelope.event_id for envelope in envelopes]
            result = await conn.execute(inbox.CLAIM_MANY, {"consumer": sub.consumer, "ids": ids})
            claimed = {row[0] for row in result}
            fresh: list[EventEnvelope[Any]] = []
            outcomes: list[Outcome] = []
            for envelope in envelopes:
                new = envelope.event_id in claimed
                claimed.discard(envelope.event_id)
                outcomes.append(Outcome.OK if new else Outcome.DUPLICATE)
                if new:
                    fresh.append(envelope)
            if not fresh:
                return outcomes
            ctx: EventContext[Any] = EventContext(
                state=self.state,
                schema=self.db.schema,
                connection=conn,
                channel="event",
                consumer=sub.consumer,  # no inbox claim in a batch's context (no ``event``)
                subjects=dict(subjects or {}),
                service=self.settings.service_name,
            )
            await sub.batch_handler(fresh, ctx)
        for callback in ctx.after_commit:
            callback()
        return outcomes

    async def apply_group(
        self, sub: Subscription, events: Sequence[tuple[EventEnvelope[Any], str | None]]
    ) -> list["Outcome | Exception"]:
        """Apply ``events`` (each with the subject it arrived on) in one transaction; if that
        fails for a reason other than an outage, each one again in its own, so one poison
        event fails alone. Each event's outcome, or the exception applying it raised."""
        envelopes = [envelope for envelope, _ in events]
        subjects = {envelope.event_id: subject for envelope, subject in events}
        try:
            return list(await self.apply_batch(sub, envelopes, subjects))
        except Exception as exc:
            if len(events) == 1 or is_outage(exc):
                return [exc] * len(events)
            log.warning(
                "consumer %s: a batch of %d failed (%r); applying its events one by one",
                sub.consumer,
                len(events),
                exc,
            )
        results: list[Outcome | Exception] = []
        for envelope, subject in events:
            try:
                (outcome,) = await self.apply_batch(sub, [envelope], {envelope.event_id: subject})
            except Exception as one:
                results.append(one)
            else:
                results.append(outcome)
        return results

    async def _dead_letter(
        self,
        sub: Subscription,
        body: bytes,
        headers: Mapping[str, str],
        deliveries: int,
        error: str,
    ) -> None:
        DEAD_LETTERS.labels(self.settings.service_name, sub.consumer).inc()
        event_id = headers.get(Headers.MSG_ID)
        payload = body.decode("utf-8", errors="replace")
        record = DeadLettered(
            consumer=sub.consumer,
            subject=sub.subject,
            event_id=event_id,
            error=error[:2000],
            deliveries=deliveries,
            payload=payload,
        )
        async with self.db.transaction() as conn:
            await write_dead_letter(conn, self.db.schema, record)


class _GroupCommit:
    """One batched subscription's queue: events submitted while a transaction runs are
    applied together in the next one, by a single drain task."""

    def __init__(self, processor: EventProcessor[Any], sub: Subscription) -> None:
        self.processor = processor
        self.sub = sub
        self._pending: list[_Waiting] = []
        self._drain_task: asyncio.Task[None] | None = None

    async def submit(self, envelope: EventEnvelope[Any], subject: str | None = None) -> Outcome:
        """Wait until ``envelope`` (arrived on ``subject``) is applied (or raise what applying
        it raised)."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._pending.append((envelope, subject, future))
        if self._drain_task is None:
            self._drain_task = asyncio.create_task(self._drain(), name=f"batch-{self.sub.consumer}")
        return await future

    async def _drain(self) -> None:
        batch: list[_Waiting] = []
        try:
            while self._pending:
                batch = self._pending[: self.sub.max_batch]
                del self._pending[: self.sub.max_batch]
                try:
                    await self._run(batch)
                except Exception as exc:  # a bug here must not leave deliveries waiting
                    log.exception("consumer %s: batch failed unexpectedly", self.sub.consumer)
                    for _, _, future in batch:
                        _settle(future, exc)
        except BaseException:  # cancelled (shutdown): so are the deliveries still waiting
            for _, _, future in [*batch, *self._pending]:
                if not future.done():
                    future.cancel()
            self._pending.clear()
            raise
        finally:
            self._drain_task = None

    async def _run(self, batch: list["_Waiting"]) -> None:
        results = await self.processor.apply_group(
            self.sub, [(envelope, subject) for envelope, subject, _ in batch]
        )
        for (_, _, future), result in zip(batch, results, strict=True):
            _settle(future, result)


_Waiting = tuple[EventEnvelope[Any], str | None, "asyncio.Future[Outcome]"]
"""An event submitted to a group commit: the envelope, the subject it arrived on, its outcome."""


def _settle(future: "asyncio.Future[Outcome]", result: "Outcome | BaseException") -> None:
    if future.done():  # its waiter was cancelled (shutdown)
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


def is_outage(exc: BaseException) -> bool:
    """True for failures of the infrastructure rather than of the message: the database
    connection is lost or refused, or a network call timed out."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError):
        return True
    if isinstance(exc, asyncpg.PostgresConnectionError | asyncpg.CannotConnectNowError):
        return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and is_outage(cause)


@cache
def envelope_model(subject: str) -> type[EventEnvelope[Any]]:
    """The envelope type of ``subject`` with its typed ``data`` (built once per subject)."""
    data_model: Any = EVENTS[subject].data
    model: type[EventEnvelope[Any]] = EventEnvelope[data_model]
    return model
