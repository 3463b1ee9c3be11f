"""What a handler gets: its unit of work (a transaction), the caller, and a way to emit events.

Most handlers run inside one transaction that the runtime opens around them: ``ctx.conn`` is
its connection, and everything they write and emit commits together or not at all. A handler
whose work includes slow I/O - a request to another service, the object store, OCR, reading an
upload - is registered with ``own_transaction=True`` and opens its unit of work itself::

    async with ctx.reading() as conn:                # short: is there work at all?
        ...
    photo = await ctx.state.photos.get(key)          # slow: no connection held
    fields = await run_ocr(photo)                    # slow: no locks held
    async with ctx.transaction():                    # short: lock, check again, write, emit
        ...

so the slow part holds neither a pooled connection nor a row lock. ``ctx.conn`` outside a
transaction is an error, not a silent autocommit.
"""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts import (
    Actor,
    ActorKind,
    ErrorCode,
    EventData,
    EventEnvelope,
    Identity,
    Request,
    ServiceError,
)
from rivet_contracts.base import DeadLettered
from rivet_contracts.catalog import EVENTS, RpcSpec

from . import inbox
from .db import Database
from .deadletters import write_dead_letter
from .metrics import DEAD_LETTERS
from .outbox import write_event, write_events

if TYPE_CHECKING:
    from .client import RpcClient

StateT = TypeVar("StateT")
RequestT = TypeVar("RequestT", bound=Request)
ReplyT = TypeVar("ReplyT", bound=BaseModel)


class Duplicate(Exception):
    """The event was applied before: its inbox row exists. The runtime acknowledges it."""


