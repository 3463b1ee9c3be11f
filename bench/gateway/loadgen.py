"""A small HTTP/1.1 load generator, run as its own process so that its CPU shows apart.

    python bench/gateway/loadgen.py spec.json result.json

Why not httpx: on two shared cores the client must leave the CPU to the servers. httpx costs
a few hundred microseconds of CPU per request; this client writes pre-rendered requests on
keep-alive connections and reads responses by ``Content-Length`` (about 30-60 us per request
on the asyncio loop), and reports its own CPU time so the harness can show it.

Two modes:

* ``closed``: ``concurrency`` connections, each sending its next request when the previous
  answer arrived (saturation throughput).
* ``open``: requests start on a fixed schedule (``rate`` per second, evenly spaced) whatever
  the answers do; latency is measured from the *scheduled* start, so a stalled server cannot
  hide its queue (no coordinated omission). Connections are opened as needed.

Only loopback addresses are accepted. Every run is bounded by ``duration`` seconds and
``max_requests``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def loopback(host: str) -> str:
    if host == "localhost" or ipaddress.ip_address(host).is_loopback:
        return host
    raise SystemExit(f"refusing {host}: load is only sent to this machine")


def render(host: str, port: int, req: dict[str, Any]) -> bytes:
    """A request as bytes: method, path, headers, optional body (keep-alive)."""
    body = req.get("body", "").encode()
    lines = [f"{req['method']} {req['path']} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in req.get("headers", {}).items()]
    if body or req["method"] in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def call(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            end = lower.index(b"\r\n", at + 2)
            length = int(lower[at + 17 : end])
        elif b"transfer-encoding: chunked" in lower:
            raise RuntimeError("chunked responses are not supported by this client")
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        self.writer.close()


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    sent: int = 0


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def connect(host: str, port: int) -> Conn:
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 22)
    return Conn(reader, writer)


async def closed_loop(spec: dict[str, Any], requests: list[bytes]) -> tuple[Result, float]:
    host, port = spec["host"], spec["port"]
    warmup, duration = spec.get("warmup", 2.0), spec["duration"]
    budget = spec.get("max_requests", 1_000_000)
    result = Result()
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + duration
    counter = [0]

    async def worker(index: int) -> None:
        conn = await connect(host, port)
        try:
            while True:
                now = time.perf_counter()
                if now >= stop_at or result.sent >= budget:
                    return
                raw = requests[counter[0] % len(requests)]
                counter[0] += 1
                try:
                    status, _ = await conn.call(raw)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    result.errors += 1
                    conn.close()
                    conn = await connect(host, port)
                    continue
                done = time.perf_counter()
                if now >= measure_from:
                    result.sent += 1
                    result.latencies.append(done - now)
                    result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            conn.close()

    await asyncio.gather(*(worker(i) for i in range(spec["concurrency"])))
    elapsed = min(time.perf_counter(), stop_at) - measure_from
    return result, elapsed


async def open_loop(spec: dict[str, Any], requests: list[bytes]) -> tuple[Result, float]:
    host, port = spec["host"], spec["port"]
    rate, warmup, duration = spec["rate"], spec.get("warmup", 2.0), spec["duration"]
    budget = min(spec.get("max_requests", 1_000_000), int(rate * (warmup + duration)) + 1)
    max_conns = spec.get("max_connections", 256)
    result = Result()
    idle: list[Conn] = []
    opened = [0]
    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter()
    measure_from = start + warmup
    gap = 1.0 / rate

    async def one(raw: bytes, scheduled: float) -> None:
        if idle:
            conn = idle.pop()
        elif opened[0] < max_conns:
            opened[0] += 1
            conn = await connect(host, port)
        else:  # every connection busy: wait for one (the delay counts against the server)
            while not idle:  # noqa: ASYNC110 - short spin
                await asyncio.sleep(0.0005)
            conn = idle.pop()
        try:
            status, _ = await conn.call(raw)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            result.errors += 1
            conn.close()
            opened[0] -= 1
            return
        done = time.perf_counter()
        idle.append(conn)
        if scheduled >= measure_from:
            result.sent += 1
            result.latencies.append(done - scheduled)
            result.statuses[status] = result.statuses.get(status, 0) + 1

    for i in range(budget):
        scheduled = start + i * gap
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(requests[i % len(requests)], scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=30)
    for conn in idle:
        conn.close()
    return result, duration


def summary(result: Result, elapsed: float, cpu: float, raw: bool) -> dict[str, Any]:
    lat = result.latencies
    ok = sum(n for s, n in result.statuses.items() if 200 <= s < 300)
    extra = {"latencies_ms": [round(x * 1000, 3) for x in lat]} if raw else {}
    return extra | {
        "requests": result.sent,
        "ok": ok,
        "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
        "errors": result.errors,
        "seconds": round(elapsed, 3),
        "throughput": round(ok / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": round(pct(lat, 0.50) * 1000, 2),
        "p90_ms": round(pct(lat, 0.90) * 1000, 2),
        "p99_ms": round(pct(lat, 0.99) * 1000, 2),
        "max_ms": round(max(lat) * 1000, 2) if lat else 0.0,
        "client_cpu_s": round(cpu, 3),
    }


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    loopback(spec["host"])
    requests = [render(spec["host"], spec["port"], r) for r in spec["requests"]]
    spec["duration"] = min(float(spec["duration"]), 300.0)
    before = resource.getrusage(resource.RUSAGE_SELF)
    run = closed_loop if spec["mode"] == "closed" else open_loop
    result, elapsed = asyncio.run(run(spec, requests))
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    Path(sys.argv[2]).write_text(json.dumps(summary(result, elapsed, cpu, bool(spec.get("raw")))))


if __name__ == "__main__":
    main()
