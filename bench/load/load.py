"""Mixed load on the gateway: list, view, search, create, transition, stats.

    uv run python bench/load/load.py                    # a private system, like the chaos suite
    uv run python bench/load/load.py --url http://127.0.0.1:8000   # `make run`'s gateway

Registers a fresh organization, seeds assets and work orders (not measured), then runs
``--concurrency`` clients until ``--requests`` requests were sent or ``--duration`` seconds
passed, whichever comes first. Prints, per route: requests, throughput, p50 and p99 latency and
error rate (any answer >= 400 other than an expected 409 race, or no answer). Loopback only: the
URL must point at this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import random
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from rivet_devstack.processes import cpu_seconds

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "load test battery"  # noqa: S105 - a throwaway account of the run
BRANDS = ("ABB", "Siemens", "Allen-Bradley", "Grundfos", "WEG", "Baldor")
SEARCHES = ("siemens 1le1", "abb acs58", "grundfos cr", "pump", "allen bradley 525", "WEG W22")
MIX = (
    ("GET /api/equipment", 14),
    ("GET /api/equipment/{ref}", 12),
    ("GET /api/equipment/search/fuzzy", 14),
    ("POST /api/equipment", 8),
    ("GET /api/work-orders", 10),
    ("GET /api/work-orders/{ref}", 10),
    ("POST /api/work-orders", 7),
    ("PATCH /api/work-orders/{ref} (transition)", 10),
    ("GET /api/stats/overview", 5),
    ("GET /api/stats/equipment-health", 4),
    ("GET /api/stats/kpis", 3),
    ("GET /api/stats/summary", 3),
)
NEXT = {
    "open": ("in_progress",),
    "in_progress": ("on_hold", "completed"),
    "on_hold": ("in_progress",),
    "completed": ("open",),
}


def loopback_only(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise SystemExit(f"refusing {url}: load is only sent to this machine (127.0.0.0/8, ::1)")


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )

    def add(self, route: str, seconds: float, status: int | None, ok: bool) -> None:
        self.latencies[route].append(seconds)
        self.statuses[route][status or 0] += 1
        if not ok:
            self.errors[route] += 1


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


@dataclass
class Load:
    client: httpx.AsyncClient
    rng: random.Random
    headers: dict[str, str] = field(default_factory=dict)
    assets: list[str] = field(default_factory=list)
    orders: dict[str, tuple[str, int]] = field(default_factory=dict)
    idle: list[str] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    sent: int = 0
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    serial: int = 0

    async def setup(self, seed_assets: int, seed_orders: int) -> None:
        email = f"load-{self.tag}@example.com"
        body = {"email": email, "password": PASSWORD, "full_name": "Load", "organization_name": "L"}
        (await self.client.post("/api/auth/register", json=body)).raise_for_status()
        login = await self.client.post(
            "/api/auth/login", data={"username": email, "password": PASSWORD}
        )
        login.raise_for_status()
        self.headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for _ in range(seed_assets):
            await self.create_asset()
        for _ in range(seed_orders):
            await self.create_order()

    def asset_body(self) -> dict[str, Any]:
        self.serial += 1
        brand = self.rng.choice(BRANDS)
        return {
            "manufacturer": brand,
            "model": f"{brand[:3].upper()} {self.rng.randint(100, 999)}",
            "serial": f"LD{self.tag}-{self.serial:06d}",
            "name": f"{self.rng.choice(('Pump', 'Fan', 'Drive', 'Motor'))} {self.serial}",
            "location": f"Plant {self.serial % 4} / Line {self.serial % 9}",
            "criticality": self.rng.choice(("low", "medium", "high", "critical")),
        }

    async def create_asset(self) -> httpx.Response:
        answer = await self.client.post(
            "/api/equipment", json=self.asset_body(), headers=self.headers
        )
        if answer.status_code == 201:
            self.assets.append(answer.json()["equipment"]["id"])
        return answer

    async def create_order(self) -> httpx.Response:
        body = {
            "equipment_id": self.rng.choice(self.assets),
            "title": f"Load order {self.sent}",
            "priority": self.rng.choice(("low", "medium", "high")),
        }
        answer = await self.client.post("/api/work-orders", json=body, headers=self.headers)
        if answer.status_code == 201:
            view = answer.json()
            self.orders[view["id"]] = (view["status"], view["version"])
            self.idle.append(view["id"])
        return answer

    async def transition(self) -> httpx.Response | None:
        if not self.idle:
            return None
        order = self.idle.pop(self.rng.randrange(len(self.idle)))
        status, version = self.orders[order]
        target = self.rng.choice(NEXT.get(status, ("open",)))
        body: dict[str, Any] = {"status": target, "expected_version": version}
        if target == "open":
            body["reason"] = "load test"
        try:
            answer = await self.client.patch(
                f"/api/work-orders/{order}", json=body, headers=self.headers
            )
            if answer.status_code == 200:
                view = answer.json()
                self.orders[order] = (view["status"], view["version"])
            return answer
        finally:
            self.idle.append(order)

    async def one(self, route: str) -> httpx.Response | None:
        c, h, rng = self.client, self.headers, self.rng
        if route == "GET /api/equipment":
            sort = rng.choice(("number", "-created_at", "-criticality", "location"))
            return await c.get("/api/equipment", params={"limit": 50, "sort": sort}, headers=h)
        if route == "GET /api/equipment/{ref}":
            return await c.get(f"/api/equipment/{rng.choice(self.assets)}", headers=h)
        if route == "GET /api/equipment/search/fuzzy":
            query = rng.choice(SEARCHES)
            return await c.get("/api/equipment/search/fuzzy", params={"query": query}, headers=h)
        if route == "POST /api/equipment":
            return await self.create_asset()
        if route == "GET /api/work-orders":
            params = {"limit": 50, "status": rng.choice(("open", "in_progress", "completed"))}
            return await c.get("/api/work-orders", params=params, headers=h)
        if route == "GET /api/work-orders/{ref}":
            return await c.get(f"/api/work-orders/{rng.choice(list(self.orders))}", headers=h)
        if route == "POST /api/work-orders":
            return await self.create_order()
        if route.startswith("PATCH /api/work-orders"):
            return await self.transition()
        path = route.split(" ", 1)[1]
        params = {"days": 30} if path.endswith("kpis") else {"limit": 20}
        if path.endswith("overview"):
            params = {}
        return await c.get(path, params=params, headers=h)

    async def worker(self, deadline: float, budget: int) -> None:
        routes, weights = zip(*MIX, strict=True)
        while self.sent < budget and time.monotonic() < deadline:
            route = self.rng.choices(routes, weights)[0]
            self.sent += 1
            started = time.perf_counter()
            try:
                answer = await self.one(route)
            except httpx.HTTPError:
                self.stats.add(route, time.perf_counter() - started, None, ok=False)
                continue
            if answer is None:
                self.sent -= 1
                continue
            status = answer.status_code
            ok = status < 400 or (status == 409 and route.startswith("PATCH"))
            self.stats.add(route, time.perf_counter() - started, status, ok)


def report(stats: Stats, elapsed: float, concurrency: int) -> str:
    lines = [
        f"mixed load: {concurrency} clients, {elapsed:.1f} s",
        f"{'route':<44} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>7}",
    ]
    total, errors, every = 0, 0, []
    for route, _ in MIX:
        values = stats.latencies.get(route, [])
        if not values:
            continue
        n, bad = len(values), stats.errors.get(route, 0)
        total, errors = total + n, errors + bad
        every += values
        lines.append(
            f"{route:<44} {n:>8} {n / elapsed:>7.1f} {percentile(values, 0.5) * 1000:>7.1f}"
            f" {percentile(values, 0.99) * 1000:>7.1f} {100 * bad / n:>6.2f}%"
        )
    lines.append(
        f"{'all':<44} {total:>8} {total / elapsed:>7.1f} {percentile(every, 0.5) * 1000:>7.1f}"
        f" {percentile(every, 0.99) * 1000:>7.1f} {100 * errors / max(total, 1):>6.2f}%"
    )
    return "\n".join(lines)


async def run(url: str, args: argparse.Namespace) -> tuple[Stats, float]:
    limits = httpx.Limits(max_connections=args.concurrency + 2)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        load = Load(client, random.Random(args.seed))
        await load.setup(args.seed_assets, args.seed_orders)
        started = time.monotonic()
        deadline = started + args.duration
        await asyncio.gather(
            *(load.worker(deadline, args.requests) for _ in range(args.concurrency))
        )
        return load.stats, time.monotonic() - started


@dataclass
class System:
    url: str
    pids: dict[str, int] = field(default_factory=dict)


@contextlib.contextmanager
def system(url: str | None, env: dict[str, str] | None = None) -> Iterator[System]:
    if url:
        loopback_only(url)
        yield System(url)
        return
    sys.path.insert(0, str(ROOT / "tests" / "chaos"))
    from chaos_cluster import Cluster

    # The services' own pool size (the chaos suite runs smaller pools on a shared server).
    with Cluster.running(admin_url=None, env={"DB_POOL_SIZE": "10"} | (env or {})) as cluster:
        pids = {n: s.proc.pid for n, s in cluster.services.items() if s.proc is not None}
        assert cluster.nats is not None
        assert cluster.nats.proc is not None
        pids["nats-server"] = cluster.nats.proc.pid
        yield System(cluster.gateway_url, pids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running gateway on this machine (default: start one)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds at most (60)")
    parser.add_argument("--requests", type=int, default=20_000, help="requests at most (20000)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed-assets", type=int, default=200)
    parser.add_argument("--seed-orders", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the services this script starts (repeatable)",
    )
    args = parser.parse_args()
    args.duration = min(args.duration, 600.0)
    args.requests = min(args.requests, 200_000)
    settings = dict(item.split("=", 1) for item in args.env)
    with system(args.url, settings) as target:
        before = cpu_seconds(target.pids)
        stats, elapsed = asyncio.run(run(target.url, args))
        after = cpu_seconds(target.pids)
    print(report(stats, elapsed, args.concurrency))
    if after:
        used = {n: after[n] - before.get(n, 0.0) for n in after}
        print(
            "CPU during the run (seeding included), % of one core: "
            + ", ".join(
                f"{n} {100 * s / elapsed:.0f}%"
                for n, s in sorted(used.items(), key=lambda i: -i[1])
            )
        )
    if args.json:
        figures = {
            route: {
                "requests": len(v),
                "p50_ms": percentile(v, 0.5) * 1000,
                "p99_ms": percentile(v, 0.99) * 1000,
                "errors": stats.errors.get(route, 0),
                "statuses": dict(stats.statuses[route]),
            }
            for route, v in stats.latencies.items()
        }
        args.json.write_text(json.dumps({"elapsed": elapsed, "routes": figures}, indent=2))


if __name__ == "__main__":
    main()
