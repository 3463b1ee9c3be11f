"""Nameplate scanner core: OCR engine adapters, nameplate parser, photo quality notes.

Pure library code (no NATS, no database).  The OCR worker builds one :class:`Scanner` at
start-up and calls :meth:`Scanner.scan` for every photo::

    from rivet_ocr.scanner import Scanner, create_engine

    scanner = Scanner(create_engine("rapidocr"))
    result = scanner.scan(photo_bytes)
    result.fields["serial"], result.field_confidence.get("serial"), result.quality_notes
"""

from .brands import BRANDS, canonical, find_brands
from .engine import (
    EngineError,
    ModelIntegrityError,
    OcrEngine,
    PaddleOcrEngine,
    RapidOcrEngine,
    RapidOcrOptions,
    create_engine,
)
from .models import FIELD_NAMES, FieldValue, ParsedNameplate, QualityNote, ScanResult, TextLine
from .parser import parse_nameplate
from .quality import QualityThresholds, assess_image, assess_text, quality_notes
from .scanner import ImageDecodeError, Scanner, decode_image

__all__ = [
    "BRANDS",
    "FIELD_NAMES",
    "EngineError",
    "FieldValue",
    "ImageDecodeError",
    "ModelIntegrityError",
    "OcrEngine",
    "PaddleOcrEngine",
    "ParsedNameplate",
    "QualityNote",
    "QualityThresholds",
    "RapidOcrEngine",
    "RapidOcrOptions",
    "ScanResult",
    "Scanner",
    "TextLine",
    "assess_image",
    "assess_text",
    "canonical",
    "create_engine",
    "decode_image",
    "find_brands",
    "parse_nameplate",
    "quality_notes",
]
