"""Which events leave Rivet, and where they go (pure)."""

import uuid

from integrations_support import EXPORTED_KINDS, INTERNAL_KINDS, envelope

from rivet_contracts import Events
from rivet_contracts.streams import org_stream
from rivet_integrations.exporter.rules import Copy, Skip, route
from rivet_integrations.exporter.sources import SOURCES

ORG = uuid.UUID("7f1c2b6e-0d1a-4c1e-9a52-3f1b7a4c9d10")


def test_an_exported_event_goes_to_its_organization_s_stream() -> None:
    for subject in EXPORTED_KINDS:
        event = envelope(subject, ORG)
        copy = route(subject, event.body)
        assert isinstance(copy, Copy)
        assert copy == Copy(
            ORG,
            event.event_id,
            f"org.{ORG}.{subject}",
            org_stream(ORG),
            subject,  # the event's type and time, for the webhooks
            copy.occurred_at,
        )
        assert copy.occurred_at is not None
        assert copy.occurred_at.tzinfo is not None


def test_what_never_leaves() -> None:
    for subject in INTERNAL_KINDS:
        assert route(subject, envelope(subject, ORG).body) is Skip.INTERNAL
    # a subject the catalogue does not know (a machine's raw reading) never leaves either
    assert route(f"reading.submitted.{ORG}", b"{}") is Skip.INTERNAL
    no_org = envelope(Events.EQUIPMENT_UPDATED, ORG, with_org=False)
    assert route(Events.EQUIPMENT_UPDATED, no_org.body) is Skip.NO_ORGANIZATION
    assert route(Events.WO_CREATED, b"not json") is Skip.UNREADABLE
    assert route(Events.WO_CREATED, b'{"org_id": null}') is Skip.UNREADABLE


def test_one_consumer_per_exported_stream() -> None:
    assert [s.stream.name for s in SOURCES] == [
        "USERS",
        "EQUIPMENT",
        "WORKORDERS",
        "NAMEPLATES",
        "MAINTENANCE",
        "INTEGRATIONS",
        "ATTACHMENTS",
    ]
    assert len({s.durable for s in SOURCES}) == len(SOURCES)
