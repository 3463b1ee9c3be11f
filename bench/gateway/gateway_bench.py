"""Key routes through the real gateway next to the bare FastAPI + asyncpg baseline, and the
event end-to-end latency, measured in one run on one machine.

    uv run python bench/gateway/gateway_bench.py [--json out.json] [--quick]

Starts the system (see ``system.py``), loads or reuses the data set (``data.py``), then for
each route:

1. **throughput**: closed loop, ``--concurrency`` keep-alive connections, ``--duration``
   seconds after a warm-up, against the gateway, then against the bare app (the order
   alternates from route to route);
2. **latency**: open loop at a fixed rate, the same for both targets: ``--latency-load`` (0.5)
   x the lower of the two throughputs, so both run well below saturation and the p99 shows
   the cost of the path rather than a queue.

CPU seconds of every process (gateway, services, NATS, bare app, all PostgreSQL processes,
the load generator) are read from /proc around each throughput phase and reported per request.
Before measuring, one request per route goes to both targets and the JSON answers are
compared (volatile fields aside): the baseline must do the same work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import asyncpg
import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import data  # noqa: E402
import events  # noqa: E402
import system  # noqa: E402

say = system.say
ROUTES = ("equipment_by_id", "equipment_list", "fuzzy_search", "work_order_create",
          "stats_overview")  # fmt: skip
LABELS = {
    "equipment_by_id": "GET /api/equipment/{id}",
    "equipment_list": "GET /api/equipment?limit=50",
    "fuzzy_search": "GET /api/equipment/search/fuzzy?query=...",
    "work_order_create": "POST /api/work-orders",
    "stats_overview": "GET /api/stats/overview",
}
SERVICE_OF = {
    "equipment_by_id": "assets",
    "equipment_list": "assets",
    "fuzzy_search": "assets",
    "work_order_create": "workorders",
    "stats_overview": "workorders",
}
VOLATILE = {"as_of", "id", "number", "created_at", "updated_at", "status_changed_at", "at",
            "due_at", "work_order_id"}  # fmt: skip


def requests_for(
    route: str, token: str, ids: list[Any], queries: list[str]
) -> list[dict[str, Any]]:
    auth = {"Authorization": f"Bearer {token}"}
    rng = random.Random(3)
    if route == "equipment_by_id":
        return [{"method": "GET", "path": f"/api/equipment/{i}", "headers": auth} for i in ids]
    if route == "equipment_list":
        return [{"method": "GET", "path": "/api/equipment?limit=50", "headers": auth}]
    if route == "fuzzy_search":
        return [
            {"method": "GET", "headers": auth,
             "path": "/api/equipment/search/fuzzy?" + urllib.parse.urlencode({"query": q})}
            for q in queries
        ]  # fmt: skip
    if route == "work_order_create":
        headers = auth | {"Content-Type": "application/json"}
        return [
            {"method": "POST", "path": "/api/work-orders", "headers": headers,
             "body": json.dumps({"equipment_id": str(i), "title": f"Bench order {n}",
                                 "priority": rng.choice(("low", "medium", "high")),
                                 "fault_codes": ["F0001"] if n % 3 == 0 else []})}
            for n, i in enumerate(ids)
        ]  # fmt: skip
    return [{"method": "GET", "path": "/api/stats/overview", "headers": auth}]


def scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def same_answers(stack: system.Stack, reqs: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """The first ``n`` requests to both targets: statuses and JSON (volatile fields aside)."""
    differences = []
    for req in reqs[:n]:
        answers = []
        for target in (stack.gateway, stack.bare):
            answer = httpx.request(
                req["method"], target.url + req["path"], headers=req["headers"],
                content=req.get("body"), timeout=30,
            )  # fmt: skip
            answers.append((answer.status_code, scrub(answer.json())))
        if answers[0] != answers[1]:
            differences.append({"path": req["path"], "gateway": answers[0], "bare": answers[1]})
    return {"compared": min(n, len(reqs)), "different": len(differences),
            "first_difference": differences[0] if differences else None}  # fmt: skip


def loadgen(spec: dict[str, Any], work: Path) -> dict[str, Any]:
    spec_file, out_file = work / "spec.json", work / "out.json"
    spec_file.write_text(json.dumps(spec))
    subprocess.run(
        [sys.executable, str(HERE / "loadgen.py"), str(spec_file), str(out_file)],
        check=True, timeout=spec["duration"] + spec.get("warmup", 2) + 120,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out_file.read_text())
    return result


def settle(stack: system.Stack, limit: float = 15.0) -> None:
    """Wait until the processes are idle (the follow-up of writes - relays, consumers - done),
    then write PostgreSQL's dirty pages out, so that the checkpoint a previous phase's writes
    started does not run (and stall commits) during the next measurement."""
    asyncio.run(checkpoint(stack.admin_url))
    pids = stack.pids()
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = sum(system.cpu_seconds(pids).values())
        time.sleep(0.5)
        if sum(system.cpu_seconds(pids).values()) - before < 0.03:
            return


async def checkpoint(admin_url: str) -> None:
    try:
        conn = await asyncpg.connect(admin_url)
    except (OSError, asyncpg.PostgresError) as exc:
        say(f"  (no CHECKPOINT: {exc})")
        return
    try:
        await conn.execute("CHECKPOINT")
    except asyncpg.PostgresError as exc:  # needs superuser or pg_checkpoint
        say(f"  (no CHECKPOINT: {exc})")
    finally:
        await conn.close()


def measured(
    stack: system.Stack, spec: dict[str, Any], work: Path
) -> tuple[dict[str, Any], dict[str, float]]:
    pids = stack.pids()
    cpu0, pg0, t0 = system.cpu_seconds(pids), system.postgres_cpu_seconds(), time.monotonic()
    load0 = os.getloadavg()[0]
    result = loadgen(spec, work)
    cpu1, pg1, wall = system.cpu_seconds(pids), system.postgres_cpu_seconds(), time.monotonic() - t0
    used = {n: cpu1[n] - cpu0.get(n, 0.0) for n in cpu1}
    used["postgres"] = system.postgres_cpu_used(pg0, pg1)
    used["load generator"] = result["client_cpu_s"]
    result["wall_s"] = round(wall, 2)
    result["load_average"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    return result, used


def pooled(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Latency percentiles over the raw samples of several rounds."""
    samples = sorted(x for r in results for x in r.pop("latencies_ms"))

    def at(q: float) -> float:
        return round(samples[min(len(samples) - 1, int(q * len(samples)))], 2) if samples else 0.0

    statuses: dict[str, int] = {}
    for r in results:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    return {"requests": len(samples), "p50_ms": at(0.5), "p90_ms": at(0.9), "p99_ms": at(0.99),
            "max_ms": round(samples[-1], 2) if samples else 0.0, "statuses": statuses,
            "errors": sum(r["errors"] for r in results),
            "load_average": [r["load_average"] for r in results]}  # fmt: skip


