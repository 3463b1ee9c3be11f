"""The scanner facade: photo bytes (or an array) in, structured nameplate fields out.

This is what the OCR worker calls.  It owns no global state besides the engine it was given,
so one ``Scanner`` per worker process, reused for every photo, is the intended use.
"""

from __future__ import annotations

import io
import time
import warnings
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from .engine import ImageArray, OcrEngine, as_u8, create_engine
from .models import FIELD_NAMES, ScanResult
from .parser import parse_nameplate
from .quality import DEFAULT_THRESHOLDS, QualityThresholds, quality_notes

#: Photos are decoded at most this large (long side).  Phone cameras deliver 4000+ px; the
#: detector works at ~1000 px and recognition crops lose nothing at 2000 px, while decoding
#: and colour conversion of a 12 MP image alone would cost more than the whole scan.
DEFAULT_MAX_SIDE = 2000
#: Refuse absurd inputs before decoding them (a decompression bomb is a denial of service).
MAX_PIXELS = 60_000_000


class ImageDecodeError(ValueError):
    """The bytes are not a decodable image (or it is empty or absurdly large)."""


def decode_image(data: bytes, max_side: int = DEFAULT_MAX_SIDE) -> ImageArray:
    """Decode JPEG/PNG/WebP/... bytes into a BGR array, EXIF-rotated, long side <= max_side.

    JPEGs are decoded with libjpeg's DCT scaling (``Image.draft``), which makes a 12 MP
    photo decode about 4x faster than a full decode followed by a resize.
    """
    if not data:
        raise ImageDecodeError("empty image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
            if opened.width * opened.height > MAX_PIXELS:
                raise ImageDecodeError(f"image too large: {opened.width}x{opened.height}")
            if opened.format == "JPEG" and max(opened.size) > 2 * max_side:
                opened.draft("RGB", (max(1, opened.width // 2), max(1, opened.height // 2)))
            img = (ImageOps.exif_transpose(opened) or opened).convert("RGB")
    except ImageDecodeError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        ValueError,
    ) as exc:
        raise ImageDecodeError(f"cannot decode image: {exc}") from exc
    array = np.asarray(img, dtype=np.uint8)
    return limit_size(as_u8(cv2.cvtColor(array, cv2.COLOR_RGB2BGR)), max_side)


def limit_size(image: ImageArray, max_side: int) -> ImageArray:
    h, w = image.shape[:2]
    if max_side and max(h, w) > max_side:
        scale = max_side / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        return as_u8(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
    return image


def as_bgr(image: npt.NDArray[Any]) -> ImageArray:
    """Accept grey, BGR or BGRA uint8 arrays (what OpenCV produces)."""
    if image.dtype != np.uint8:
        raise ImageDecodeError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        return as_u8(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    if image.ndim == 3 and image.shape[2] == 4:
        return as_u8(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR))
    if image.ndim == 3 and image.shape[2] == 3:
        return as_u8(image)
    raise ImageDecodeError(f"unsupported image shape {image.shape}")


class Scanner:
    """Decode -> detect + recognise -> parse -> quality notes, with per-stage timings.

    >>> scanner = Scanner()                     # default engine: PP-OCRv6 small, ONNX Runtime
    >>> result = scanner.scan(photo_bytes)      # doctest: +SKIP
    >>> result.fields["voltage"], result.field_confidence["voltage"]  # doctest: +SKIP
    ('230/460', 0.97)
    """

    def __init__(
        self,
        engine: OcrEngine | None = None,
        *,
        max_side: int = DEFAULT_MAX_SIDE,
        thresholds: QualityThresholds = DEFAULT_THRESHOLDS,
    ):
        self.engine: OcrEngine = engine if engine is not None else create_engine()
        self.max_side = max_side
        self.thresholds = thresholds

    def scan(self, image: bytes | npt.NDArray[Any]) -> ScanResult:
        """Scan one nameplate photo (encoded bytes, or a BGR/grey uint8 array).

        Raises :class:`ImageDecodeError` for input that is not an image; anything readable
        returns a result, possibly with no fields and quality notes saying why.
        """
        start = time.perf_counter()
        if isinstance(image, bytes | bytearray | memoryview):
            img = decode_image(bytes(image), self.max_side)
        else:
            img = limit_size(as_bgr(image), self.max_side)
        decoded = time.perf_counter()
        lines = self.engine.recognize(img)
        recognised = time.perf_counter()
        parsed = parse_nameplate(lines)
        parsed_at = time.perf_counter()
        notes = quality_notes(img, lines, self.thresholds)
        end = time.perf_counter()
        values = parsed.values()
        return ScanResult(
            fields={name: values[name] for name in FIELD_NAMES},
            field_confidence=parsed.confidences(),
            lines=lines,
            quality_notes=notes,
            timings={
                "decode": decoded - start,
                "ocr": recognised - decoded,
                "parse": parsed_at - recognised,
                "quality": end - parsed_at,
                "total": end - start,
            },
            image_size=(int(img.shape[1]), int(img.shape[0])),
            text=parsed.text,
            parsed=parsed,
        )
