"""The OCR worker's view of the scanner: load the models once, read photos off the event loop.

The scanner package (``rivet_ocr.scanner``) is pure computation; this module owns its life in
the service: one engine per process, created at start, used from a thread so the event loop
keeps serving health checks and NATS while a photo is read.
"""

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from .settings import OcrSettings


@dataclass(frozen=True)
class Reading:
    """What one photo yielded, in plain types (ready for JSON columns and contracts)."""

    fields: dict[str, dict[str, Any]]
    """name -> {"value", "confidence"}"""
    lines: list[dict[str, Any]]
    quality: list[dict[str, str]]
    seconds: dict[str, float] = field(default_factory=dict)


class UnreadablePhoto(Exception):
    """The photo is valid but yields nothing; retrying will not help."""


class Reader:
    def __init__(self, settings: OcrSettings) -> None:
        self.settings = settings
        self._scanner: Any = None
        self._lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(settings.ocr_concurrency)

    async def load(self) -> None:
        """Load the models (about a second); called at start so the first scan is not slow."""
        async with self._lock:
            if self._scanner is None:
                self._scanner = await asyncio.to_thread(self._build)

    def _build(self) -> Any:
        from .scanner import Scanner, create_engine

        options: dict[str, Any] = {"threads": self.settings.ocr_threads}
        if self.settings.ocr_model_dir:
            options["model_dir"] = self.settings.ocr_model_dir
        return Scanner(create_engine(self.settings.ocr_engine, **options))

    async def read(self, jpeg: bytes) -> Reading:
        await self.load()
        from .scanner import ImageDecodeError

        async with self._slots:
            started = time.perf_counter()
            try:
                result = await asyncio.to_thread(self._scanner.scan, jpeg)
            except ImageDecodeError as exc:
                raise UnreadablePhoto(str(exc)) from exc
            total = time.perf_counter() - started
        fields = {
            name: {
                "value": value,
                "confidence": round(float(result.field_confidence.get(name, 0.0)), 3),
            }
            for name, value in result.fields.items()
            if value
        }
        lines = [
            {"text": ln.text, "confidence": round(float(ln.confidence), 3)} for ln in result.lines
        ]
        if not lines:
            raise UnreadablePhoto("no text found on the photo")
        quality = [{"code": q.code, "message": q.message} for q in result.quality_notes]
        seconds = {k: round(float(v), 4) for k, v in result.timings.items()} | {
            "total": round(total, 4)
        }
        return Reading(fields, lines, quality, seconds)
