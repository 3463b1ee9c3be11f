"""JetStream streams: which subjects each keeps. Services create the streams they publish to."""

from dataclasses import dataclass
from datetime import timedelta


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
    DEADLETTERS,
)


def stream_for(subject: str) -> StreamSpec:
    """The stream that keeps ``subject`` (un-namespaced)."""
    head = subject.split(".", 1)[0]
    for spec in ALL_STREAMS:
        if any(pattern.split(".", 1)[0] == head for pattern in spec.subjects):
            return spec
    raise KeyError(f"no stream keeps subject {subject!r}")
