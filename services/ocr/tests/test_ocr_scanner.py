"""Engine factory, model pinning and the scanner facade (fast: no model is run here)."""

from __future__ import annotations

import hashlib
import importlib.util
import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from rivet_ocr.scanner import (
    EngineError,
    ImageDecodeError,
    ModelIntegrityError,
    OcrEngine,
    PaddleOcrEngine,
    RapidOcrEngine,
    Scanner,
    TextLine,
    create_engine,
    decode_image,
)
from rivet_ocr.scanner.engine import (
    RAPIDOCR_MODELS,
    ModelPin,
    RapidOcrOptions,
    bundled_model_dir,
    det_input_scale,
    verify_model,
)
from rivet_ocr.scanner.models import FIELD_NAMES


class FakeEngine:
    """Returns fixed lines and records the shape of what it was given."""

    name = "fake"

    def __init__(self, lines: list[TextLine]):
        self.lines = lines
        self.shapes: list[tuple[int, ...]] = []

    def recognize(self, image: np.ndarray) -> list[TextLine]:
        self.shapes.append(image.shape)
        return self.lines


PLATE_LINES = [
    TextLine.from_xywh("LEESON", 20, 10, 120, 30),
    TextLine.from_xywh("HP 30", 20, 60, 60, 20),
    TextLine.from_xywh("VOLTS 230/460", 200, 60, 150, 20),
    TextLine.from_xywh("F.L. AMPS 86.4/43.2", 20, 100, 200, 20),
    TextLine.from_xywh("RPM 1760", 260, 100, 90, 20),
]


def jpeg_bytes(width: int, height: int, orientation: int | None = None) -> bytes:
    img = Image.new("RGB", (width, height), (200, 200, 200))
    buf = io.BytesIO()
    if orientation is None:
        img.save(buf, "JPEG")
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def test_fake_engine_satisfies_the_protocol() -> None:
    assert isinstance(FakeEngine([]), OcrEngine)


def test_scan_bytes_returns_fields_confidences_and_stage_timings() -> None:
    engine = FakeEngine(PLATE_LINES)
    ok, png = cv2.imencode(".png", np.full((300, 400, 3), 180, np.uint8))
    assert ok
    result = Scanner(engine).scan(png.tobytes())
    assert set(result.fields) == set(FIELD_NAMES)
    assert result.fields["manufacturer"] == "Leeson"
    assert result.fields["voltage"] == "230/460"
    assert result.fields["amps"] == "86.4/43.2"
    assert result.fields["rpm"] == "1760"
    assert result.fields["serial"] is None
    assert "serial" not in result.field_confidence
    assert 0.8 < result.field_confidence["voltage"] <= 1.0
    assert set(result.timings) == {"decode", "ocr", "parse", "quality", "total"}
    assert result.timings["total"] >= result.timings["ocr"] >= 0.0
    assert result.image_size == (400, 300)
    assert result.text.splitlines()[0] == "LEESON"
    assert result.parsed.fields["voltage"].source == "label"
    assert engine.shapes == [(300, 400, 3)]


def test_scan_accepts_grey_and_bgra_arrays() -> None:
    engine = FakeEngine(PLATE_LINES)
    scanner = Scanner(engine)
    scanner.scan(np.zeros((50, 60), np.uint8))
    scanner.scan(np.zeros((50, 60, 4), np.uint8))
    assert engine.shapes == [(50, 60, 3), (50, 60, 3)]
    with pytest.raises(ImageDecodeError):
        scanner.scan(np.zeros((50, 60, 3), np.float32))


@pytest.mark.parametrize("data", [b"", b"not an image", b"\xff\xd8\xff\xe0garbage"])
def test_undecodable_bytes_raise_a_clear_error(data: bytes) -> None:
    with pytest.raises(ImageDecodeError):
        Scanner(FakeEngine([])).scan(data)


def test_no_text_gives_empty_fields_not_an_error() -> None:
    result = Scanner(FakeEngine([])).scan(jpeg_bytes(640, 480))
    assert all(value is None for value in result.fields.values())
    assert result.field_confidence == {}


def test_exif_orientation_is_applied() -> None:
    img = decode_image(jpeg_bytes(600, 400, orientation=6))  # "rotate 90 CW" in EXIF
    assert img.shape == (600, 400, 3)


def test_large_photos_are_decoded_down_to_max_side() -> None:
    img = decode_image(jpeg_bytes(4600, 3000), max_side=2000)
    assert max(img.shape[:2]) == 2000
    assert img.shape[2] == 3


def test_detector_input_scale() -> None:
    opts = RapidOcrOptions(det_min_side=0, det_max_side=1024)
    assert det_input_scale(1338, 1540, opts) == pytest.approx(1024 / 1540)
    assert det_input_scale(540, 800, opts) == 1.0  # small photos are not upscaled
    up = RapidOcrOptions(det_min_side=736, det_max_side=1024)
    assert det_input_scale(540, 800, up) == pytest.approx(1024 / 800)


def test_model_pin_verification(tmp_path: Path) -> None:
    payload = b"model bytes"
    (tmp_path / "m.onnx").write_bytes(payload)
    good = ModelPin("det", "m.onnx", "test", hashlib.sha256(payload).hexdigest())
    assert verify_model(tmp_path, good) == tmp_path / "m.onnx"
    bad = ModelPin("det", "m.onnx", "test", "0" * 64)
    with pytest.raises(ModelIntegrityError, match="sha256"):
        verify_model(tmp_path, bad)
    with pytest.raises(ModelIntegrityError, match="not found"):
        verify_model(tmp_path, ModelPin("rec", "missing.onnx", "test", "0" * 64))


def test_engine_refuses_unpinned_models(tmp_path: Path) -> None:
    for pin in RAPIDOCR_MODELS.values():
        (tmp_path / pin.filename).write_bytes(b"tampered")
    with pytest.raises(ModelIntegrityError):
        RapidOcrEngine(model_dir=tmp_path)
    with pytest.raises(ModelIntegrityError):
        create_engine("rapidocr", model_dir=str(tmp_path))


def test_installed_wheel_ships_the_pinned_models() -> None:
    directory = bundled_model_dir()
    for pin in RAPIDOCR_MODELS.values():
        verify_model(directory, pin)


def test_factory_rejects_unknown_engines_and_options() -> None:
    with pytest.raises(EngineError, match="unknown OCR engine"):
        create_engine("tesseract")
    with pytest.raises(TypeError):
        create_engine("rapidocr", no_such_option=1)


def test_paddle_engine_never_downloads(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="requires model_dir"):
        create_engine("paddleocr")
    with pytest.raises(EngineError, match="local model directories"):
        PaddleOcrEngine(tmp_path)
    if importlib.util.find_spec("paddleocr") is None:
        for sub in ("det", "rec"):
            (tmp_path / sub).mkdir()
            (tmp_path / sub / "inference.json").write_text("{}")
        with pytest.raises(EngineError, match="not installed"):
            create_engine("paddleocr", model_dir=tmp_path)
