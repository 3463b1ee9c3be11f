"""What a handler gets: the open transaction, the caller, and a way to emit events."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts import (
    Actor,
    ActorKind,
    ErrorCode,
    EventData,
    EventEnvelope,
    Identity,
    ServiceError,
)
from rivet_contracts.catalog import EVENTS

from .outbox import write_event

StateT = TypeVar("StateT")


@dataclass
class UnitOfWork(Generic[StateT]):
    """One transaction and the service's shared state, for one request or one message.

    Events emitted here are written to the outbox in the same transaction; they leave the
    service only after it commits.
    """

    conn: AsyncConnection
    schema: str
    state: StateT
    correlation_id: str | None = None
    channel: str = "api"
    emitted: list[EventEnvelope[Any]] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    """Side effects to run once the transaction has committed (never on rollback)."""

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


@dataclass
class RequestContext(UnitOfWork[StateT]):
    """A unit of work for a request; ``identity`` is the verified caller, if any."""

    identity: Identity | None = None

    def actor(self) -> Actor | None:
        if self.identity is None:
            return Actor(kind=ActorKind.SYSTEM, channel=self.channel)
        return Actor(user_id=self.identity.user_id, channel=self.channel)

    @property
    def caller(self) -> Identity:
        """The caller; raises ``unauthorized`` for an anonymous request."""
        if self.identity is None:
            raise ServiceError(ErrorCode.UNAUTHORIZED, "authentication required")
        return self.identity


@dataclass
class EventContext(UnitOfWork[StateT]):
    """A unit of work for an event; ``event`` is the envelope being handled."""

    event: EventEnvelope[Any] | None = None

    def actor(self) -> Actor | None:
        # Follow-up events are caused by the same actor as the event handled.
        return self.event.actor if self.event is not None else super().actor()
