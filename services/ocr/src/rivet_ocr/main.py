"""OCR service entry point: ``rivet-ocr [serve|migrate]``, and ``rivet-ocr read PHOTO...``."""

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from rivet_contracts.streams import NAMEPLATES
from rivet_runtime import ServiceRuntime
from rivet_runtime.cli import run_service

from .scans.events import router as worker
from .scans.handlers import router as scans
from .scans.jobs import jobs as scan_jobs
from .settings import OcrSettings
from .state import OcrState
from .tables import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: OcrSettings | None = None) -> ServiceRuntime[OcrState]:
    settings = settings or OcrSettings()
    runtime: ServiceRuntime[OcrState] = ServiceRuntime(
        settings,
        lambda resources: OcrState.connected(settings, resources),
        schema=SCHEMA,
        migrations=MIGRATIONS,
        publishes=(NAMEPLATES,),
        uses_uploads=True,
    )
    runtime.include_rpc(scans)
    runtime.include_events(worker)
    runtime.include_jobs(scan_jobs)
    return runtime


def read(argv: list[str]) -> int:
    """``rivet-ocr read [--engine NAME] [--opt KEY=VALUE]... [PHOTO]...``: read nameplate photos
    with the worker's scanner (no NATS, no database) and print one JSON line per photo. With no
    PHOTO, paths come from standard input, one per line, each answered as it arrives."""
    parser = argparse.ArgumentParser(prog="rivet-ocr read", description=read.__doc__)
    parser.add_argument("photos", nargs="*", type=Path)
    parser.add_argument("--engine", help="default: OCR_ENGINE")
    parser.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                        help="engine option, e.g. det_max_side=1024 (repeatable)")  # fmt: skip
    args = parser.parse_args(argv)
    settings = OcrSettings()
    options: dict[str, Any] = {"threads": settings.ocr_threads}
    if settings.ocr_model_dir:
        options["model_dir"] = settings.ocr_model_dir
    for pair in args.opt:
        key, _, raw = pair.partition("=")
        try:
            options[key.strip()] = json.loads(raw)  # numbers and true/false
        except ValueError:
            options[key.strip()] = raw.strip()
    from .scanner import ImageDecodeError, Scanner, create_engine

    scanner = Scanner(create_engine(args.engine or settings.ocr_engine, **options))
    for path in args.photos or (Path(line.strip()) for line in sys.stdin if line.strip()):
        answer: dict[str, Any] = {"photo": str(path)}
        try:
            photo = path.read_bytes()
            started, cpu = time.perf_counter(), time.process_time()
            result = scanner.scan(photo)
            answer |= {
                "seconds": time.perf_counter() - started,
                "cpu_seconds": time.process_time() - cpu,
                "fields": result.fields,
                "confidence": {k: float(v) for k, v in result.field_confidence.items()},
                "text": result.text,
                "quality": [note.code for note in result.quality_notes],
                "timings": result.timings,
            }
        except (OSError, ImageDecodeError) as exc:
            answer["error"] = str(exc)
        print(json.dumps(answer), flush=True)
    return 0


def cli() -> None:
    if sys.argv[1:2] == ["read"]:
        raise SystemExit(read(sys.argv[2:]))
    run_service(build)
