"""Nameplate scanner benchmark: field accuracy, character error rate, time and memory.

Usage (from the repository root)::

    python bench/ocr/ocr_bench.py [--data DIR] [--limit N] [--misses] [--opt KEY=VALUE ...]
                                  [--variant NAME:KEY=VALUE,KEY=VALUE ...]

Reads every ``np_*.jpg`` of the data set with the OCR service's console command
``rivet-ocr read`` (the worker's scanner: decode + OCR + parse + quality notes, one JSON line
per photo) and compares with its ``.json`` ground truth.  Each variant (engine options) is one
``rivet-ocr read`` process fed one photo at a time; variants are run interleaved photo by photo,
so that their timings share the same machine load.  See ``bench/ocr/README.md`` for the metric
definitions.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

ROOT = Path(__file__).resolve().parents[2]

SCORED_FIELDS = (
    "manufacturer",
    "model",
    "serial",
    "voltage",
    "amps",
    "power",
    "rpm",
    "phase",
    "hz",
)
LEVELS = ("clean", "medium", "hard")


def normalize(value: Any) -> str | None:
    """Ground-truth comparison: case-insensitive, all whitespace removed; None stays None."""
    if value is None:
        return None
    return re.sub(r"\s+", "", str(value)).upper()


def cer(recognised: str, reference: str) -> float:
    """Character error rate: edit distance / reference length, whitespace runs collapsed."""
    hyp = " ".join(recognised.split())
    ref = " ".join(reference.split())
    return Levenshtein.distance(hyp, ref) / max(1, len(ref))


@dataclass
class LevelStats:
    correct: int = 0
    total: int = 0
    cer_sum: float = 0.0
    images: int = 0
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


class Reader:
    """One ``rivet-ocr read`` process (one engine configuration), given one photo at a time."""

    def __init__(self, engine: str, options: dict[str, Any]) -> None:
        script = Path(sys.executable).parent / "rivet-ocr"
        exe = str(script) if script.exists() else shutil.which("rivet-ocr")
        if exe is None:
            raise SystemExit("rivet-ocr not found: run `uv sync` (the OCR service console script)")
        argv = [exe, "read", "--engine", engine]
        for key, value in options.items():
            argv += ["--opt", f"{key}={value if isinstance(value, str) else json.dumps(value)}"]
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def read(self, photo: Path) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(f"{photo.resolve()}\n")
        self.proc.stdin.flush()
        while line := self.proc.stdout.readline():
            if line.startswith("{"):  # anything else is not an answer
                answer: dict[str, Any] = json.loads(line)
                if "error" in answer:
                    raise RuntimeError(f"rivet-ocr read {photo}: {answer['error']}")
                return answer
        raise RuntimeError(f"rivet-ocr read exited ({self.proc.wait()}) on {photo}")

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Variant:
    name: str
    options: dict[str, Any]
    reader: Reader | None = None
    levels: dict[str, LevelStats] = field(
        default_factory=lambda: {lvl: LevelStats() for lvl in LEVELS}
    )
    per_field: dict[str, list[int]] = field(
        default_factory=lambda: {name: [0, 0] for name in SCORED_FIELDS}
    )
    unit_ok: list[int] = field(default_factory=lambda: [0, 0])
    stage_times: dict[str, list[float]] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    load_s: float = 0.0


def pick(items: list[Path], limit: int | None) -> list[Path]:
    """Round-robin over levels so that ``--limit 6`` still covers clean, medium and hard."""
    if not limit or limit >= len(items):
        return items
    by_level: dict[str, list[Path]] = {}
    for path in items:
        by_level.setdefault(level_of(path), []).append(path)
    out: list[Path] = []
    while len(out) < limit:
        for level in LEVELS:
            if by_level.get(level) and len(out) < limit:
                out.append(by_level[level].pop(0))
    return sorted(out)


def level_of(path: Path) -> str:
    return path.stem.rsplit("_", 1)[-1]


def parse_value(raw: str) -> Any:
    if raw.lower() in {"true", "false"}:
        return raw.lower() == "true"
    for conv in (int, float):
        try:
            return conv(raw)
        except ValueError:
            continue
    return raw


def parse_opts(pairs: list[str]) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    for pair in pairs:
        key, _, raw = pair.partition("=")
        opts[key.strip()] = parse_value(raw.strip())
    return opts


def parse_variant(spec: str) -> Variant:
    name, _, rest = spec.partition(":")
    return Variant(name, parse_opts([p for p in rest.split(",") if p.strip()]))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def score(variant: Variant, photo: Path, truth: dict[str, Any], answer: dict[str, Any]) -> None:
    """One photo's answer from ``rivet-ocr read`` against its ground truth."""
    elapsed, cpu_used = answer["seconds"], answer["cpu_seconds"]
    fields, confidence = answer["fields"], answer["confidence"]
    stats = variant.levels.setdefault(truth.get("difficulty", level_of(photo)), LevelStats())
    stats.times.append(elapsed)
    stats.cpu.append(cpu_used)
    stats.images += 1
    stats.cer_sum += cer(answer["text"], truth["full_text"])
    for stage, secs in answer["timings"].items():
        variant.stage_times.setdefault(stage, []).append(secs)
    for name in SCORED_FIELDS:
        want, got = truth["fields"].get(name), fields.get(name)
        good = normalize(want) == normalize(got)
        stats.correct += good
        stats.total += 1
        variant.per_field[name][0] += good
        variant.per_field[name][1] += 1
        if not good:
            conf = confidence.get(name)
            variant.misses.append(
                f"{photo.stem:16} {name:12} want={want!r:24} got={got!r} conf={conf}"
            )
    if truth["fields"].get("power") is not None:
        variant.unit_ok[0] += fields.get("power_unit") == truth["fields"]["power_unit"]
        variant.unit_ok[1] += 1
    variant.records.append(
        {
            "photo": photo.name,
            "fields": fields,
            "confidence": confidence,
            "seconds": elapsed,
            "cpu_seconds": cpu_used,
            "timings": answer["timings"],
            "quality": answer["quality"],
        }
    )


