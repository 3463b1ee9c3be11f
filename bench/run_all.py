"""``make bench``: the project's benchmarks in one bounded run, one table.

    uv run python bench/run_all.py [--quick] [--skip search,ocr,events] [--no-docs]

1. Key routes through the gateway next to the bare FastAPI + asyncpg app, and the event
   end-to-end latency (``bench/gateway/gateway_bench.py``; a few minutes).
2. The search benchmark in reduced mode: 100k assets, 300 queries per family (full names, model
   codes, serials, nameplate lines, scans, prefixes; a brand, an alias, a place, brand + place,
   a type, brand + type + place), through the service and through the gateway
   (``bench/search/search_bench.py --gateway``; its database is loaded once, about a minute,
   then kept).
3. The OCR benchmark in reduced mode: 15 photos (5 per level) of the 60-photo set, read by the
   OCR service's ``rivet-ocr read`` and scored by ``bench/ocr/ocr_bench.py``.
4. Webhook fan-out: 1,000 events/s for 30 s (10 s with ``--quick``) to 10 local receivers
   through ``rivet-integrations`` (``bench/integrations/webhooks_bench.py``; about 5 minutes:
   it waits at most 240 s for the backlog).
5. Attachments: a 12-megapixel photo (about 4 MB) attached to a work order through the gateway,
   15 uploads one at a time, then 4 clients at once 3 times (2 with ``--quick``): upload ->
   answer and upload -> thumbnail p50/p99, peak RSS of the attachments service and the gateway
   (``bench/attachments/upload_bench.py``; about 2 minutes).

Prints one table, writes every figure to ``.rivet/bench/latest.json`` and the table, with the
date and the machine, into ``docs/performance.md`` between its ``bench:begin``/``bench:end``
markers (``--no-docs`` leaves the file alone).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / ".rivet" / "bench"
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
OCR_PHOTOS = 15
SEARCH_ROWS = 100_000


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(argv: list[str], timeout: float) -> None:
    say("$ " + " ".join(str(a) for a in argv[1:]))
    subprocess.run(argv, check=True, cwd=ROOT, timeout=timeout)


# --- the parts ----------------------------------------------------------------------------


def gateway_part(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    argv = [sys.executable, "bench/gateway/gateway_bench.py", "--json", str(out)]
    if args.quick:
        argv.append("--quick")
    if "events" in args.skip:
        argv.append("--no-events")
    run(argv, timeout=3600)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


@contextlib.contextmanager
def postgres_admin_url() -> Iterator[str]:
    """The PostgreSQL server by ``make run``'s rules (an embedded one is stopped afterwards)."""
    sys.path.insert(0, str(ROOT / "bench" / "gateway"))
    import system

    stack = system.Stack(STATE)
    try:
        yield stack.postgres_server()
    finally:
        if stack.postgres is not None:
            stack.postgres.stop()


