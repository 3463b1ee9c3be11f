"""Live pages: work-order events, heard by every replica, fanned out to each viewer's browser
as server-sent events filtered to the viewer's organization.

Each replica listens to the work-order events (a plain NATS subscription, like the gateway's
revocations) and keeps the newest ``WEB_LIVE_BUFFER`` of each organization in memory, numbered
``<replica boot id>.<sequence>``: the SSE event id. A browser that reconnects sends the last id
it saw (``Last-Event-ID``); the replica sends what came after it, or, when it no longer holds
that point (the id is another replica's or from before a restart, or older than the buffer), a
``resync`` event that makes the page read its data from the API again. Either way no change is
lost: the API is the source, the events only say when to look.
"""

import asyncio
import itertools
import secrets
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rivet_contracts import Events
from rivet_contracts.envelope import EventEnvelope
from rivet_contracts.workorders import OPEN_STATUSES

from .metrics import LIVE_CONNECTIONS, LIVE_EVENTS, LIVE_RESYNCS

LIVE_EVENTS_HEARD: tuple[str, ...] = (
    Events.WO_CREATED,
    Events.WO_STATUS_CHANGED,
    Events.WO_ASSIGNED,
    Events.WO_COMMENTED,
    Events.WO_UPDATED,
)
"""The events live pages follow (each carries the order as it is after the change)."""

KEEPALIVE = 15.0
RETRY_MS = 500
"""How soon a browser reconnects after a dropped connection (the SSE ``retry`` field)."""


@dataclass(frozen=True)
class Change:
    seq: int
    type: str
    order: dict[str, Any]
    """The order's fields a card shows (from the event's snapshot)."""


def card_fields(data: dict[str, Any]) -> dict[str, Any]:
    """What a board card shows, from an event snapshot or an API work-order view."""
    equipment = data.get("equipment")
    if isinstance(equipment, dict):
        number, name = equipment.get("number"), equipment.get("name")
    else:
        number, name = data.get("equipment_number"), data.get("equipment_name")
    due = data.get("due_at")
    due_at = datetime.fromisoformat(due) if isinstance(due, str) else due
    status = str(data.get("status"))
    overdue = data.get("overdue")
    if overdue is None:
        overdue = bool(due_at and status in OPEN_STATUSES and due_at < datetime.now(UTC))
    return {
        "number": str(data.get("number")),
        "title": str(data.get("title")),
        "status": status,
        "priority": str(data.get("priority")),
        "due_at": due_at,
        "overdue": bool(overdue),
        "equipment": f"{number} {name}" if name else str(number),
    }


@dataclass
class OrgFeed:
    changes: deque[Change]
    dropped_through: int = 0
    """The sequence of the newest change no longer held (0: none dropped)."""
    listeners: set[asyncio.Queue[Change]] = field(default_factory=set)


class LiveHub:
    def __init__(self, buffer: int) -> None:
        self.buffer = buffer
        self.boot = secrets.token_hex(4)
        self._seq = itertools.count(1)
        self._feeds: dict[str, OrgFeed] = {}

    def _feed(self, org_id: str) -> OrgFeed:
        feed = self._feeds.get(org_id)
        if feed is None:
            feed = self._feeds[org_id] = OrgFeed(deque())
        return feed

    def event_id(self, change: Change) -> str:
        return f"{self.boot}.{change.seq}"

    async def on_event(self, envelope: EventEnvelope[Any]) -> None:
        """A listener of the runtime: every work-order event of every organization."""
        if envelope.org_id is None:
            return
        data = (
            envelope.data
            if isinstance(envelope.data, dict)
            else envelope.data.model_dump(mode="json")
        )
        self.publish(str(envelope.org_id), envelope.type, data)

    def publish(self, org_id: str, type_: str, data: dict[str, Any]) -> Change:
        change = Change(next(self._seq), type_, card_fields(data))
        feed = self._feed(org_id)
        feed.changes.append(change)
        while len(feed.changes) > self.buffer:
            feed.dropped_through = feed.changes.popleft().seq
        for queue in feed.listeners:
            queue.put_nowait(change)
        return change

    def missed(self, org_id: str, last_event_id: str | None) -> list[Change] | None:
        """The changes after ``last_event_id`` (none given: none), or None when they are no
        longer all held here (the page must read its data again)."""
        if not last_event_id:
            return []
        boot, _, seq = last_event_id.partition(".")
        if boot != self.boot or not seq.isdigit():
            return None
        last = int(seq)
        feed = self._feed(org_id)
        if last < feed.dropped_through:
            return None
        return [c for c in feed.changes if c.seq > last]

    async def follow(
        self, org_id: str, last_event_id: str | None
    ) -> AsyncIterator[tuple[str, Change | None]]:
        """("change", change) for each change from ``last_event_id`` on, ("resync", None) when
        the missed ones are not held, ("keepalive", None) every ``KEEPALIVE`` seconds."""
        feed = self._feed(org_id)
        queue: asyncio.Queue[Change] = asyncio.Queue()
        feed.listeners.add(queue)  # before the replay: nothing falls between the two
        LIVE_CONNECTIONS.inc()
        try:
            missed = self.missed(org_id, last_event_id)
            sent = 0
            if missed is None:
                LIVE_RESYNCS.inc()
                yield "resync", None
            else:
                for change in missed:
                    sent = change.seq
                    LIVE_EVENTS.inc()
                    yield "change", change
            while True:
                try:
                    change = await asyncio.wait_for(queue.get(), KEEPALIVE)
                except TimeoutError:
                    yield "keepalive", None
                    continue
                if change.seq <= sent:
                    continue
                LIVE_EVENTS.inc()
                yield "change", change
        finally:
            feed.listeners.discard(queue)
            LIVE_CONNECTIONS.dec()
