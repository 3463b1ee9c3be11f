"""What the exporter does with one event of a domain stream: copy it, or why not. Pure."""

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, ValidationError

from rivet_contracts.catalog import EVENTS
from rivet_contracts.streams import StreamSpec, org_stream, org_subject


class Skip(StrEnum):
    """Why an event is not copied (the ``result`` label of the exporter's metrics)."""

    INTERNAL = "internal"
    """``EventSpec.exported`` is False, or the subject is not in the catalogue."""
    NO_ORGANIZATION = "no_organization"
    UNREADABLE = "unreadable"
    """Not an event envelope with an event id."""


class _Head(BaseModel):
    """The two fields of an envelope the exporter reads; the rest passes through untouched."""

    model_config = ConfigDict(extra="ignore")

    event_id: UUID
    org_id: UUID | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class Copy:
    """Where an event goes: ``subject`` of ``stream``, with ``Nats-Msg-Id`` = ``event_id``."""

    org_id: UUID
    event_id: UUID
    subject: str
    stream: StreamSpec
    event_type: str = ""
    occurred_at: datetime | None = None


def route(subject: str, body: bytes) -> Copy | Skip:
    """``subject``: the event's subject without the deployment's namespace."""
    spec = EVENTS.get(subject)
    if spec is None or not spec.exported:
        return Skip.INTERNAL
    try:
        head = _Head.model_validate_json(body)
    except ValidationError:
        return Skip.UNREADABLE
    if head.org_id is None:
        return Skip.NO_ORGANIZATION
    occurred = head.occurred_at
    if occurred is not None and occurred.tzinfo is None:
        occurred = occurred.replace(tzinfo=UTC)
    return Copy(
        head.org_id,
        head.event_id,
        org_subject(head.org_id, subject),
        org_stream(head.org_id),
        subject,
        occurred,
    )
