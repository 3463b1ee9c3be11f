"""Contract rules every service relies on."""

import uuid

import pytest
from pydantic import ValidationError

from rivet_contracts import EventEnvelope, Events, Role
from rivet_contracts.auth import RegisterUser, UserRegistered
from rivet_contracts.catalog import EVENTS, MODULES, RPCS, RpcSpec
from rivet_contracts.streams import ALL_STREAMS, stream_for
from rivet_contracts.workorders import CreateWorkOrder


def test_roles_are_ordered() -> None:
    assert Role.ADMIN.at_least(Role.TECHNICIAN)
    assert Role.TECHNICIAN.at_least(Role.VIEWER)
    assert not Role.VIEWER.at_least(Role.TECHNICIAN)
    assert not Role.TECHNICIAN.at_least(Role.ADMIN)


def test_requests_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        RegisterUser.model_validate(
            {"email": "a@b.co", "password": "x" * 10, "full_name": "A", "role": "admin"}
        )


@pytest.mark.parametrize(
    ("field", "limit"), [("title", 200), ("description", 10_000), ("fault_codes", 40)]
)
def test_documented_lengths_hold_for_the_text_as_sent(field: str, limit: int) -> None:
    """Text is stripped, but ``max_length`` counts the text as sent: plain, optional and list
    item fields alike (the API document's ``maxLength``)."""
    base = {"equipment_id": "EQ-2026-000001", "title": "Pump leaks"}

    def value(text: str) -> str | list[str]:
        return [text] if field == "fault_codes" else text

    padded = "x" * 5 + " " * limit
    with pytest.raises(ValidationError) as refused:
        CreateWorkOrder.model_validate(base | {field: value(padded)})
    assert refused.value.errors()[0]["type"] == "string_too_long"
    accepted = CreateWorkOrder.model_validate(
        base | {field: value("  " + "x" * (limit - 4) + "  ")}
    )
    assert getattr(accepted, field) == value("x" * (limit - 4))  # within the limit: stripped


def test_events_tolerate_fields_from_newer_producers() -> None:
    data = {
        "user_id": str(uuid.uuid4()),
        "org_id": str(uuid.uuid4()),
        "organization_name": "O",
        "email": "a@b.co",
        "full_name": "A",
        "role": "admin",
        "added_later": 1,
    }
    envelope = EventEnvelope[UserRegistered].model_validate(
        {"type": Events.USER_REGISTERED, "org_id": None, "data": data, "future": True}
    )
    assert envelope.data.full_name == "A"
    assert envelope.schema_version == 1
    assert envelope.occurred_at.tzinfo is not None


def test_every_event_has_a_stream_and_every_subject_is_unique() -> None:
    for subject in EVENTS:
        assert stream_for(subject) in ALL_STREAMS
    assert stream_for("deadletter.anything").name == "DEADLETTERS"
    with pytest.raises(KeyError):
        stream_for("nothing.here")
    assert not set(RPCS) & set(EVENTS)
    assert all(s.startswith("rpc.") for s in RPCS)


def test_every_spec_is_named_after_its_action() -> None:
    """Typed clients call a spec by its module's name for it (``auth.ME`` is ``rpc.auth.me``)."""
    named = {
        f"{module.__name__.rsplit('.', 1)[1]}.{name}": spec
        for module in MODULES
        for name, spec in vars(module).items()
        if isinstance(spec, RpcSpec)
    }
    assert sorted(named) == sorted(
        f"{spec.subject.split('.')[1]}.{spec.subject.split('.')[2].upper()}"
        for spec in RPCS.values()
    )
    assert all(RPCS[spec.subject] is spec for spec in named.values())


def test_every_field_is_described_or_self_explanatory() -> None:
    """Request models feed the AsyncAPI and OpenAPI docs: their fields carry descriptions."""
    undocumented = [
        f"{spec.request.__name__}.{name}"
        for spec in RPCS.values()
        for name, field in spec.request.model_fields.items()
        if not field.description
    ]
    assert undocumented == []
