"""Events as the services publish them, and reading a stream whole: shared by the exporter's
tests and the deployment tests of the integration credentials (tests/deploy)."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from rivet_contracts import EventEnvelope, Events, Headers
from rivet_contracts.catalog import EVENTS


def _data(subject: str, org: UUID) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    ids = {name: str(uuid4()) for name in ("user", "equipment", "order", "scan", "plan", "meter")}
    samples: dict[str, dict[str, Any]] = {
        Events.USER_REGISTERED: {
            "user_id": ids["user"],
            "org_id": str(org),
            "organization_name": "Plant",
            "email": "ana@example.com",
            "full_name": "Ana Lima",
            "role": "admin",
        },
        Events.USER_PASSWORD_CHANGED: {"user_id": ids["user"], "org_id": str(org), "how": "reset"},
        Events.USER_SESSIONS_REVOKED: {
            "user_id": ids["user"],
            "org_id": str(org),
            "session_id": None,
            "revoked_at": now,
            "reason": "password",
        },
        Events.EQUIPMENT_CREATED: {
            "equipment_id": ids["equipment"],
            "number": "EQ-0001",
            "manufacturer": "Grundfos",
            "source": "api",
        },
        Events.EQUIPMENT_UPDATED: {
            "equipment_id": ids["equipment"],
            "number": "EQ-0001",
            "manufacturer": "Grundfos",
            "changed": ["name"],
        },
        Events.WO_CREATED: {
            "work_order_id": ids["order"],
            "number": "WO-0001",
            "title": "Replace the seal",
            "status": "open",
            "priority": "high",
            "work_type": "corrective",
            "equipment_id": ids["equipment"],
            "equipment_number": "EQ-0001",
            "due_at": now,
            "created_at": now,
            "version": 1,
        },
        Events.NAMEPLATE_SCANNED: {
            "scan_id": ids["scan"],
            "manufacturer": "Grundfos",
            "model": "CR 10-4",
            "serial": "A1234",
        },
        Events.PLAN_CREATED: {
            "plan_id": ids["plan"],
            "equipment_id": ids["equipment"],
            "title": "Monthly check",
            "status": "active",
            "priority": "medium",
            "work_type": "preventive",
            "trigger": {"kind": "calendar"},
            "version": 1,
            "author_id": ids["user"],
        },
        Events.METER_READING_RECORDED: {
            "reading_id": 1,
            "meter_id": ids["meter"],
            "equipment_id": ids["equipment"],
            "kind": "counter",
            "unit": "h",
            "value": 12.5,
            "read_at": now,
            "source": "api",
        },
    }
    return samples[subject]


EXPORTED_KINDS = (
    Events.USER_REGISTERED,
    Events.EQUIPMENT_CREATED,
    Events.WO_CREATED,
    Events.NAMEPLATE_SCANNED,
    Events.PLAN_CREATED,
    Events.METER_READING_RECORDED,
)
"""An exported event of each exported stream."""
INTERNAL_KINDS = (Events.USER_PASSWORD_CHANGED, Events.USER_SESSIONS_REVOKED)


@dataclass(frozen=True)
class Published:
    subject: str
    event_id: UUID
    org_id: UUID | None
    body: bytes


def envelope(subject: str, org: UUID, *, with_org: bool = True) -> Published:
    """The bytes a service's outbox publishes for ``subject`` (validated by its contract)."""
    data = EVENTS[subject].data.model_validate(_data(subject, org))
    event = EventEnvelope[Any](type=subject, org_id=org if with_org else None, data=data)
    body = event.model_dump_json().encode()
    return Published(subject, event.event_id, event.org_id, body)


async def publish(js: JetStreamContext, prefix: str, event: Published) -> None:
    """Publish as the outbox relay does (``prefix``: the namespace's subject prefix)."""
    await js.publish(
        prefix + event.subject, event.body, headers={Headers.MSG_ID: str(event.event_id)}
    )


@dataclass(frozen=True)
class Stored:
    subject: str
    msg_id: str | None
    body: bytes


async def read_stream(js: JetStreamContext, stream: str) -> list[Stored] | None:
    """Every message of ``stream`` in order (None: no such stream)."""
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        return None
    found: list[Stored] = []
    if not info.state.messages:  # just created, still empty
        return found
    for seq in range(max(info.state.first_seq, 1), info.state.last_seq + 1):
        try:
            msg = await js.get_msg(stream, seq)
        except NotFoundError:
            continue
        headers = msg.headers or {}
        found.append(Stored(msg.subject, headers.get(Headers.MSG_ID), msg.data or b""))
    return found


def event_ids(stored: list[Stored]) -> list[str]:
    return [str(json.loads(s.body)["event_id"]) for s in stored]
