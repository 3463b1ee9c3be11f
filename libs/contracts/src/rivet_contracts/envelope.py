"""The envelope around every domain event on JetStream."""

from datetime import UTC, datetime
from typing import Generic, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from .identity import Actor

DataT = TypeVar("DataT")


def _now() -> datetime:
    return datetime.now(UTC)


class EventEnvelope(BaseModel, Generic[DataT]):
    """A domain event as published on JetStream.

    ``event_id`` is also sent as the ``Nats-Msg-Id`` header, so JetStream drops a re-publish of
    the same event, and consumers record it in their inbox so they apply it once.
    """

    model_config = ConfigDict(extra="ignore")

    event_id: UUID = Field(default_factory=uuid4, description="Unique id; the `Nats-Msg-Id`.")
    type: str = Field(description="Event type, equal to its subject, e.g. `user.registered`.")
    schema_version: int = Field(default=1, description="Version of the `data` schema.")
    occurred_at: datetime = Field(default_factory=_now, description="When the change committed.")
    org_id: UUID | None = Field(description="Organization the event belongs to.")
    actor: Actor | None = Field(default=None, description="Who caused the change.")
    correlation_id: str | None = Field(
        default=None, description="Id of the request, scan or job that caused the change."
    )
    data: DataT = Field(description="The event's payload; its schema depends on `type`.")