def bench_route(
    stack: system.Stack, route: str, reqs: list[dict[str, Any]], args: argparse.Namespace,
    work: Path,
) -> dict[str, Any]:  # fmt: skip
    """``args.rounds`` rounds, gateway and bare app alternating (ABBA...), per phase."""
    out: dict[str, Any] = {"label": LABELS[route]}
    service = SERVICE_OF[route]
    pair = [("gateway", stack.gateway), ("bare", stack.bare)]
    names = {"gateway": ["gateway", service, "nats-server"], "bare": ["bare"]}
    runs: dict[str, list[dict[str, Any]]] = {"gateway": [], "bare": []}
    cpu: dict[str, dict[str, float]] = {"gateway": {}, "bare": {}}
    served: dict[str, float] = {"gateway": 0.0, "bare": 0.0}
    for r in range(args.rounds):
        for name, target in pair if r % 2 == 0 else pair[::-1]:
            spec = {"host": "127.0.0.1", "port": target.port, "mode": "closed",
                    "concurrency": args.concurrency, "duration": args.duration,
                    "warmup": args.warmup, "requests": reqs}  # fmt: skip
            settle(stack)
            result, used = measured(stack, spec, work)
            result.pop("latencies_ms", None)
            runs[name].append(result)
            served[name] += result["throughput"] * (result["seconds"] + args.warmup)
            for process in [*names[name], "postgres", "load generator"]:
                cpu[name][process] = cpu[name].get(process, 0.0) + used.get(process, 0.0)
            say(f"  {name} round {r + 1}: {result['throughput']:.0f}/s, "
                f"statuses {result['statuses']}")  # fmt: skip
    for name in ("gateway", "bare"):
        values = [x["throughput"] for x in runs[name]]
        out[f"{name}_throughput"] = {
            "throughput": round(statistics.median(values), 1),
            "rounds": values,
            "closed_loop_p50_ms": [x["p50_ms"] for x in runs[name]],
            "closed_loop_p99_ms": [x["p99_ms"] for x in runs[name]],
            "statuses": [x["statuses"] for x in runs[name]],
            "load_average": [x["load_average"] for x in runs[name]],
            "cpu_ms_per_request": {
                k: round(v * 1000 / max(1.0, served[name]), 3) for k, v in cpu[name].items()
            },
        }
    ratios = [
        g["throughput"] / b["throughput"]
        for g, b in zip(runs["gateway"], runs["bare"], strict=True)
        if b["throughput"]
    ]
    out["throughput_ratio"] = round(statistics.median(ratios), 3) if ratios else 0.0
    out["throughput_ratio_rounds"] = [round(x, 3) for x in ratios]
    rate = args.latency_load * min(
        out["gateway_throughput"]["throughput"], out["bare_throughput"]["throughput"]
    )
    rate = max(5.0, round(rate, 1))
    lat: dict[str, list[dict[str, Any]]] = {"gateway": [], "bare": []}
    for r in range(args.rounds):
        for name, target in pair if r % 2 == 0 else pair[::-1]:
            spec = {"host": "127.0.0.1", "port": target.port, "mode": "open", "rate": rate,
                    "duration": args.duration, "warmup": args.warmup, "requests": reqs,
                    "raw": True}  # fmt: skip
            settle(stack)
            result, _ = measured(stack, spec, work)
            lat[name].append(result)
    for name in ("gateway", "bare"):
        out[f"{name}_latency"] = pooled(lat[name]) | {"rate": rate}
        say(f"  {name} at {rate}/s: p50 {out[f'{name}_latency']['p50_ms']} ms, "
            f"p99 {out[f'{name}_latency']['p99_ms']} ms")  # fmt: skip
    gl, bl = out["gateway_latency"], out["bare_latency"]
    out["p99_ratio"] = round(gl["p99_ms"] / bl["p99_ms"], 3) if bl["p99_ms"] else 0.0
    out["p50_ratio"] = round(gl["p50_ms"] / bl["p50_ms"], 3) if bl["p50_ms"] else 0.0
    g, b = out["gateway_throughput"], out["bare_throughput"]
    say(f"  throughput {g['throughput']:.0f} vs {b['throughput']:.0f}/s: "
        f"{out['throughput_ratio']:.2f}x (rounds {out['throughput_ratio_rounds']}); "
        f"p99 {out['p99_ratio']:.2f}x")  # fmt: skip
    return out


