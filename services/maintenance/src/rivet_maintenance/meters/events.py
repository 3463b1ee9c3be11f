"""Readings sent by machines on ``reading.submitted.<org_id>``, one a message, and on
``reading.batch_submitted.<org_id>``, up to 500 a message (stream READINGS).

Each message is an event envelope (``rivet_contracts.maintenance.ReadingSubmitted``) applied
once (the inbox), like any event. The organization is the subject's: NATS permissions let a
machine publish on its organization's subject only, and an envelope naming another
organization is refused. A reading that can never be recorded - the subject and the envelope
disagree, an unknown meter or another organization's, a counter going back, a time in the
future - is refused with its reason and dead-lettered at once (``Refused``): never retried,
never a crash. An envelope that does not parse (a missing field, a value that is not a finite
number, a time without a zone) is dead-lettered by the runtime the same way.

Readings are applied by group commit (``EventRouter.on_many``): those that arrive while one
transaction runs are recorded together in the next, each as if alone (``readings.record_many``),
in a few statements for the whole batch. A batch with a refused reading is rolled back and
applied again reading by reading by the runtime, so only the refused one is dead-lettered.

A batch message (``ReadingBatchSubmitted``: a PLC gateway's or a SCADA historian's readings)
is one event for the inbox and the acknowledgement: applied whole or not at all. Its readings
are recorded each as if alone, in the message's order; those refused (one that does not
parse, an unknown meter, a counter going back, a time in the future) are left out and
dead-lettered together, in the same transaction, with each one's position and reason; the
recorded ones are announced in one ``meter.readings_recorded``. Several batch messages that
arrive together are applied in one transaction, like single readings.
"""

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from rivet_contracts import EventEnvelope, Events
from rivet_contracts.maintenance import (
    READING_BATCH_SUBJECT_PREFIX,
    READING_SUBJECT_PREFIX,
    ReadingBatchSubmitted,
    ReadingSubmitted,
)
from rivet_runtime import EventContext, EventRouter, Refused

from ..metrics import READINGS, REFUSED
from ..plans.views import decimal
from ..schedule.errors import ScheduleError
from ..state import MaintenanceState
from . import readings

router: EventRouter[MaintenanceState] = EventRouter()

SOURCE = "device"
BATCH_METRIC = "device_batch"
"""The ``source`` label of the readings metrics for batch messages' readings (stored, like
single machine readings, with the source ``device``)."""
CONSUMER = "maintenance-readings"
MAX_BATCH = 256
"""Readings in one transaction at most."""
AHEAD = 512
"""Readings asked of JetStream ahead of the handler per process (the runtime's own pull loop,
ADR 0011): the next batch gathers while one is written."""
BATCH_CONSUMER = "maintenance-reading-batches"
MAX_BATCH_MESSAGES = 40
"""Batch messages in one transaction at most (each up to 500 readings): under a backlog a
transaction's cost per meter (locked, updated, its plans looked up) is shared by more
readings."""
BATCH_AHEAD = 80
"""Batch messages asked of JetStream ahead of the handler per process."""


def subject_org(subject: str | None, prefix: str = READING_SUBJECT_PREFIX) -> UUID | None:
    """The organization a reading's subject names (``reading.submitted.<org_id>``, or with
    ``prefix`` ``reading.batch_submitted.<org_id>``)."""
    prefix += "."
    if subject is None or not subject.startswith(prefix):
        return None
    try:
        return UUID(subject[len(prefix) :])
    except ValueError:
        return None


@router.on_many(Events.READING_SUBMITTED, consumer=CONSUMER, max_batch=MAX_BATCH, fetch=AHEAD)
async def readings_submitted(
    events: Sequence[EventEnvelope[Any]], ctx: EventContext[MaintenanceState]
) -> None:
    """The readings that arrived while the previous batch was being written, in one
    transaction (group commit); the runtime applies a refused batch again reading by reading,
    so the refused one is dead-lettered alone and the others are recorded."""
    batch: list[readings.Reading] = []
    for event in events:
        data: ReadingSubmitted = event.data
        subject = ctx.subjects.get(event.event_id)
        org_id = subject_org(subject)
        if org_id is None or event.org_id != org_id:
            if len(events) == 1:  # counted once (see below)
                _refused("wrong_organization")
            raise Refused(
                "wrong_organization",
                f"the envelope's organization {event.org_id} is not the subject's {subject}",
            )
        batch.append(
            readings.Reading(org_id, data.meter_id, decimal(data.value), data.read_at, SOURCE)
        )
    try:
        await readings.record_many(ctx, batch, ctx.state.clock.now(), causes=events)
    except ScheduleError as exc:
        if len(batch) == 1:  # counted once: a batch refused is applied again reading by reading
            _refused(exc.reason)
        raise Refused(exc.reason, exc.message) from exc
    ctx.after_commit.append(lambda: READINGS.labels(SOURCE, "recorded").inc(len(batch)))


