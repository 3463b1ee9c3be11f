"""OCR-specific metrics: scan outcomes, time per stage, work waiting."""

from prometheus_client import Counter, Gauge, Histogram

SCANS = Counter("rivet_ocr_scans_total", "Scans read, by resulting status.", ["status"])
STAGE_SECONDS = Histogram(
    "rivet_ocr_stage_seconds",
    "Time per scan stage (decode, detect+recognise, parse, total).",
    ["stage"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10),
)
QUEUE_DEPTH = Gauge(
    "rivet_ocr_queue_depth", "Uploaded photos not yet taken by a worker (JetStream pending)."
)