def spy(stack: system.Stack, names: list[str], seconds: float, folder: Path, tag: str) -> list[Any]:
    """Start py-spy on the named processes for ``seconds`` (speedscope files in ``folder``)."""
    exe = shutil.which("py-spy") or shutil.which("py-spy", path=str(system.BIN))
    if exe is None:
        raise SystemExit("py-spy not found: uv pip install py-spy (or put it on PATH)")
    folder.mkdir(parents=True, exist_ok=True)
    pids = stack.pids()
    return [
        subprocess.Popen(
            [
                exe,
                "record",
                "--pid",
                str(pids[name]),
                "--duration",
                str(int(seconds)),
                "--rate",
                "200",
                "--format",
                "speedscope",
                "--nonblocking",
                "--output",
                str(folder / f"{tag}.{name}.speedscope.json"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in names
    ]


def profile(stack: system.Stack, account: Any, ids: list[Any], queries: list[str],
            args: argparse.Namespace, work: Path) -> None:  # fmt: skip
    """py-spy the gateway path (closed loop, each route) and the event path, nothing measured."""
    folder = Path(args.profile)
    routes = [r for r in args.routes.split(",") if r]
    for route in routes:
        token = data.login(stack.gateway.url, account.email, account.password)
        reqs = requests_for(route, token, ids, queries)
        settle(stack)
        spies = spy(stack, ["gateway", SERVICE_OF[route]], args.duration + args.warmup,
                    folder, route)  # fmt: skip
        spec = {"host": "127.0.0.1", "port": stack.gateway.port, "mode": "closed",
                "concurrency": args.concurrency, "duration": args.duration,
                "warmup": args.warmup, "requests": reqs}  # fmt: skip
        loadgen(spec, work)
        for process in spies:
            process.wait(60)
    if not args.no_events:
        settle(stack)
        spies = spy(stack, ["assets", "workorders", "nats-server"][:2], args.events_duration + 3,
                    folder, "events")  # fmt: skip
        result = asyncio.run(
            events.measure(stack.database_url, account.org_id, account.user_id,
                           rate=args.events_rate, duration=args.events_duration)
        )  # fmt: skip
        say(f"  events while profiled: {result}")
        for process in spies:
            process.wait(60)
    say(f"profiles in {folder}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--reload", action="store_true", help="rebuild the data set")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per phase")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3, help="alternating phases per target")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-load", type=float, default=0.4)
    parser.add_argument("--routes", default=",".join(ROUTES))
    parser.add_argument("--events-rate", type=float, default=200.0)
    parser.add_argument("--events-duration", type=float, default=30.0)
    parser.add_argument("--no-events", action="store_true")
    parser.add_argument("--profile", metavar="DIR", help="py-spy the gateway path instead")
    parser.add_argument("--quick", action="store_true", help="5 s phases, 10 s of events")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--against-gateway",
        metavar="VAR=VALUE,...",
        help="compare the gateway with a second rivet-gateway started with these settings "
        "in place of the bare app (reported as 'bare'), e.g. RATE_LIMIT_USER=0 for the cost of "
        "the rate limits",
    )
    args = parser.parse_args()
    if args.quick:
        args.duration, args.rounds, args.events_duration = 4.0, 1, 10.0
    args.duration = min(args.duration, 120.0)
    args.events_duration = min(args.events_duration, 120.0)
    routes = [r for r in args.routes.split(",") if r]
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cores": os.cpu_count(),
        "settings": {k: v for k, v in vars(args).items() if k not in ("json",)},
        "routes": {},
    }
    results["settings"]["json"] = None
    work = Path(tempfile.mkdtemp(prefix="rivet-bench-lg-"))
    say("starting NATS, the services and the bare app")
    try:

        def keep(database_url: str) -> bool:
            return not args.reload and asyncio.run(
                data.is_kept(database_url, args.assets, args.orders)
            )

        other = None
        if args.against_gateway:
            other = dict(item.split("=", 1) for item in args.against_gateway.split(","))
        with system.running(keep, other) as stack:
            say(f"PostgreSQL {system.ROOT and stack.admin_url.rsplit('@', 1)[-1]}, "
                f"database {system.DATABASE}")  # fmt: skip
            account = asyncio.run(
                data.ensure(stack.database_url, stack.gateway.url, args.assets, args.orders)
            )
            ids, queries = asyncio.run(data.samples(stack.database_url, account.org_id))
            results["dataset"] = {"assets": args.assets, "orders": args.orders,
                                  "search_queries": len(queries)}  # fmt: skip
            results["load_average_start"] = [round(x, 2) for x in os.getloadavg()]
            if args.profile:
                profile(stack, account, ids, queries, args, work)
                return
            for route in routes:
                token = data.login(stack.gateway.url, account.email, account.password)
                reqs = requests_for(route, token, ids, queries)
                check = same_answers(stack, reqs, 5 if route != "work_order_create" else 1)
                if check["different"]:
                    say(f"  WARNING {route}: answers differ: {check['first_difference']}")
                say(f"{LABELS[route]}")
                results["routes"][route] = bench_route(stack, route, reqs, args, work)
                results["routes"][route]["same_answers"] = check
            if not args.no_events:
                settle(stack)
                say(f"events: equipment.created at {args.events_rate}/s for "
                    f"{args.events_duration} s")  # fmt: skip
                load0 = os.getloadavg()[0]
                pids = stack.pids()
                cpu0, pg0 = system.cpu_seconds(pids), system.postgres_cpu_seconds()
                results["events"] = asyncio.run(
                    events.measure(stack.database_url, account.org_id, account.user_id,
                                   rate=args.events_rate, duration=args.events_duration)
                )  # fmt: skip
                cpu1, pg1 = system.cpu_seconds(pids), system.postgres_cpu_seconds()
                produced = args.events_rate * (args.events_duration + 3)
                used = {
                    n: cpu1[n] - cpu0.get(n, 0.0)
                    for n in ("assets", "workorders", "nats-server")
                    if n in cpu1
                }
                used["postgres"] = system.postgres_cpu_used(pg0, pg1)
                results["events"]["cpu_ms_per_event"] = {
                    n: round(v * 1000 / produced, 3) for n, v in used.items()
                }
                results["events"]["load_average"] = [round(load0, 2),
                                                     round(os.getloadavg()[0], 2)]  # fmt: skip
                say(f"  events: {results['events']}")
            results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(results, indent=1, default=str)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
