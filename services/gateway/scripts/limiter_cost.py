"""The gateway rate limiter alone (a developer tool, not a benchmark of the running system: it
imports the gateway's code): CPU per request and NATS round trips per request, with the shared
key-value bucket on a private nats-server, at leases of 10 and of 1.

    uv run python services/gateway/scripts/limiter_cost.py [--requests 200000] [--callers 100]

Each caller gets the production default policy of a person (600 a minute, bursts of 100:
leases of 10) but the clock is advanced so no request is refused: what is measured is the
cost of the checks, not the refusals. Prints process CPU microseconds per check (the
gateway's share; nats-server's CPU is read from /proc) and key-value operations per check.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nats

from rivet_devstack.processes import cpu_seconds
from rivet_devstack.servers import EmbeddedNats
from rivet_gateway.ratelimit import Kind, Policy, RateLimiter, SharedBuckets


class Clock:
    def __init__(self) -> None:
        self.at = time.time()

    def __call__(self) -> float:
        return self.at


async def measure(url: str, requests: int, callers: int, lease: int, nats_pid: int) -> dict:
    nc = await nats.connect(url)
    clock = Clock()
    limiter = RateLimiter(
        {Kind.USER: Policy(600, 100)}, lease=lease, lease_seconds=2.0, monotonic=clock
    )
    bucket = "BENCH" + uuid.uuid4().hex[:6].upper()
    shared = SharedBuckets(nc.jetstream(), bucket, max_age=70, replicas=1, timeout=2.0, clock=clock)
    await limiter.connect(shared)
    ids = [uuid.uuid4().hex for _ in range(callers)]
    leases0 = _leases()
    cpu0, nats0, wall0 = time.process_time(), cpu_seconds({"n": nats_pid})["n"], time.perf_counter()
    for i in range(requests):
        if i % (callers * 10) == 0:
            clock.at += 2.0  # a full lease's worth of budget back for every caller: no refusal
        await limiter.check(Kind.USER, ids[i % callers])
    cpu1, nats1, wall1 = time.process_time(), cpu_seconds({"n": nats_pid})["n"], time.perf_counter()
    leases = _leases() - leases0
    await nc.jetstream().delete_key_value(bucket)
    await nc.close()
    return {
        "lease": lease,
        "requests": requests,
        "callers": callers,
        "cpu_us_per_check": round((cpu1 - cpu0) * 1e6 / requests, 2),
        "nats_cpu_us_per_check": round((nats1 - nats0) * 1e6 / requests, 2),
        "wall_us_per_check": round((wall1 - wall0) * 1e6 / requests, 2),
        "store_leases_per_check": round(leases / requests, 4),
    }


def _leases() -> float:
    from prometheus_client import REGISTRY

    return (
        REGISTRY.get_sample_value("rivet_gateway_rate_limit_leases_total", {"store": "shared"})
        or 0.0
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--callers", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rivet-bench-limiter-") as root:
        server = EmbeddedNats(Path(root) / "nats").start()
        try:
            assert server.proc is not None
            results = [
                asyncio.run(
                    measure(server.url, args.requests, args.callers, lease, server.proc.pid)
                )
                for lease in (10, 1)
            ]
        finally:
            server.stop()
    out = {"load_average": [round(x, 2) for x in os.getloadavg()], "runs": results}
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
