"""Readings sent by machines on ``reading.submitted.<org_id>`` (stream READINGS).

Each message is an event envelope (``rivet_contracts.maintenance.ReadingSubmitted``) applied
once (the inbox), like any event. The organization is the subject's: NATS permissions let a
machine publish on its organization's subject only, and an envelope naming another
organization is refused. A reading that can never be recorded - the subject and the envelope
disagree, an unknown meter or another organization's, a counter going back, a time in the
future - is refused with its reason and dead-lettered at once (``Refused``): never retried,
never a crash. An envelope that does not parse (a missing field, a value that is not a finite
number, a time without a zone) is dead-lettered by the runtime the same way.
"""

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


def subject_org(subject: str | None) -> UUID | None:
    """The organization a reading's subject names (``reading.submitted.<org_id>``)."""
    prefix = READING_SUBJECT_PREFIX + "."
    if subject is None or not subject.startswith(prefix):
        return None
    try:
        return UUID(subject[len(prefix) :])
    except ValueError:
        return None


@router.on(Events.READING_SUBMITTED, consumer=CONSUMER)
async def reading_submitted(event: EventEnvelope[Any], ctx: EventContext[MaintenanceState]) -> None:
    data: ReadingSubmitted = event.data
    org_id = subject_org(ctx.subject)
    if org_id is None or event.org_id != org_id:
        _refused("wrong_organization")
        raise Refused(
            "wrong_organization",
            f"the envelope's organization {event.org_id} is not the subject's {ctx.subject}",
        )
    new = readings.Reading(org_id, data.meter_id, decimal(data.value), data.read_at, SOURCE)
    try:
        await readings.record(ctx, new, ctx.state.clock.now())
    except ScheduleError as exc:
        _refused(exc.reason)
        raise Refused(exc.reason, exc.message) from exc
    ctx.after_commit.append(READINGS.labels(SOURCE, "recorded").inc)


def _refused(reason: str) -> None:
    READINGS.labels(SOURCE, "refused").inc()
    REFUSED.labels(reason).inc()
