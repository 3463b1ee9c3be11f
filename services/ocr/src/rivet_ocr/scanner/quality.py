"""Cheap photo-quality checks that explain a poor scan to the technician.

A field that could not be read is far more useful with a reason ("photo is blurry, text is
only 7 px high: step closer") than without.  Every check is a few milliseconds of OpenCV on
a downscaled grey image, or uses the text boxes the engine already returned; the measured
value and its threshold are reported so the UI (and the logs) can show *how* bad it was.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import cv2
import numpy as np

from .engine import ImageArray, as_u8
from .models import QualityNote, TextLine


@dataclass(frozen=True, slots=True)
class QualityThresholds:
    """Thresholds of the checks; defaults were set on the nameplate evaluation photos.

    ``blur_laplacian_var`` is the variance of the Laplacian of the grey image scaled to
    ``analysis_width`` pixels wide (so it does not depend on the camera resolution) after a
    1-pixel Gaussian: without that pre-filter, sensor noise and JPEG artefacts *raise* the
    variance and a noisy, blurred photo passes as sharp.  On the evaluation photos it is
    58-245 for clean, 29-132 for medium and 14-44 for hard ones.
    """

    analysis_width: int = 800
    blur_laplacian_var: float = 45.0
    dark_mean: float = 60.0
    overexposed_fraction: float = 0.25
    low_contrast_std: float = 25.0
    min_text_height_px: float = 12.0
    min_image_side_px: int = 480
    rotation_deg: float = 5.0


DEFAULT_THRESHOLDS = QualityThresholds()


def _grey(image: ImageArray, width: int) -> ImageArray:
    grey = image if image.ndim == 2 else as_u8(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    h, w = grey.shape[:2]
    if w > width:
        size = (width, max(1, round(h * width / w)))
        grey = as_u8(cv2.resize(grey, size, interpolation=cv2.INTER_AREA))
    return grey


def image_metrics(image: ImageArray, analysis_width: int = 800) -> dict[str, float]:
    """The raw measurements: Laplacian variance, mean/std brightness, clipped fraction."""
    grey = _grey(image, analysis_width)
    lap = cv2.Laplacian(cv2.GaussianBlur(grey, (0, 0), 1.0), cv2.CV_64F)
    return {
        "laplacian_var": float(lap.var()),
        "mean": float(grey.mean()),
        "std": float(grey.std()),
        "clipped_fraction": float(np.count_nonzero(grey >= 250)) / max(1, grey.size),
        "short_side": float(min(image.shape[:2])),
    }


def assess_image(
    image: ImageArray, thresholds: QualityThresholds = DEFAULT_THRESHOLDS
) -> list[QualityNote]:
    """Pixel-level checks: blurry, dark, overexposed, low_contrast, low_resolution."""
    t = thresholds
    m = image_metrics(image, t.analysis_width)
    notes: list[QualityNote] = []
    if m["laplacian_var"] < t.blur_laplacian_var:
        notes.append(
            QualityNote(
                "blurry",
                round(m["laplacian_var"], 1),
                t.blur_laplacian_var,
                "photo is blurry: hold still, focus on the plate",
            )
        )
    if m["mean"] < t.dark_mean:
        notes.append(
            QualityNote(
                "dark",
                round(m["mean"], 1),
                t.dark_mean,
                "photo is dark: use the flash or more light",
            )
        )
    if m["clipped_fraction"] > t.overexposed_fraction:
        notes.append(
            QualityNote(
                "overexposed",
                round(m["clipped_fraction"], 3),
                t.overexposed_fraction,
                "photo is overexposed or has glare: change the angle",
            )
        )
    if m["std"] < t.low_contrast_std:
        notes.append(
            QualityNote(
                "low_contrast", round(m["std"], 1), t.low_contrast_std, "photo has little contrast"
            )
        )
    if m["short_side"] < t.min_image_side_px:
        notes.append(
            QualityNote(
                "low_resolution",
                m["short_side"],
                t.min_image_side_px,
                "photo is small: use a higher resolution",
            )
        )
    return notes


def assess_text(
    lines: list[TextLine], thresholds: QualityThresholds = DEFAULT_THRESHOLDS
) -> list[QualityNote]:
    """Checks from the detected text: tiny text (``low_resolution``) and ``rotated``."""
    t = thresholds
    notes: list[QualityNote] = []
    if not lines:
        return notes
    median_height = statistics.median(line.height for line in lines)
    if median_height < t.min_text_height_px:
        notes.append(
            QualityNote(
                "low_resolution",
                round(median_height, 1),
                t.min_text_height_px,
                "text is very small in the photo: step closer",
            )
        )
    wide = [line for line in lines if line.width > 2.0 * line.height]
    if wide:
        angle = statistics.median(line.angle_deg for line in wide)
        if math.fabs(angle) > t.rotation_deg:
            notes.append(
                QualityNote(
                    "rotated",
                    round(angle, 1),
                    t.rotation_deg,
                    "plate is rotated: hold the camera level",
                )
            )
    return notes


def quality_notes(
    image: ImageArray,
    lines: list[TextLine],
    thresholds: QualityThresholds = DEFAULT_THRESHOLDS,
) -> list[QualityNote]:
    """All notes; a ``low_resolution`` note appears once (the text-based one wins)."""
    notes = assess_text(lines, thresholds)
    codes = {n.code for n in notes}
    notes.extend(n for n in assess_image(image, thresholds) if n.code not in codes)
    return notes
