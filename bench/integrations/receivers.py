"""Webhook receivers for the fan-out benchmark, run as their own process so that their CPU
shows apart.

    python bench/integrations/receivers.py PORT [PORT ...]

Each port is one HTTP/1.1 server on 127.0.0.1 (keep-alive) that answers every request
``200`` with an empty body as soon as the whole request has been read, and records its
``webhook-id`` and the arrival time (``time.time()``, the machine's clock, which the producer
uses for ``occurred_at``). The first requests of each port are kept whole (headers and body),
for the benchmark to verify their Standard Webhooks signatures with the endpoint's secret.

Why not aiohttp: on two shared cores the receivers must leave the CPU to the service measured.
aiohttp costs a few hundred microseconds per request; this server parses with ``httptools``
(uvicorn's C parser) and writes a pre-rendered answer (tens of microseconds).

Control (any port): ``GET /_count`` answers ``{"requests": n, "distinct": n}``; ``GET /_dump``
answers every record, ``{"<port>": [[webhook-id, arrival], ...]}``, with the kept samples.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
import time
from typing import Any

import httptools

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
SAMPLES = 5
"""Requests kept whole per port."""


class Store:
    def __init__(self, ports: list[int]) -> None:
        self.arrivals: dict[int, list[tuple[str, float]]] = {p: [] for p in ports}
        self.seen: dict[int, set[str]] = {p: set() for p in ports}
        self.samples: dict[int, list[dict[str, Any]]] = {p: [] for p in ports}

    def count(self) -> dict[str, Any]:
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "requests": sum(len(a) for a in self.arrivals.values()),
            "distinct": sum(len(s) for s in self.seen.values()),
            "cpu_s": cpu.ru_utime + cpu.ru_stime,
        }

    def dump(self) -> dict[str, Any]:
        return {
            "arrivals": {str(p): a for p, a in self.arrivals.items()},
            "samples": {str(p): s for p, s in self.samples.items()},
            **self.count(),
        }


class Receiver(asyncio.Protocol):
    def __init__(self, port: int, store: Store) -> None:
        self.port = port
        self.store = store
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.webhook_id = ""

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            self.transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = {}
        self.body = []
        self.webhook_id = ""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        if key == "webhook-id":
            self.webhook_id = value.decode("latin-1")
        if len(self.store.samples[self.port]) < SAMPLES:
            self.headers[key] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        if len(self.store.samples[self.port]) < SAMPLES:
            self.body.append(body)

    def on_message_complete(self) -> None:
        arrived = time.time()
        assert self.transport is not None
        if self.url.startswith(b"/_"):
            self._control()
            return
        self.transport.write(OK)
        self.store.arrivals[self.port].append((self.webhook_id, arrived))
        self.store.seen[self.port].add(self.webhook_id)
        samples = self.store.samples[self.port]
        if len(samples) < SAMPLES:
            body = b"".join(self.body).decode()
            samples.append({"headers": self.headers, "body": body, "path": self.url.decode()})

    def _control(self) -> None:
        assert self.transport is not None
        answer = self.store.dump() if self.url.startswith(b"/_dump") else self.store.count()
        payload = json.dumps(answer).encode()
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(payload)).encode()
            + b"\r\n\r\n"
            + payload
        )


async def serve(ports: list[int]) -> None:
    loop = asyncio.get_running_loop()
    store = Store(ports)
    servers = []
    for port in ports:

        def protocol(port: int = port) -> Receiver:
            return Receiver(port, store)

        servers.append(await loop.create_server(protocol, "127.0.0.1", port, backlog=1024))
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def main() -> None:
    ports = [int(p) for p in sys.argv[1:]]
    if not ports:
        raise SystemExit(__doc__)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(ports))


if __name__ == "__main__":
    main()
