"""The checked-in AsyncAPI document is what the code generates."""

import json
from pathlib import Path
from typing import Any

from rivet_runtime.asyncapi import render

DOCUMENT = Path(__file__).parents[1] / "docs" / "asyncapi.json"


def test_asyncapi_document_is_current() -> None:
    assert DOCUMENT.read_text() == render(), (
        "docs/asyncapi.json is stale: run `make asyncapi` and commit the result"
    )


def test_every_contract_is_documented() -> None:
    from rivet_contracts.catalog import EVENTS, RPCS

    text = DOCUMENT.read_text()
    for subject in [*RPCS, *EVENTS]:
        assert f'"address": "{subject}"' in text, subject


def test_each_exported_event_has_its_organization_channel() -> None:
    """Outside subscribers read ``org.{org_id}.<subject>``: exported events only."""
    from rivet_contracts.catalog import EVENTS

    document = json.loads(DOCUMENT.read_text())
    channels = document["channels"]
    for subject, spec in EVENTS.items():
        channel = channels.get(f"org:{subject}")
        if not spec.exported:
            assert channel is None, subject
            continue
        assert channel is not None, subject
        assert channel["address"] == f"org.{{org_id}}.{subject}"
        assert "org_id" in channel["parameters"]
        assert _payload(document, f"org:{subject}") == _payload(document, subject)


def _payload(document: dict[str, Any], channel: str) -> str:
    """The schema of a channel's message (the organization's copy is the event, unchanged)."""
    ref = document["channels"][channel]["messages"]["Message"]["$ref"].rsplit("/", 1)[-1]
    return str(document["components"]["messages"][ref]["payload"]["$ref"])
