"""The checked-in AsyncAPI document is what the code generates."""

from pathlib import Path

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
