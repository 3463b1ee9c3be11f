"""JetStream streams: which subjects each keeps. Services create the streams they publish to."""

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID


@dataclass(frozen=True)
class StreamSpec:
    """A stream's name and subjects, before any namespace prefix."""

    name: str
    subjects: tuple[str, ...]
    description: str
    max_age: timedelta = timedelta(days=30)
    duplicate_window: timedelta = timedelta(minutes=15)


USERS = StreamSpec("USERS", ("user.>",), "Organization and user lifecycle events (auth).")
EQUIPMENT = StreamSpec("EQUIPMENT", ("equipment.>",), "Asset registry events (assets).")
WORKORDERS = StreamSpec("WORKORDERS", ("wo.>",), "Work order lifecycle events (workorders).")
NAMEPLATES = StreamSpec("NAMEPLATES", ("nameplate.>",), "Nameplate upload and scan events (ocr).")
MAINTENANCE = StreamSpec(
    "MAINTENANCE",
    ("plan.>", "pm.>", "meter.>"),
    "Maintenance plan, occurrence and meter events (maintenance).",
)
READINGS = StreamSpec(
    "READINGS",
    ("reading.>",),
    "Meter readings sent by machines (reading.submitted.<org_id>); declared by the maintenance "
    "service, which consumes them.",
)
INTEGRATIONS = StreamSpec("INTEGRATIONS", ("webhook.>",), "Webhook endpoint events (integrations).")
ATTACHMENTS = StreamSpec(
    "ATTACHMENTS",
    ("attachment.>",),
    "Attachment events: files added to and removed from work orders and assets (attachments).",
)
DEADLETTERS = StreamSpec(
    "DEADLETTERS",
    ("deadletter.>",),
    "Messages a consumer gave up on after its bounded redeliveries.",
    max_age=timedelta(days=90),
)

ALL_STREAMS: tuple[StreamSpec, ...] = (
    USERS,
    EQUIPMENT,
    WORKORDERS,
    NAMEPLATES,
    MAINTENANCE,
    READINGS,
    INTEGRATIONS,
    ATTACHMENTS,
    DEADLETTERS,
)


def stream_for(subject: str) -> StreamSpec:
    """The stream that keeps ``subject`` (un-namespaced)."""
    head = subject.split(".", 1)[0]
    for spec in ALL_STREAMS:
        if any(pattern.split(".", 1)[0] == head for pattern in spec.subjects):
            return spec
    raise KeyError(f"no stream keeps subject {subject!r}")


# --- organizations' streams: events for outside subscribers ---------------------------------

EXPORTED_STREAMS: tuple[StreamSpec, ...] = (
    USERS,
    EQUIPMENT,
    WORKORDERS,
    NAMEPLATES,
    MAINTENANCE,
    INTEGRATIONS,
    ATTACHMENTS,
)
"""The domain streams whose exported events (``EventSpec.exported``) are copied to their
organization's stream. Not READINGS (machines' raw input: the readings recorded are
``meter.reading_recorded``), not DEADLETTERS."""

ORG_SUBJECT_PREFIX = "org"
ORG_STREAM_PREFIX = "ORG_"


def org_subject(org_id: UUID, subject: str) -> str:
    """``org.<org_id>.<subject>``: where an organization's copy of an event is published."""
    return f"{ORG_SUBJECT_PREFIX}.{org_id}.{subject}"


def org_stream(org_id: UUID) -> StreamSpec:
    """The stream of one organization's exported events, ``ORG_<org id hex>``: subjects
    ``org.<org_id>.>``, the domain streams' retention and duplicate window. Created by the
    integrations service on the organization's first exported event."""
    return StreamSpec(
        f"{ORG_STREAM_PREFIX}{org_id.hex.upper()}",
        (f"{ORG_SUBJECT_PREFIX}.{org_id}.>",),
        f"Events of organization {org_id} for outside subscribers (integrations).",
    )
