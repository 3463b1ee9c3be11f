"""Plain data types shared by the engine, the parser and the scanner facade.

They are frozen dataclasses with no behaviour beyond cheap geometry helpers, so that the OCR
worker can serialise them (``dataclasses.asdict``) into whatever contract the service uses
without this package knowing about NATS or pydantic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

Point = tuple[float, float]
Box = tuple[Point, Point, Point, Point]

#: The fields the parser extracts, in a stable order (used for reports and the benchmark).
FIELD_NAMES: Final[tuple[str, ...]] = (
    "manufacturer",
    "model",
    "serial",
    "voltage",
    "amps",
    "power",
    "power_unit",
    "rpm",
    "phase",
    "hz",
    "frame",
    "year",
    "enclosure",
    "service_factor",
    "efficiency",
    "insulation_class",
)


@dataclass(frozen=True, slots=True)
class TextLine:
    """One detected text region and what the recogniser read in it.

    ``box`` holds four (x, y) points in image pixels, clockwise from top-left, as the
    detector returns them.  Boxes are what make layout reasoning possible: on a nameplate the
    label is left of, or above, its value, often in a different detected region.
    """

    text: str
    confidence: float
    box: Box

    @property
    def x0(self) -> float:
        return min(p[0] for p in self.box)

    @property
    def x1(self) -> float:
        return max(p[0] for p in self.box)

    @property
    def y0(self) -> float:
        return min(p[1] for p in self.box)

    @property
    def y1(self) -> float:
        return max(p[1] for p in self.box)

    @property
    def cx(self) -> float:
        return sum(p[0] for p in self.box) / 4.0

    @property
    def cy(self) -> float:
        return sum(p[1] for p in self.box) / 4.0

    @property
    def height(self) -> float:
        """Text height measured perpendicular to the baseline (robust to rotation)."""
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self.box
        left = math.hypot(x3 - x0, y3 - y0)
        right = math.hypot(x2 - x1, y2 - y1)
        return max(1.0, (left + right) / 2.0)

    @property
    def width(self) -> float:
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self.box
        return max(1.0, (math.hypot(x1 - x0, y1 - y0) + math.hypot(x2 - x3, y2 - y3)) / 2.0)

    @property
    def angle_deg(self) -> float:
        """Angle of the top edge against the horizontal, in degrees (positive = clockwise)."""
        (x0, y0), (x1, y1) = self.box[0], self.box[1]
        return math.degrees(math.atan2(y1 - y0, x1 - x0))

    @staticmethod
    def from_xywh(text: str, x: float, y: float, w: float, h: float, conf: float = 1.0) -> TextLine:
        """Build an axis-aligned line; handy for tests and for engines without polygons."""
        return TextLine(text, conf, ((x, y), (x + w, y), (x + w, y + h), (x, y + h)))


@dataclass(frozen=True, slots=True)
class FieldValue:
    """A parsed value with its confidence and a short note on how it was found."""

    value: str
    confidence: float
    source: str


@dataclass(slots=True)
class ParsedNameplate:
    """Result of :func:`rivet_ocr.scanner.parser.parse_nameplate`.

    ``fields`` only contains the fields that were found; absent fields are simply missing
    (``get`` returns ``None``), because on a nameplate "not printed" is the common case.
    """

    fields: dict[str, FieldValue] = field(default_factory=dict)
    #: the recognised text in reading order (rows top to bottom, tokens left to right)
    text: str = ""

    def get(self, name: str) -> str | None:
        found = self.fields.get(name)
        return found.value if found else None

    def values(self) -> dict[str, str | None]:
        return {name: self.get(name) for name in FIELD_NAMES}

    def confidences(self) -> dict[str, float]:
        return {name: fv.confidence for name, fv in self.fields.items()}


@dataclass(frozen=True, slots=True)
class QualityNote:
    """An image-quality observation, e.g. ``blurry`` with the measured value and threshold."""

    code: str
    value: float
    threshold: float
    message: str


@dataclass(slots=True)
class ScanResult:
    """Everything one scan produced.

    ``fields`` maps every name of :data:`FIELD_NAMES` to its value or ``None``;
    ``field_confidence`` has an entry (0..1) for each field that was found; ``timings`` are
    seconds per stage (decode, ocr = detect + recognise, parse, quality, total).
    """

    fields: dict[str, str | None]
    field_confidence: dict[str, float]
    lines: list[TextLine]
    quality_notes: list[QualityNote]
    timings: dict[str, float]
    #: (width, height) of the image the engine saw, after decoding and size limiting
    image_size: tuple[int, int] = (0, 0)
    #: recognised text in reading order: one visual row per line
    text: str = ""
    #: the parser's full output (value, confidence and how each field was found)
    parsed: ParsedNameplate = field(default_factory=ParsedNameplate)
