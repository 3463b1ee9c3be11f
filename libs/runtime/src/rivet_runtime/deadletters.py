"""Writing a dead letter: the ``dead_letters`` row and its ``deadletter.<consumer>``
announcement, in the caller's transaction."""

from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts import EventEnvelope, Events
from rivet_contracts.base import DeadLettered

from .outbox import write_event

_DEAD = text(
    "INSERT INTO dead_letters (consumer, subject, event_id, payload, error, deliveries) "
    "VALUES (:consumer, :subject, :event_id, :payload, :error, :deliveries)"
)


async def write_dead_letter(conn: AsyncConnection, schema: str, record: DeadLettered) -> None:
    """Store ``record`` and announce it (through the outbox) in the open transaction."""
    await conn.execute(
        _DEAD, record.model_dump(exclude={"event_id"}) | {"event_id": record.event_id}
    )
    await write_event(
        conn,
        schema,
        EventEnvelope(
            type=f"{Events.DEAD_LETTER}.{record.consumer}",
            org_id=None,
            correlation_id=_uuid_or_none(record.event_id),
            data=record,
        ),
    )


def _uuid_or_none(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(UUID(value))
    except ValueError:
        return None
