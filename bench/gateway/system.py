"""The system under test, as ``make run`` starts it: every service a subprocess of its console
script, plus the bare baseline app, on loopback ports of their own.

* NATS: always a private ``nats-server`` (JetStream on file storage, ``sync_interval: always``,
  as ``make run`` and docker-compose configure it) in a temporary folder, so no one else's
  traffic shares it.
* PostgreSQL: by the rules of ``make run`` (``DATABASE_URL``, else a server on 127.0.0.1:5432,
  else an embedded one in ``.rivet/bench/postgres``), database ``rivet_bench`` (kept between
  runs so the data set is loaded once).
* Keys: a fresh Ed25519 pair per run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rivet_devstack.keys import generate
from rivet_devstack.processes import ServiceProcess, cpu_seconds
from rivet_devstack.servers import (
    EmbeddedNats,
    EmbeddedPostgres,
    drop_database,
    ensure_database,
    free_port,
    postgres_answers,
    with_database,
)
from rivet_devstack.services import (
    GATEWAY_LOAD_LIMITS,
    SERVICES,
    environment,
    missing_requirements,
)

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DATABASE = "rivet_bench"
FAST_HASHING = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "8192"}
"""Login is not measured; fast hashing only shortens the set-up."""


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass
class Stack:
    root: Path
    admin_url: str = ""
    database_url: str = ""
    nats: EmbeddedNats | None = None
    postgres: EmbeddedPostgres | None = None
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    public_key: Path | None = None
    other_gateway: dict[str, str] | None = None
    """Settings of a second ``rivet-gateway`` started in the bare app's place (a before/after
    comparison of gateway settings in one run); None: the bare app."""

    @property
    def gateway(self) -> ServiceProcess:
        return self.processes["gateway"]

    @property
    def bare(self) -> ServiceProcess:
        return self.processes["bare"]

    def pids(self) -> dict[str, int]:
        found = {n: p.proc.pid for n, p in self.processes.items() if p.proc is not None}
        if self.nats is not None and self.nats.proc is not None:
            found["nats-server"] = self.nats.proc.pid
        return found

    def postgres_server(self) -> str:
        """Administrative URL of the server, by ``make run``'s rules."""
        url = os.environ.get("DATABASE_URL")
        if url:
            return with_database(url, "postgres")
        local = "postgresql://postgres@127.0.0.1:5432/postgres"
        if os.environ.get("RIVET_EMBEDDED", "").lower() not in ("1", "true", "yes") and (
            postgres_answers(local)
        ):
            return local
        self.postgres = EmbeddedPostgres(ROOT / ".rivet" / "bench" / "postgres").start()
        return self.postgres.url

    def start_servers(self, keep: Callable[[str], bool]) -> None:
        """``keep(database_url)`` says whether the kept database can be reused."""
        self.nats = EmbeddedNats(self.root / "nats").start()
        self.admin_url = self.postgres_server()
        asyncio.run(ensure_database(self.admin_url, DATABASE))
        self.database_url = with_database(self.admin_url, DATABASE)
        if not keep(self.database_url):
            say(f"new database {DATABASE}")
            asyncio.run(drop_database(self.admin_url, DATABASE))
            asyncio.run(ensure_database(self.admin_url, DATABASE))

    def start_processes(self) -> None:
        keys = self.root / "keys"
        keys.mkdir()
        private, public = generate()
        (keys / "private.pem").write_text(private)
        (keys / "public.pem").write_text(public)
        self.public_key = keys / "public.pem"
        assert self.nats is not None
        base = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "DATABASE_"))}
        base |= {
            "NATS_URL": self.nats.url,
            "DATABASE_URL": self.database_url,
            "JWT_PRIVATE_KEY_FILE": str(keys / "private.pem"),
            "JWT_PUBLIC_KEY_FILE": str(keys / "public.pem"),
            "HTTP_HOST": "127.0.0.1",
            # /metrics beside /health on each process's free port (the gateway's default
            # METRICS_PORT is a fixed port, which parallel runs would share)
            "METRICS_PORT": "http",
            "LOG_JSON": os.environ.get("LOG_JSON", "false"),
            **FAST_HASHING,
            # one account sends everything: limits it never reaches (the limiter still runs)
            **environment(GATEWAY_LOAD_LIMITS),
            **{k: v for k, v in os.environ.items() if k.startswith("RATE_LIMIT_")},
        }
        services = dict(base)
        logs = self.root / "logs"
        logs.mkdir()
        for spec in SERVICES:
            if not spec.installed() or missing_requirements(spec):
                continue  # like `make run`: the Telegram bot needs a bot token
            port = free_port()
            self.processes[spec.name] = ServiceProcess(
                spec.name, [str(BIN / spec.command)], port,
                services | {"HTTP_PORT": str(port)}, logs / f"{spec.name}.log",
            )  # fmt: skip
        port = free_port()
        if self.other_gateway is not None:
            self.processes["bare"] = ServiceProcess(
                "bare", [str(BIN / "rivet-gateway")], port,
                services | self.other_gateway | {"HTTP_PORT": str(port)}, logs / "bare.log",
            )  # fmt: skip
        else:
            self.processes["bare"] = ServiceProcess(
                "bare", [sys.executable, str(Path(__file__).parent / "bare_app.py")], port,
                base | {"HTTP_PORT": str(port)}, logs / "bare.log",
            )  # fmt: skip
        for process in self.processes.values():
            process.start()
        for name, process in self.processes.items():
            self.wait_ready(process, "/health" if name == "bare" else "/ready", 120)
        say(f"up: {', '.join(self.processes)}; gateway {self.gateway.url}, bare {self.bare.url}")

    def wait_ready(self, process: ServiceProcess, path: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.proc is None or process.proc.poll() is not None:
                raise RuntimeError(f"{process.name} exited; see {process.log}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(process.url + path, timeout=2) as answer,  # noqa: S310
            ):
                if answer.status == 200:
                    return
            time.sleep(0.3)
        raise TimeoutError(f"{process.name} not ready after {timeout}s; see {process.log}")

    def close(self) -> None:
        for process in reversed(list(self.processes.values())):
            with contextlib.suppress(Exception):
                process.stop()
        if self.nats is not None:
            with contextlib.suppress(Exception):
                self.nats.stop()
        if self.postgres is not None:
            with contextlib.suppress(Exception):
                self.postgres.stop()

    def tail_logs(self, lines: int = 30) -> None:
        for process in self.processes.values():
            with contextlib.suppress(OSError):
                tail = process.log.read_text(errors="replace").splitlines()[-lines:]
                print(f"----- {process.name} (last {len(tail)} lines) -----")
                print("\n".join(tail))


@contextlib.contextmanager
def running(
    keep: Callable[[str], bool], other_gateway: dict[str, str] | None = None
) -> Iterator[Stack]:
    root = Path(tempfile.mkdtemp(prefix="rivet-bench-"))
    stack = Stack(root, other_gateway=other_gateway)
    failed = True
    try:
        stack.start_servers(keep)
        stack.start_processes()
        yield stack
        failed = False
    finally:
        if failed:
            stack.tail_logs()
        stack.close()
        shutil.rmtree(root, ignore_errors=True)


def postgres_cpu_seconds(database: str = DATABASE) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving ``database`` (by pid; the pools' long-lived
    connections: a backend that exits between two readings is not counted)."""
    ticks = float(os.sysconf("SC_CLK_TCK"))
    found: dict[int, float] = {}
    marker = f" {database} ".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            if marker not in (entry / "cmdline").read_bytes():
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def postgres_cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(after[pid] - before[pid] for pid in after if pid in before)


__all__ = ["ServiceProcess", "Stack", "cpu_seconds", "postgres_cpu_seconds", "running"]