def search_part(out: Path) -> dict[str, Any]:
    with postgres_admin_url() as admin:
        argv = [sys.executable, "bench/search/search_bench.py", "--rows", str(SEARCH_ROWS),
                "--gateway", "--dsn", admin, "--json", str(out)]  # fmt: skip
        run(argv, timeout=1800)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def webhooks_part(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    seconds = "10" if args.quick else "30"
    argv = [sys.executable, "bench/integrations/webhooks_bench.py", "--rate", "1000",
            "--seconds", seconds, "--drain-limit", "240", "--json", str(out)]  # fmt: skip
    run(argv, timeout=1800)
    result: dict[str, Any] = json.loads(out.read_text())["fanout"]
    return result


def attachments_part(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    argv = [sys.executable, "bench/attachments/upload_bench.py", "--json", str(out)]
    if args.quick:
        argv += ["--sequential", "8", "--rounds", "2"]
    run(argv, timeout=1200)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def ocr_part(out: Path) -> dict[str, Any]:
    run([sys.executable, "bench/run_all.py", "--ocr-only", str(out)], timeout=1200)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def ocr_measure(out: Path) -> None:
    """The OCR benchmark's own scoring (``bench/ocr/ocr_bench.py``) on a subset of photos."""
    sys.path.insert(0, str(ROOT / "bench" / "ocr"))
    import ocr_bench as ob

    photos = ob.pick(sorted((ROOT / "bench" / "data" / "nameplates").glob("np_*.jpg")), OCR_PHOTOS)
    variant = ob.Variant("default", {})
    ob.measure(photos, [variant], "rapidocr")  # `rivet-ocr read`, warmed up on the first photo
    levels = {}
    for name, s in variant.levels.items():
        if s.images:
            levels[name] = {
                "photos": s.images,
                "fields_pct": round(100 * s.correct / s.total, 1),
                "cer_pct": round(100 * s.cer_sum / s.images, 1),
                "median_s": round(statistics.median(s.times), 3),
                "cpu_s": round(statistics.median(s.cpu), 3),
            }
    every = list(variant.levels.values())
    times = [t for s in every for t in s.times]
    cpu = [t for s in every for t in s.cpu]
    correct, total = sum(s.correct for s in every), sum(s.total for s in every)
    levels["all"] = {
        "photos": len(photos),
        "fields_pct": round(100 * correct / max(1, total), 1),
        "cer_pct": round(100 * sum(s.cer_sum for s in every) / len(photos), 1),
        "median_s": round(statistics.median(times), 3),
        "p95_s": round(ob.percentile(times, 0.95), 3),
        "cpu_s": round(statistics.median(cpu), 3),
    }
    out.write_text(json.dumps({"levels": levels, "load_average": os.getloadavg()}, indent=1))


# --- the table ----------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def table(results: dict[str, Any]) -> list[str]:
    rows = [
        "| benchmark | measure | Rivet | bare FastAPI + asyncpg | ratio | target | holds |",
        "|---|---|---|---|---|---|---|",
    ]
    gateway = results.get("gateway") or {}
    for route in gateway.get("routes", {}).values():
        g, b = route["gateway_throughput"], route["bare_throughput"]
        gl, bl = route["gateway_latency"], route["bare_latency"]
        label = f"`{route['label']}`"
        rows.append(
            f"| {label} | throughput, {gateway['settings']['concurrency']} connections | "
            f"{g['throughput']:.0f} req/s | {b['throughput']:.0f} req/s | "
            f"{route['throughput_ratio']:.2f}x | >= 0.5x | "
            f"{verdict(route['throughput_ratio'] >= 0.5)} |"
        )
        rows.append(
            f"| {label} | p50 / p99 at {gl['rate']:g} req/s | {gl['p50_ms']:.1f} / "
            f"{gl['p99_ms']:.1f} ms | {bl['p50_ms']:.1f} / {bl['p99_ms']:.1f} ms | "
            f"p99 {route['p99_ratio']:.2f}x | p99 <= 1.5x | {verdict(route['p99_ratio'] <= 1.5)} |"
        )
    ev = gateway.get("events")
    if ev:
        rows.append(
            f"| `equipment.created` committed -> work-order replica committed | p50 / p99 at "
            f"{ev['rate']:g} events/s ({ev['applied']} of {ev['events']} applied) | "
            f"{ev['p50_ms']:.1f} / {ev['p99_ms']:.1f} ms | | | p99 <= 25 ms | "
            f"{verdict(ev['p99_ms'] <= 25 and not ev['missing'])} |"
        )
    search = results.get("search")
    if search:
        rows += search_rows(search)
    hooks = results.get("webhooks")
    if hooks:
        rows += webhook_rows(hooks)
    files = results.get("attachments")
    if files:
        rows += attachment_rows(files)
    ocr = results.get("ocr")
    if ocr:
        for level, s in ocr["levels"].items():
            rows.append(
                f"| OCR nameplates, {level} ({s['photos']} photos) | fields %, CER %, "
                f"median s / CPU s per photo | {s['fields_pct']:.1f} %, {s['cer_pct']:.1f} %, "
                f"{s['median_s']:.2f} s / {s['cpu_s']:.2f} s | | | | |"
            )
    return rows


def search_rows(search: dict[str, Any]) -> list[str]:
    """One row per query family: p50 / p99 through the service (and p99 through the gateway when
    measured), then recall@10 and hit@1, or, for a brand, a place or a type, the first page's
    precision (every hit has it) and the share of full first pages."""
    out = []
    gateway = search.get("gateway_search") or {}
    for family, s in search["search"].items():
        g = gateway.get(family)
        p99_ok = s["p99"] <= 30 and (g is None or g["p99"] <= 50)
        timing = f"{s['p50']:.1f} / {s['p99']:.1f} ms" + (
            f" (gateway p99 {g['p99']:.1f} ms)" if g else ""
        )
        target = "p99 <= 30 ms (at 1M)" + (", gateway <= 50 ms" if g else "")
        head = f"| fuzzy search, {search['rows'] // 1000}k assets, {family} ({s['n']} queries) | "
        if "recall10" in s:
            out.append(
                f"{head}p50 / p99, recall@10, hit@1 | {timing}, {s['recall10']:.3f}, "
                f"{s['hit1']:.3f} | | | {target}, recall@10 >= 0.98 | "
                f"{verdict(p99_ok and s['recall10'] >= 0.98)} |"
            )
        else:
            out.append(
                f"{head}p50 / p99, first-page precision, full first pages | {timing}, "
                f"{s['precision']:.3f}, {s['full_page']:.2f} | | | {target}, precision 1.0 | "
                f"{verdict(p99_ok and s['precision'] >= 1.0)} |"
            )
    return out


def attachment_rows(files: dict[str, Any]) -> list[str]:
    """Upload -> answer and -> thumbnail, one row per phase, and the processes' peak RSS."""
    photo = f"{files['photo']['pixels']} JPEG, {files['photo']['bytes'] / 1e6:.1f} MB"
    load = files["load_average_start"][0]
    head = f"| 12 MP photo ({photo}) on a work order, `POST .../attachments`, load {load:g}"
    out = []
    for phase, label in (("sequential", "one at a time"), ("concurrent", "clients at once")):
        s = files[phase]
        who = label if phase == "sequential" else f"{s['clients']} {label}"
        rss = ", ".join(f"{n} {mb:g} MB" for n, mb in s["rss_peak_mb"].items())
        refused = {k: v for k, v in s["statuses"].items() if k != "201"}
        if refused:
            said = ", ".join(f"{n} x {status}" for status, n in sorted(refused.items()))
            rss += f"; answered {said} ({s['added_without_a_201']} added all the same)"
        if not s["answered_201"]:
            out.append(f"{head}, {who} | | none answered 201; {rss} | | | | |")
            continue
        out.append(
            f"{head}, {who} ({s['uploads']} photos) | upload -> answer p50 / p99, -> thumbnail "
            f"p50 / p99 (the service's mean part); peak RSS | {s['answer_p50_ms']:.0f} / "
            f"{s['answer_p99_ms']:.0f} ms, {s['thumbnail_p50_ms']:.0f} / "
            f"{s['thumbnail_p99_ms']:.0f} ms ({s.get('service_add_mean_ms') or 0:.0f} ms); "
            f"{rss} | | | | |"
        )
    return out


def webhook_rows(hooks: dict[str, Any]) -> list[str]:
    head = (
        f"| webhook fan-out, {hooks['endpoints']} endpoints, {hooks['offered_events_per_s']:g} "
        f"events/s for {hooks['seconds']:g} s | "
    )
    asked = hooks["deliveries_asked_per_s"]
    achieved = hooks["deliveries_per_s_while_producing"]
    drain = hooks["deliveries_per_s_after_producing"] or 0
    missing = (
        f"lost {hooks['lost']}"
        if hooks["drained"]
        else f"{hooks['lost']} not received when the wait stopped ({hooks['drain_s']:g} s)"
    )
    return [
        f"{head}deliveries/s while producing (asked {asked:g}), then while draining | "
        f"{achieved:.0f}/s, {drain:.0f}/s | | | {asked:g}/s | "
        f"{verdict(achieved >= 0.97 * asked)} |",
        f"{head}`occurred_at` -> receiver p50 / p99; lost, duplicated | {hooks['p50_ms']:.0f} / "
        f"{hooks['p99_ms']:.0f} ms; {missing}, {hooks['duplicated']} duplicated | | | lost 0 | "
        f"{verdict(hooks['drained'] and hooks['lost'] == 0)} |",
    ]


def machine(results: dict[str, Any]) -> list[str]:
    gateway = results.get("gateway") or {}
    lines = [
        f"Run {results['date']} on {platform.node() or 'this machine'}: {os.cpu_count()} cores "
        f"({platform.processor() or platform.machine()}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}.",
    ]
    if gateway:
        start, end = gateway.get("load_average_start"), gateway.get("load_average_end")
        lines.append(
            f"Load average (1/5/15 min) at the start of the HTTP runs {start}, at the end {end}; "
            "per phase in `.rivet/bench/latest.json`."
        )
        ds = gateway.get("dataset", {})
        lines.append(
            f"Data: one organization, {ds.get('assets')} assets, {ds.get('orders')} work orders; "
            f"{gateway['settings']['duration']:g} s per phase after "
            f"{gateway['settings']['warmup']:g} s of warm-up."
        )
    return lines


def write_doc(results: dict[str, Any], rows: list[str]) -> None:
    block = "\n".join(
        [BEGIN, "", *machine(results), "", *rows, "", f"Command: `{results['command']}`.", "", END]
    )
    text = DOC.read_text() if DOC.exists() else f"# Performance\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip() + f"\n\n## Latest figures\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    DOC.write_text(head + block + tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter HTTP and event phases")
    parser.add_argument(
        "--skip",
        default="",
        help="comma list of: gateway, events, search, ocr, webhooks, attachments",
    )
    parser.add_argument("--no-docs", action="store_true", help="do not update docs/performance.md")
    parser.add_argument("--ocr-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ocr_only:
        ocr_measure(args.ocr_only)
        return
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    STATE.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "command": "make bench" + (" (--quick)" if args.quick else ""),
    }
    if "gateway" not in args.skip:
        results["gateway"] = gateway_part(args, STATE / "gateway.json")
    if "search" not in args.skip:
        results["search"] = search_part(STATE / "search.json")
    if "ocr" not in args.skip:
        results["ocr"] = ocr_part(STATE / "ocr.json")
    if "webhooks" not in args.skip:
        results["webhooks"] = webhooks_part(args, STATE / "webhooks.json")
    if "attachments" not in args.skip:
        results["attachments"] = attachments_part(args, STATE / "attachments.json")
    (STATE / "latest.json").write_text(json.dumps(results, indent=1, default=str))
    rows = table(results)
    print()
    print("\n".join(machine(results)))
    print()
    print("\n".join(rows))
    if not args.no_docs:
        write_doc(results, rows)
        say(f"table written to {DOC.relative_to(ROOT)}; all figures in .rivet/bench/latest.json")


if __name__ == "__main__":
    main()
