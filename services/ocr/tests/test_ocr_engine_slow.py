"""The real engine (PP-OCRv6 small on ONNX Runtime) on fixture photos of the evaluation set.

Marked slow: building the sessions takes about a second and each photo about half a second
on two cores.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rivet_ocr.scanner import Scanner, create_engine

FIXTURES = Path(__file__).parent / "fixtures"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(create_engine("rapidocr"))


def truth(name: str) -> dict[str, str | None]:
    fields: dict[str, str | None] = json.loads((FIXTURES / f"{name}.json").read_text())["fields"]
    return fields


def scan(scanner: Scanner, name: str) -> dict[str, str | None]:
    return scanner.scan((FIXTURES / f"{name}.jpg").read_bytes()).fields


def test_clean_drive_plate_reads_all_fields(scanner: Scanner) -> None:
    want = truth("np_011_clean")
    got = scan(scanner, "np_011_clean")
    for name in ("manufacturer", "model", "serial", "voltage", "amps", "power", "phase", "hz"):
        assert got[name] == want[name], name
    assert got["power_unit"] == "HP"
    assert got["rpm"] is None  # a drive has no rated speed


def test_medium_motor_plate(scanner: Scanner) -> None:
    want = truth("np_027_medium")
    got = scan(scanner, "np_027_medium")
    for name in ("manufacturer", "model", "serial", "voltage", "amps", "power", "rpm", "hz"):
        assert got[name] == want[name], name


def test_medium_drive_plate_ignores_output_ratings(scanner: Scanner) -> None:
    """np_029: a drive whose OUTPUT VOLTS 0-230 / OUTPUT HZ 0-400 must not be read as input."""
    want = truth("np_029_medium")
    got = scan(scanner, "np_029_medium")
    for name in ("manufacturer", "model", "serial", "voltage", "amps", "power", "phase", "hz"):
        assert got[name] == want[name], name
    assert got["rpm"] is None


def test_hard_plate_with_dropped_voltage_caption(scanner: Scanner) -> None:
    """np_045: the detector loses the lone "V:" caption; the voltage comes from its shape."""
    want = truth("np_045_hard")
    result = scanner.scan((FIXTURES / "np_045_hard.jpg").read_bytes())
    for name in ("manufacturer", "serial", "voltage", "amps", "power", "rpm", "phase", "hz"):
        assert result.fields[name] == want[name], name
    assert result.parsed.fields["voltage"].source == "shape"
    assert "blurry" in {n.code for n in result.quality_notes}


def test_hard_rotated_plate(scanner: Scanner) -> None:
    """np_044: rotated ~7.5 degrees, blurred, JPEG quality 27."""
    want = truth("np_044_hard")
    result = scanner.scan((FIXTURES / "np_044_hard.jpg").read_bytes())
    for name in ("manufacturer", "model", "serial", "voltage", "amps", "power", "rpm", "hz"):
        assert result.fields[name] == want[name], name
    notes = {n.code: n for n in result.quality_notes}
    assert "rotated" in notes
    assert notes["rotated"].value > 5.0


def test_engine_does_not_download_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building the engine with the bundled models must not reach rapidocr's downloader."""
    from rapidocr.utils import download_file

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("rapidocr tried to download a model")

    monkeypatch.setattr(download_file.DownloadFile, "run", refuse)
    engine = create_engine("rapidocr", threads=1)
    assert engine.recognize(__import__("numpy").full((64, 64, 3), 255, "uint8")) == []