@dataclass
class UnitOfWork(Generic[StateT]):
    """One request's or one message's work, the service's shared state, and the transaction
    it runs in (opened by the runtime, or by the handler through ``transaction()``).

    Events emitted are written to the outbox in the same transaction; they leave the service
    only after it commits. ``after_commit`` callbacks run once it has committed (never on
    rollback).
    """

    state: StateT
    schema: str
    db: Database | None = None
    """Where ``transaction()`` takes its connection (None: only ``connection`` is usable)."""
    connection: AsyncConnection | None = None
    """The connection of the open transaction, if any (see ``conn``)."""
    correlation_id: str | None = None
    channel: str = "api"
    emitted: list[EventEnvelope[Any]] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    """Side effects to run once the transaction has committed (never on rollback)."""
    commits: int = 0
    """How many of its transactions have committed."""

    @property
    def conn(self) -> AsyncConnection:
        """The open transaction's connection."""
        if self.connection is None:
            raise RuntimeError("no transaction is open: use `async with ctx.transaction()`")
        return self.connection

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """Open this unit of work's transaction: committed when the block ends, rolled back if
        it raises; then the ``after_commit`` callbacks run."""
        if self.connection is not None:
            raise RuntimeError("a transaction is already open")
        if self.db is None:
            raise RuntimeError("this context has no database to open a transaction in")
        async with self.db.transaction() as conn:
            self.connection = conn
            try:
                await self._began(conn)
                yield conn
            finally:
                self.connection = None
        self.commits += 1
        callbacks, self.after_commit = self.after_commit, []
        for callback in callbacks:
            callback()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A short look at the database outside the unit of work, to decide before the slow
        part whether there is work at all (a replica row, a scan's status). Not for writes:
        what matters is checked again inside ``transaction()``."""
        if self.db is None:
            raise RuntimeError("this context has no database to read from")
        async with self.db.read() as conn:
            yield conn

    async def _began(self, conn: AsyncConnection) -> None:
        """Hook: what goes first in every transaction of this kind of work."""

    def actor(self) -> Actor | None:
        return Actor(kind=ActorKind.SYSTEM, channel=self.channel)

    async def emit(self, subject: str, data: EventData, *, org_id: UUID | None) -> None:
        """Record a domain event; it is published after this unit of work commits."""
        spec = EVENTS.get(subject)
        if spec is None or not isinstance(data, spec.data):
            raise TypeError(f"{type(data).__name__} is not the contract of {subject!r}")
        envelope: EventEnvelope[Any] = EventEnvelope(
            type=subject,
            org_id=org_id,
            actor=self.actor(),
            correlation_id=self.correlation_id,
            data=data,
        )
        await write_event(self.conn, self.schema, envelope)
        self.emitted.append(envelope)

    async def emit_many(
        self,
        subject: str,
        events: Sequence[tuple[EventData, UUID | None]],
        *,
        causes: Sequence[EventEnvelope[Any] | None] | None = None,
    ) -> None:
        """Record several events of one subject in one statement (a batch's follow-ups):
        ``events`` are (data, org_id); ``causes``, one per event where given, are the events
        that caused them, whose actor and correlation id they carry (as ``emit`` does for the
        event of an ``EventContext``)."""
        spec = EVENTS.get(subject)
        if spec is None:
            raise TypeError(f"{subject!r} is not in the contract catalogue")
        envelopes: list[EventEnvelope[Any]] = []
        for n, (data, org_id) in enumerate(events):
            if not isinstance(data, spec.data):
                raise TypeError(f"{type(data).__name__} is not the contract of {subject!r}")
            cause = causes[n] if causes is not None else None
            actor, correlation = self.actor(), self.correlation_id
            if cause is not None:
                actor, correlation = cause.actor, cause.correlation_id
            envelopes.append(
                EventEnvelope(
                    type=subject, org_id=org_id, actor=actor, correlation_id=correlation, data=data
                )
            )
        await write_events(self.conn, self.schema, envelopes)
        self.emitted.extend(envelopes)


@dataclass
class RequestContext(UnitOfWork[StateT]):
    """A unit of work for a request; ``identity`` is the verified caller, if any. A handler
    that opens its own transactions may open several, one after the other."""

    identity: Identity | None = None
    client: "RpcClient | None" = None
    """Where ``call`` sends requests to other services."""
    rpc_timeout: float = 5.0

    async def call(self, spec: RpcSpec[RequestT, ReplyT], request: RequestT) -> ReplyT:
        """Ask another service as this request's caller (same identity, correlation id and
        channel: the other service applies its own role checks and organization scope). The
        reply, typed from the catalogue, or ``ServiceError`` with the other service's error.
        Slow: call it outside a transaction."""
        from .client import CallMeta  # the client module imports the request runtime

        if self.client is None:
            raise RuntimeError("this context has no client to call other services with")
        meta = CallMeta(self.identity, self.correlation_id, self.channel)
        return await self.client.call(spec, request, meta, timeout=self.rpc_timeout)

    def actor(self) -> Actor | None:
        if self.identity is None:
            return Actor(kind=ActorKind.SYSTEM, channel=self.channel)
        return Actor(kind=self.identity.kind, user_id=self.identity.user_id, channel=self.channel)

    @property
    def caller(self) -> Identity:
        """The caller; raises ``unauthorized`` for an anonymous request."""
        if self.identity is None:
            raise ServiceError(ErrorCode.UNAUTHORIZED, "authentication required")
        return self.identity


@dataclass
class EventContext(UnitOfWork[StateT]):
    """A unit of work for an event; ``event`` is the envelope being handled.

    With ``consumer`` set, the transaction records the event in that consumer's inbox first,
    and raises ``Duplicate`` when it is already there: the changes and the inbox row commit
    together. So an event gets one transaction: a second would be a second unit of work that
    the inbox could not guard.
    """

    event: EventEnvelope[Any] | None = None
    consumer: str | None = None
    claimed: bool = False
    """True once a transaction of this event has begun (and claimed its inbox row)."""
    subject: str | None = None
    """The subject the message arrived on, without the namespace (for a subscription to a
    wildcard subject, such as ``reading.submitted.<org_id>``; None in a batch)."""
    subjects: dict[UUID, str | None] = field(default_factory=dict)
    """In a batch (``EventRouter.on_many``): the subject each event arrived on, by event id,
    without the namespace."""
    service: str | None = None
    """The service's name, for the dead letters' metric (``dead_letter``)."""

    def actor(self) -> Actor | None:
        # Follow-up events are caused by the same actor as the event handled.
        return self.event.actor if self.event is not None else super().actor()

    async def dead_letter(
        self, event: EventEnvelope[Any], *, subject: str, error: str, payload: str
    ) -> None:
        """Dead-letter part of ``event`` in this unit of work, committed with the rest of it:
        what a handler refuses of a message whose other parts it applies (the readings of a
        machine's batch that cannot be recorded). Announced as ``deadletter.<consumer>`` like
        any dead letter; ``payload``: the refused part, ``error``: why."""
        if self.consumer is None:
            raise RuntimeError("a dead letter needs the consumer's name")
        record = DeadLettered(
            consumer=self.consumer,
            subject=subject,
            event_id=str(event.event_id),
            error=error[:2000],
            deliveries=1,
            payload=payload,
        )
        await write_dead_letter(self.conn, self.schema, record)
        if self.service is not None:
            self.after_commit.append(DEAD_LETTERS.labels(self.service, self.consumer).inc)

    async def _began(self, conn: AsyncConnection) -> None:
        if self.consumer is None or self.event is None:
            return
        if self.claimed:
            raise RuntimeError("one transaction per event: its changes go with its inbox row")
        self.claimed = True
        result = await conn.execute(
            inbox.CLAIM, {"consumer": self.consumer, "event_id": self.event.event_id}
        )
        if result.rowcount == 0:
            raise Duplicate(f"{self.consumer} applied {self.event.event_id} before")
