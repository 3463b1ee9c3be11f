"""Contract rules every service relies on."""

import uuid

import pytest
from pydantic import ValidationError

from rivet_contracts import EventEnvelope, Events, Outcome, Role, Rpc
from rivet_contracts.auth import RegisterUser, UserRegistered
from rivet_contracts.catalog import EVENTS, MODULES, RPCS, RpcSpec
from rivet_contracts.streams import (
    ALL_STREAMS,
    EXPORTED_STREAMS,
    org_stream,
    org_subject,
    stream_for,
)
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


def test_every_event_decides_whether_it_leaves_rivet() -> None:
    """Outside subscribers read their organization's copy of the exported events: each event
    says whether it is one, and what carries a secret, a code, sign-in or mail internals or a
    revocation never is."""
    undecided = [subject for subject, spec in EVENTS.items() if spec.exported is None]
    assert not undecided, f"decide EventSpec.exported for {undecided}"
    never = {
        Events.USER_PASSWORD_CHANGED,
        Events.USER_SESSIONS_REVOKED,
        Events.USER_TELEGRAM_LINKED,
        Events.USER_EMAIL_VERIFIED,
        Events.USER_INVITED,
        Events.READING_SUBMITTED,
    }
    assert not [s for s in never if EVENTS[s].exported]
    exported = {s for s, spec in EVENTS.items() if spec.exported}
    for stream in EXPORTED_STREAMS:  # every exported stream has events that leave
        assert {s for s in exported if stream_for(s) == stream}, stream.name
    assert all(stream_for(s) in EXPORTED_STREAMS for s in exported)


def test_organization_streams_hold_one_organization() -> None:
    org = uuid.UUID("7f1c2b6e-0d1a-4c1e-9a52-3f1b7a4c9d10")
    spec = org_stream(org)
    assert spec.name == "ORG_7F1C2B6E0D1A4C1E9A523F1B7A4C9D10"
    assert spec.subjects == (f"org.{org}.>",)
    assert org_subject(org, Events.WO_CREATED) == f"org.{org}.wo.created"
    assert (spec.max_age, spec.duplicate_window) == (
        stream_for(Events.WO_CREATED).max_age,
        stream_for(Events.WO_CREATED).duplicate_window,
    )


def test_idempotent_subjects_create_and_have_a_caller() -> None:
    """A key is scoped to the caller's organization: an anonymous subject cannot take one; and
    keys are for creates (their outcome is ``created``, or create-or-match's own)."""
    keyed = [spec for spec in RPCS.values() if spec.idempotent]
    assert {spec.subject for spec in keyed} >= {Rpc.ASSETS_CREATE, Rpc.WORKORDERS_COMMENT}
    for spec in keyed:
        assert spec.min_role is not None, spec.subject
        assert spec.outcome in (Outcome.CREATED, None), spec.subject


def test_a_subjects_own_timeout_is_bounded_and_only_lengthens_the_wait() -> None:
    from rivet_contracts import attachments
    from rivet_contracts.catalog import RPCS
    from rivet_contracts.spec import MAX_TIMEOUT, RpcSpec

    for spec in RPCS.values():
        assert spec.timeout is None or 0 < spec.timeout <= MAX_TIMEOUT, spec.subject
    add = attachments.ADD
    assert add.timeout == 30.0
    assert (add.wait(5.0), add.wait(45.0)) == (30.0, 45.0)  # a longer RPC_TIMEOUT still wins
    assert attachments.LIST.wait(5.0) == 5.0
    for wrong in (0.0, -1.0, MAX_TIMEOUT + 1):
        with pytest.raises(ValueError, match=r"rpc\.attachments\.add: timeout"):
            RpcSpec(add.subject, add.request, add.reply, add.summary, timeout=wrong)