def measure(photos: list[Path], variants: list[Variant], engine: str) -> None:
    """Start one reader per variant, warm each up on the first photo (not counted), then read
    every photo with every variant in turn; the readers are stopped at the end."""
    try:
        for variant in variants:
            t0 = time.perf_counter()
            variant.reader = Reader(engine, variant.options)
            warm = variant.reader.read(photos[0])  # loads the models, then one scan
            variant.load_s = time.perf_counter() - t0 - warm["seconds"]
        for photo in photos:
            truth = json.loads(photo.with_suffix(".json").read_text())
            for variant in variants:
                assert variant.reader is not None
                score(variant, photo, truth, variant.reader.read(photo))
    finally:
        for variant in variants:
            if variant.reader is not None:
                variant.reader.close()


def report(variant: Variant, photos: int, engine: str) -> None:
    print(
        f"== {variant.name}: engine {engine} {variant.options or ''} "
        f"(reader started and models loaded in {variant.load_s:.2f} s)"
    )
    print(
        f"{'level':8} {'photos':>6} {'fields %':>9} {'CER %':>7} {'median s':>9} {'p95 s':>7}"
        f" {'cpu s':>6}"
    )
    for level, s in variant.levels.items():
        if not s.images:
            continue
        print(
            f"{level:8} {s.images:6d} {100 * s.correct / s.total:9.1f} "
            f"{100 * s.cer_sum / s.images:7.1f} {statistics.median(s.times):9.3f} "
            f"{percentile(s.times, 0.95):7.3f} {statistics.median(s.cpu):6.3f}"
        )
    all_s = variant.levels.values()
    total = sum(s.total for s in all_s)
    correct = sum(s.correct for s in all_s)
    mean_cer = sum(s.cer_sum for s in all_s) / max(1, photos)
    times = [t for s in all_s for t in s.times]
    cpu = [t for s in all_s for t in s.cpu]
    print(
        f"{'all':8} {photos:6d} {100 * correct / max(1, total):9.1f} "
        f"{100 * mean_cer:7.1f} {statistics.median(times):9.3f} "
        f"{percentile(times, 0.95):7.3f} {statistics.median(cpu):6.3f}"
    )
    print(
        "per field %: "
        + "  ".join(
            f"{name} {100 * ok / max(1, n):.1f}" for name, (ok, n) in variant.per_field.items()
        )
    )
    print(f"power unit (HP/kW) % {100 * variant.unit_ok[0] / max(1, variant.unit_ok[1]):.1f}")
    print(
        "median stage s: "
        + "  ".join(f"{st} {statistics.median(v):.3f}" for st, v in variant.stage_times.items())
    )
    print()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "bench" / "data" / "nameplates")
    ap.add_argument("--limit", type=int, default=None, help="scan at most N photos")
    ap.add_argument("--misses", action="store_true", help="list every wrong field")
    ap.add_argument("--engine", default="rapidocr")
    ap.add_argument(
        "--opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="engine option of the default variant, e.g. --opt det_max_side=960",
    )
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:K=V,K=V",
        help="extra engine configuration to compare, run interleaved with the default",
    )
    ap.add_argument("--json", type=Path, help="write per-photo results of all variants here")
    args = ap.parse_args(argv)

    photos = pick(sorted(args.data.glob("np_*.jpg")), args.limit)
    if not photos:
        print(f"no np_*.jpg photos in {args.data}", file=sys.stderr)
        return 2

    variants = [Variant("default", parse_opts(args.opt))]
    variants += [parse_variant(spec) for spec in args.variant]
    measure(photos, variants, args.engine)

    peak_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    print(f"rivet nameplate scanner benchmark: {len(photos)} photos from {args.data}, read by "
          f"`rivet-ocr read` (one process per variant)")  # fmt: skip
    print("cpu s = reader process CPU seconds per photo (all threads); wall-clock is median/p95 s")
    print()
    for variant in variants:
        report(variant, len(photos), args.engine)
    scope = "the largest of the reader processes" if len(variants) > 1 else "the reader process"
    print(f"peak RSS {peak_rss_mb:.0f} MB ({scope})")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.misses:
        print()
        print(f"misses of '{variants[0].name}':")
        print("\n".join(variants[0].misses) if variants[0].misses else "no misses")
    if args.json:
        args.json.write_text(
            json.dumps({v.name: v.records for v in variants}, indent=1, default=str)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
