"""The create-or-match rules on the labelled pairs (no servers needed)."""

import sys
from importlib import import_module
from pathlib import Path

import pytest

from rivet_assets.matching import normalize
from rivet_assets.matching.rules import Record, compare
from rivet_assets.settings import AssetsSettings

sys.path.insert(0, str(Path(__file__).parent))
PAIRS = import_module("matching_pairs").PAIRS
SETTINGS = AssetsSettings()


def _record(values: dict[str, str | None]) -> Record:
    return Record(
        manufacturer_key=normalize.manufacturer(values["manufacturer"] or "")[1],
        model_norm=normalize.code(values.get("model")),
        serial_norm=normalize.code(values.get("serial")),
        location=values.get("location"),
    )


def decide(old: dict[str, str | None], new: dict[str, str | None]) -> str:
    verdict = compare(
        _record(new),
        _record(old),
        auto=SETTINGS.match_auto_threshold,
        review=SETTINGS.match_review_threshold,
    )
    return "same" if verdict.same else "review" if verdict.candidate else "new"


@pytest.mark.parametrize(("old", "new", "expected"), PAIRS)
def test_labelled_pair(
    old: dict[str, str | None], new: dict[str, str | None], expected: str
) -> None:
    assert decide(old, new) == expected


def test_codes_normalize() -> None:
    assert normalize.code(" g-120 c ") == "G120C"
    assert normalize.code("---") is None
    assert normalize.manufacturer("rockwell automation") == ("Allen-Bradley", "allen bradley")
    assert normalize.manufacturer("Acme  Pumps") == ("Acme Pumps", "acme pumps")
