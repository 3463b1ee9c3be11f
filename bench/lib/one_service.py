"""One service run as ``make run`` runs it, for the benchmarks that price a single service.

    with one_service.running("workorders", database_url) as svc:
        reply = asyncio.run(...svc.caller()...)

* NATS: a private ``nats-server`` (``rivet_devstack.servers.EmbeddedNats``: JetStream on file
  storage, ``sync_interval: always``) in a temporary folder, so no one else's traffic shares it;
* the schema: the service's console script, ``rivet-<name> migrate`` (``migrate`` below, also
  usable alone, before a bulk load);
* the streams: every stream of the catalogue (``rivet_contracts.streams.ALL_STREAMS``) declared
  with the runtime's ``ensure_streams``, as their publishers would. A service waits at start for
  the streams it consumes (the work-order service for ``USERS`` and ``EQUIPMENT``, the assets
  service for ``NAMEPLATES``), and their publishers are not started here;
* the service: its console script, ``rivet-<name>``, with ``DATABASE_URL`` and ``NATS_URL``,
  until ``/ready`` answers.

Requests go over NATS request-reply with the catalogue's models (``Caller``): the service's
request validation, role check, transaction and JSON reply, without the gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
from pydantic import BaseModel

from rivet_contracts import Headers, Identity, Request
from rivet_contracts.spec import RpcSpec
from rivet_contracts.streams import ALL_STREAMS
from rivet_devstack.processes import ServiceProcess, cpu_seconds
from rivet_devstack.servers import EmbeddedNats, free_port
from rivet_runtime.identity import identity_headers
from rivet_runtime.settings import ServiceSettings
from rivet_runtime.streams import ensure_streams

BIN = Path(sys.executable).parent
QUIET = {"LOG_JSON": "false", "LOG_LEVEL": "WARNING"}


def command(name: str) -> str:
    """The console script ``rivet-<name>`` of the environment running the benchmark."""
    script = BIN / f"rivet-{name}"
    found = str(script) if script.exists() else shutil.which(f"rivet-{name}")
    if found is None:
        raise SystemExit(f"rivet-{name} not found: run `uv sync` (or `make run` once)")
    return found


def service_env(
    database_url: str, nats_url: str, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment ``make run`` gives a service, pointed at these servers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "DATABASE_"))}
    return env | {
        "NATS_URL": nats_url,
        "DATABASE_URL": database_url,
        "HTTP_HOST": "127.0.0.1",
        "METRICS_PORT": "http",
        **QUIET,
        **(extra or {}),
    }


def migrate(name: str, database_url: str, timeout: float = 600) -> float:
    """``rivet-<name> migrate`` against ``database_url``; seconds taken."""
    started = time.perf_counter()
    env = service_env(database_url, "nats://127.0.0.1:1")  # migrate needs no NATS
    subprocess.run([command(name), "migrate"], env=env, check=True, timeout=timeout)
    return time.perf_counter() - started


async def declare_streams(nats_url: str) -> None:
    """Every stream of the catalogue, configured as the publishers configure theirs."""
    nc = await nats.connect(nats_url)
    try:
        settings = ServiceSettings(nats_url=nats_url, nats_namespace="")
        await ensure_streams(nc.jetstream(), ALL_STREAMS, settings)
    finally:
        await nc.close()


@dataclass
class Running:
    name: str
    nats: EmbeddedNats
    process: ServiceProcess
    pids: dict[str, int] = field(default_factory=dict)

    def cpu(self) -> float:
        """CPU seconds of the service process so far."""
        return cpu_seconds({"service": self.pids["service"]}).get("service", 0.0)

    def settle(self, limit: float = 300.0, quiet: float = 0.03) -> float:
        """Wait until the service is idle (start-up work, a health refresh, relays: done);
        seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < limit:
            before = self.cpu()
            time.sleep(0.5)
            if self.cpu() - before < quiet:
                break
        return time.monotonic() - started

    def caller(self, identity: Identity | None) -> Caller:
        return Caller(self.nats.url, identity)


@contextlib.contextmanager
def running(
    name: str, database_url: str, env: dict[str, str] | None = None, ready_within: float = 180
) -> Iterator[Running]:
    """``rivet-<name>`` serving on a private NATS (streams declared), until the block ends."""
    root = Path(tempfile.mkdtemp(prefix=f"rivet-bench-{name}-"))
    server = EmbeddedNats(root / "nats").start()
    process: ServiceProcess | None = None
    try:
        asyncio.run(declare_streams(server.url))
        port = free_port()
        process = ServiceProcess(
            name,
            [command(name)],
            port,
            service_env(database_url, server.url, (env or {}) | {"HTTP_PORT": str(port)}),
            root / f"{name}.log",
        )
        process.start()
        wait_ready(process, ready_within)
        assert process.proc is not None
        assert server.proc is not None
        yield Running(name, server, process, {"service": process.proc.pid,
                                              "nats-server": server.proc.pid})  # fmt: skip
    except BaseException:
        if process is not None:
            with contextlib.suppress(OSError):
                tail = process.log.read_text(errors="replace").splitlines()[-30:]
                print(f"----- {name} log (last {len(tail)} lines) -----", file=sys.stderr)
                print("\n".join(tail), file=sys.stderr)
        raise
    finally:
        if process is not None:
            process.stop()
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def wait_ready(process: ServiceProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited; see its log above")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(process.url + "/ready", timeout=2) as answer,  # noqa: S310
        ):
            if answer.status == 200:
                return
        time.sleep(0.3)
    raise TimeoutError(f"{process.name} not ready after {timeout:.0f}s")


class ServiceFailed(Exception):
    """The service answered with an error (``Rivet-Error``)."""


class Caller:
    """NATS request-reply to the service with the catalogue's models, as one caller."""

    def __init__(self, nats_url: str, identity: Identity | None) -> None:
        self.url = nats_url
        self.headers = identity_headers(identity) | {Headers.CORRELATION_ID: "bench"}
        self.nc: Any = None

    async def __aenter__(self) -> Caller:
        self.nc = await nats.connect(self.url)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.nc.close()

    @staticmethod
    def body(request: Request) -> bytes:
        """The request as a client sends it (fields left at their defaults are not sent)."""
        return request.model_dump_json(exclude_unset=True).encode()

    async def raw(self, subject: str, body: bytes, timeout: float = 10.0) -> bytes:  # noqa: ASYNC109
        """One round trip; the reply's bytes (``ServiceFailed`` on an error reply)."""
        reply = await self.nc.request(subject, body, timeout=timeout, headers=self.headers)
        if Headers.ERROR in (reply.headers or {}):
            raise ServiceFailed(f"{subject}: {reply.data.decode(errors='replace')}")
        data: bytes = reply.data
        return data

    async def call(self, spec: RpcSpec[Any, Any], request: Request) -> Any:
        """``spec``'s request, its reply parsed as ``spec.reply``."""
        reply: BaseModel = spec.reply.model_validate_json(
            await self.raw(spec.subject, self.body(request))
        )
        return reply
