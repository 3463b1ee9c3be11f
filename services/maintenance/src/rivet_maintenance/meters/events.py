"""Readings sent by machines on ``reading.submitted.<org_id>`` (stream READINGS).

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
"""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from rivet_contracts import EventEnvelope, Events
from rivet_contracts.maintenance import READING_SUBJECT_PREFIX, ReadingSubmitted
from rivet_runtime import EventContext, EventRouter, Refused

from ..metrics import READINGS, REFUSED
from ..plans.views import decimal
from ..schedule.errors import ScheduleError
from ..state import MaintenanceState
from . import readings

router: EventRouter[MaintenanceState] = EventRouter()

SOURCE = "device"
CONSUMER = "maintenance-readings"
MAX_BATCH = 256
"""Readings in one transaction at most."""
AHEAD = 512
"""Readings asked of JetStream ahead of the handler per process (the runtime's own pull loop,
ADR 0011): the next batch gathers while one is written."""


def subject_org(subject: str | None) -> UUID | None:
    """The organization a reading's subject names (``reading.submitted.<org_id>``)."""
    prefix = READING_SUBJECT_PREFIX + "."
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


def _refused(reason: str) -> None:
    READINGS.labels(SOURCE, "refused").inc()
    REFUSED.labels(reason).inc()