@router.on_many(
    Events.READING_BATCH_SUBMITTED,
    consumer=BATCH_CONSUMER,
    max_batch=MAX_BATCH_MESSAGES,
    fetch=BATCH_AHEAD,
)
async def reading_batches_submitted(
    events: Sequence[EventEnvelope[Any]], ctx: EventContext[MaintenanceState]
) -> None:
    """Machines' batch messages that arrived together, in one transaction: each message's
    readings recorded or refused one by one, its refused ones dead-lettered together (see
    the module). A message of the wrong organization is refused whole (the runtime applies
    the others again without it)."""
    batches: list[readings.Batch] = []
    for event in events:
        data: ReadingBatchSubmitted = event.data
        subject = ctx.subjects.get(event.event_id)
        org_id = subject_org(subject, READING_BATCH_SUBJECT_PREFIX)
        if org_id is None or event.org_id != org_id:
            if len(events) == 1:  # counted once: applied again alone after this
                sent = len(data.readings) + len(data.unreadable)
                _refused("wrong_organization", sent, BATCH_METRIC)
            raise Refused(
                "wrong_organization",
                f"the envelope's organization {event.org_id} is not the subject's {subject}",
            )
        batch = [
            readings.Reading(org_id, r.meter_id, decimal(r.value), r.read_at, SOURCE)
            for r in data.readings
        ]
        if event.correlation_id is None:  # the event names the message it announces
            event = event.model_copy(update={"correlation_id": str(event.event_id)})
        batches.append(readings.Batch(batch, event, data.device, unreadable=len(data.unreadable)))
    results = await readings.record_batches(ctx, batches, ctx.state.clock.now())
    recorded = 0
    reasons: list[str] = []
    for event, outcome in zip(events, results, strict=True):
        data = event.data
        refused: list[tuple[int, Any, str, str]] = [
            (u.index, u.reading, "unreadable", u.message) for u in data.unreadable
        ]
        for position, result in zip(data.positions, outcome, strict=True):
            if isinstance(result, ScheduleError):
                refused.append((position, data.sent(position), result.reason, result.message))
            else:
                recorded += 1
        if refused:
            refused.sort(key=lambda r: r[0])
            reasons += [reason for _, _, reason, _ in refused]
            await ctx.dead_letter(
                event,
                subject=Events.READING_BATCH_SUBMITTED,
                error=_refusals(refused, len(data.readings) + len(data.unreadable)),
                payload=_refused_part(event, data, refused),
            )

    def count() -> None:
        READINGS.labels(BATCH_METRIC, "recorded").inc(recorded)
        for reason in reasons:
            _refused(reason, source=BATCH_METRIC)

    ctx.after_commit.append(count)


def _refusals(refused: list[tuple[int, Any, str, str]], sent: int) -> str:
    """``refused: 2 of 50 readings: #3 counter_went_back: ...; #7 unknown_meter: ...``"""
    each = "; ".join(f"#{index} {reason}: {message}" for index, _, reason, message in refused)
    return f"refused: {len(refused)} of {sent} readings: {each}"


def _refused_part(
    event: EventEnvelope[Any], data: ReadingBatchSubmitted, refused: list[tuple[int, Any, str, str]]
) -> str:
    """The dead letter's payload: the message's envelope with only its refused readings, as
    sent, and why each was refused (``refused``: position in the message, reason, message).
    Published again with a new event id once fixed, it is a batch of those readings."""
    envelope = event.model_dump(mode="json", exclude={"data"})
    envelope["data"] = {
        "device": data.device,
        "readings": [sent for _, sent, _, _ in refused],
        "refused": [
            {"index": index, "reason": reason, "message": message}
            for index, _, reason, message in refused
        ],
    }
    return json.dumps(envelope)


def _refused(reason: str, readings_: int = 1, source: str = SOURCE) -> None:
    READINGS.labels(source, "refused").inc(readings_)
    REFUSED.labels(reason).inc(readings_)
