"""Photo-quality notes on synthetic images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rivet_ocr.scanner import TextLine, assess_image, assess_text, quality_notes


def text_like(width: int = 1000, height: int = 700, seed: int = 1) -> np.ndarray:
    """A sharp, mid-grey "plate" with dark text-like strokes."""
    rng = np.random.default_rng(seed)
    img = np.full((height, width, 3), 170, np.uint8)
    for row in range(40, height - 40, 50):
        x = 40
        while x < width - 80:
            w = int(rng.integers(8, 40))
            cv2.rectangle(img, (x, row), (x + w, row + 24), (30, 30, 30), -1)
            cv2.rectangle(img, (x + 3, row + 4), (x + w - 3, row + 20), (170, 170, 170), -1)
            x += w + int(rng.integers(6, 30))
    return img


def codes(img: np.ndarray) -> set[str]:
    return {note.code for note in assess_image(img)}


def test_sharp_well_exposed_photo_has_no_notes() -> None:
    assert codes(text_like()) == set()


def test_blurred_photo_is_blurry_and_reports_the_measure() -> None:
    blurred = cv2.GaussianBlur(text_like(), (0, 0), 3.0)
    notes = {n.code: n for n in assess_image(blurred)}
    assert "blurry" in notes
    assert notes["blurry"].value < notes["blurry"].threshold


def test_noise_does_not_hide_blur() -> None:
    rng = np.random.default_rng(0)
    blurred = cv2.GaussianBlur(text_like(), (0, 0), 3.0).astype(np.int16)
    noisy = np.clip(blurred + rng.normal(0, 12, blurred.shape), 0, 255).astype(np.uint8)
    assert "blurry" in codes(noisy)


def test_dark_overexposed_low_contrast() -> None:
    img = text_like()
    assert "dark" in codes((img * 0.25).astype(np.uint8))
    bright = np.clip(img.astype(np.int16) + 120, 0, 255).astype(np.uint8)
    assert "overexposed" in codes(bright)
    flat = (img * 0.1 + 120).astype(np.uint8)
    assert "low_contrast" in codes(flat)


def test_small_photo_is_low_resolution() -> None:
    small = cv2.resize(text_like(), (400, 280), interpolation=cv2.INTER_AREA)
    assert "low_resolution" in codes(small)


def test_grey_input_is_accepted() -> None:
    grey = cv2.cvtColor(text_like(), cv2.COLOR_BGR2GRAY)
    assert assess_image(grey) == []


def rotated_line(angle_deg: float, height: float = 20.0) -> TextLine:
    a = np.radians(angle_deg)
    w = 200.0
    x1, y1 = w * np.cos(a), w * np.sin(a)
    nx, ny = -height * np.sin(a), height * np.cos(a)
    return TextLine("VOLTS 460", 0.9, ((0.0, 0.0), (x1, y1), (x1 + nx, y1 + ny), (nx, ny)))


@pytest.mark.parametrize(
    ("angle", "flagged"), [(0.0, False), (3.0, False), (8.0, True), (-9.0, True)]
)
def test_rotation_from_text_boxes(angle: float, flagged: bool) -> None:
    notes = {n.code: n for n in assess_text([rotated_line(angle)] * 5)}
    assert ("rotated" in notes) is flagged
    if flagged:
        assert notes["rotated"].value == pytest.approx(angle, abs=0.2)


def test_tiny_text_is_low_resolution_once() -> None:
    tiny = [TextLine.from_xywh("HP 5", 10, 10 + 12 * i, 40, 7) for i in range(6)]
    small = cv2.resize(text_like(), (400, 280))
    notes = [n.code for n in quality_notes(small, tiny)]
    assert notes.count("low_resolution") == 1
    assert any(n.message.startswith("text is very small") for n in quality_notes(small, tiny))


def test_no_lines_no_text_notes() -> None:
    assert assess_text([]) == []
