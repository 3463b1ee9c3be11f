"""``rivet-ocr read``: the scanner as a console command, one JSON line per photo (the public entry
point of the OCR benchmark, ``bench/ocr/ocr_bench.py``)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rivet_ocr.scanner
from rivet_ocr import main
from rivet_ocr.scanner import TextLine

FIXTURES = Path(__file__).parent / "fixtures"
PHOTO = FIXTURES / "np_011_clean.jpg"


class FakeEngine:
    name = "fake"

    def recognize(self, image: np.ndarray) -> list[TextLine]:
        return [
            TextLine.from_xywh("LEESON", 20, 10, 120, 30),
            TextLine.from_xywh("HP 30", 20, 60, 60, 20),
            TextLine.from_xywh("VOLTS 230/460", 200, 60, 150, 20),
            TextLine.from_xywh("RPM 1760", 260, 100, 90, 20),
        ]


@pytest.fixture
def engines(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """The engines ``read`` asked for (name, options); each is a fake."""
    made: list[tuple[str, dict[str, Any]]] = []
    for name in ("OCR_ENGINE", "OCR_THREADS", "OCR_MODEL_DIR"):
        monkeypatch.delenv(name, raising=False)  # the defaults of OcrSettings

    def create_engine(name: str = "rapidocr", **options: Any) -> FakeEngine:
        made.append((name, options))
        return FakeEngine()

    monkeypatch.setattr(rivet_ocr.scanner, "create_engine", create_engine)
    return made


def answers(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def test_reads_each_photo_into_one_json_line(
    engines: list[tuple[str, dict[str, Any]]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    assert main.read([str(PHOTO), str(broken), str(tmp_path / "missing.jpg")]) == 0
    good, bad, missing = answers(capsys.readouterr().out)
    assert good["photo"] == str(PHOTO)
    assert good["fields"]["manufacturer"] == "Leeson"
    assert good["fields"]["rpm"] == "1760"
    assert set(good["confidence"]) <= set(good["fields"])
    assert "LEESON" in good["text"]
    assert good["seconds"] > 0
    assert good["cpu_seconds"] >= 0
    assert {"decode", "ocr", "parse", "quality", "total"} <= set(good["timings"])
    assert isinstance(good["quality"], list)
    assert "error" in bad
    assert "fields" not in bad
    assert "error" in missing
    assert engines == [("rapidocr", {"threads": 2})]


def test_options_and_engine_are_passed_to_the_engine(
    engines: list[tuple[str, dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    main.read(["--engine", "rapid", "--opt", "det_max_side=1024", "--opt", "use_cls=true",
               "--opt", "reread_below=0.9", "--opt", "model_dir=/models", str(PHOTO)])  # fmt: skip
    assert engines == [
        (
            "rapid",
            {"threads": 2, "det_max_side": 1024, "use_cls": True, "reread_below": 0.9,
             "model_dir": "/models"},
        )
    ]  # fmt: skip
    assert len(answers(capsys.readouterr().out)) == 1


def test_without_photos_reads_paths_from_standard_input(
    engines: list[tuple[str, dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{PHOTO}\n\n{PHOTO}\n"))
    assert main.read([]) == 0
    got = answers(capsys.readouterr().out)
    assert [a["photo"] for a in got] == [str(PHOTO), str(PHOTO)]
    assert len(engines) == 1  # one scanner for every photo


def test_cli_dispatches_read(
    engines: list[tuple[str, dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "argv", ["rivet-ocr", "read", str(PHOTO)])
    with pytest.raises(SystemExit) as exit_:
        main.cli()
    assert exit_.value.code == 0
    assert answers(capsys.readouterr().out)[0]["fields"]["manufacturer"] == "Leeson"


@pytest.mark.slow
def test_console_script_reads_a_real_photo_with_the_real_engine() -> None:
    script = Path(sys.executable).parent / "rivet-ocr"
    done = subprocess.run(
        [str(script), "read", str(PHOTO)], capture_output=True, text=True, timeout=120, check=True
    )
    (answer,) = answers(done.stdout)
    want = json.loads(PHOTO.with_suffix(".json").read_text())["fields"]
    for name in ("manufacturer", "model", "serial", "voltage"):
        assert answer["fields"][name] == want[name], name
