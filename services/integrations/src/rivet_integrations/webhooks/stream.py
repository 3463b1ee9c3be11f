"""Reading an organization's stream for webhooks: where it ends, one event by sequence (a
redelivery), the events of a time range (a replay), and the reader of one endpoint's cursor.

The stream is ``ORG_<org id hex>`` (subjects ``org.<org_id>.<event type>``), filled by the
exporter (docs/adr/0012-per-organization-event-streams.md). Readers are ephemeral pull
consumers without acknowledgements (``AckPolicy.NONE``): where an endpoint is in the stream is
kept by the service (``webhook_cursors``), not by JetStream.
"""

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from rivet_contracts import Headers
from rivet_contracts.streams import org_stream, org_subject

from ..settings import IntegrationsSettings
from .repository import EventRow

log = logging.getLogger(__name__)

IDLE = 30.0
"""Seconds an abandoned reader (its replica died) lives on in NATS."""
LATE = timedelta(hours=1)
"""How long after ``until`` a replay still reads the stream: an event is stored there some
time after it occurred (the exporter's delay, longer after an outage)."""
MAX_REPLAY = 100_000
"""Events of the stream a replay reads at most."""


class TooMany(Exception):
    """A replay's range holds more events of the stream than ``MAX_REPLAY``."""


@dataclass(frozen=True)
class Where:
    """An organization's stream as this deployment names it."""

    stream: str
    prefix: str
    """Subject prefix of its events: ``<namespace.>org.<org_id>.``."""

    @classmethod
    def of(cls, settings: IntegrationsSettings, org_id: UUID) -> "Where":
        return cls(
            settings.stream_name(org_stream(org_id).name),
            settings.subject(org_subject(org_id, "")),
        )

    def event_type(self, msg: Msg) -> str:
        return msg.subject[len(self.prefix) :] if msg.subject.startswith(self.prefix) else ""


def event_id(msg: Msg) -> UUID | None:
    """``Nats-Msg-Id`` is the event id (the exporter sets it); the envelope if it is missing."""
    header = (msg.headers or {}).get(Headers.MSG_ID)
    try:
        if header:
            return UUID(header)
        return UUID(json.loads(msg.data)["event_id"])
    except (ValueError, KeyError, TypeError):
        return None


def occurred_at(body: bytes) -> datetime | None:
    try:
        found = datetime.fromisoformat(json.loads(body)["occurred_at"])
    except (ValueError, KeyError, TypeError):
        return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


async def end(js: JetStreamContext, where: Where) -> int:
    """The sequence of the stream's last event (0: no stream yet, or empty)."""
    try:
        info = await js.stream_info(where.stream)
    except NotFoundError:
        return 0
    return int(info.state.last_seq)


async def one(js: JetStreamContext, where: Where, org_id: UUID, seq: int) -> EventRow | None:
    """The event at ``seq`` (None: no longer kept)."""
    try:
        msg = await js.get_msg(where.stream, seq)
    except NotFoundError:
        return None
    found = event_id(msg)  # type: ignore[arg-type]
    if found is None or not msg.data:
        return None
    event_type = msg.subject[len(where.prefix) :] if msg.subject else ""
    occurred = occurred_at(msg.data) or datetime.now(UTC)
    return EventRow(found, org_id, event_type, occurred, msg.data)


async def reader(
    js: JetStreamContext, where: Where, start: int
) -> JetStreamContext.PullSubscription | None:
    """A reader of the stream from sequence ``start`` on (None: no stream yet)."""
    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=max(start, 1),
        inactive_threshold=IDLE,
        mem_storage=True,
    )
    return await _reader(js, where, config)


async def _reader(
    js: JetStreamContext, where: Where, config: ConsumerConfig
) -> JetStreamContext.PullSubscription | None:
    config.filter_subject = where.prefix + ">"
    try:
        return await js.pull_subscribe(where.prefix + ">", stream=where.stream, config=config)
    except NotFoundError:
        return None


async def close(js: JetStreamContext, where: Where, sub: JetStreamContext.PullSubscription) -> None:
    """Stop reading and delete the reader (best effort: an abandoned one expires)."""
    name = getattr(sub, "_consumer", None)
    try:
        await sub.unsubscribe()
        if name:
            await js.delete_consumer(where.stream, name)
    except Exception as exc:  # NATS away: it expires by itself
        log.debug("reader %s of %s not deleted: %r", name, where.stream, exc)


async def fetch(sub: JetStreamContext.PullSubscription, room: int, wait: float) -> list[Msg]:
    """Up to ``room`` events there now; if there are none, the first that comes within
    ``wait`` seconds (a batch of one: a larger pull would wait to fill up)."""
    try:
        return await sub.fetch(room, timeout=0.05)
    except (TimeoutError, nats.errors.TimeoutError):
        pass
    try:
        return await sub.fetch(1, timeout=wait)
    except (TimeoutError, nats.errors.TimeoutError):
        return []


async def between(
    js: JetStreamContext, where: Where, org_id: UUID, since: datetime, until: datetime
) -> list[EventRow]:
    """The events of the stream that occurred in [since, until), read from where the stream
    stored them around ``since`` until it stored one ``LATE`` after ``until`` (or its end)."""
    last = await end(js, where)
    if not last:
        return []
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    try:  # a minute early (clocks), never before 1970
        start = max(since - timedelta(minutes=1), epoch)
    except OverflowError:
        start = epoch
    try:
        late: datetime | None = until + LATE
    except OverflowError:
        late = None
    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE,
        deliver_policy=DeliverPolicy.BY_START_TIME,
        opt_start_time=start,
        inactive_threshold=IDLE,
        mem_storage=True,
    )
    sub = await _reader(js, where, config)
    if sub is None:
        return []
    found: list[EventRow] = []
    read = 0
    try:
        while True:
            try:
                msgs = await sub.fetch(256, timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                return found  # the end of the stream
            for msg in msgs:
                read += 1
                if read > MAX_REPLAY:
                    raise TooMany
                meta = msg.metadata
                stored = meta.timestamp
                if stored is not None and late is not None and stored > late:
                    return found
                occurred = occurred_at(msg.data)
                found_id = event_id(msg)
                if occurred is not None and found_id is not None and since <= occurred < until:
                    found.append(
                        EventRow(found_id, org_id, where.event_type(msg), occurred, msg.data)
                    )
                if meta.sequence.stream >= last:
                    return found
    finally:
        await close(js, where, sub)
