"""The whole system as real processes, for fault tests and load runs.

A private ``nats-server`` (file store, ``sync_interval: always``) in a temporary folder, a
PostgreSQL (a private embedded one that may be restarted, or a fresh database on the machine's
server) and every service started from its console script exactly as ``rivet-dev run`` does,
each on its own loopback port. The cluster can ``kill -9`` and restart NATS on the same port
and store, pause it (SIGSTOP/SIGCONT), ``kill -9`` and restart any service, and restart
PostgreSQL. ``close`` stops everything it started and removes the folder, also after a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from rivet_devstack.keys import generate
from rivet_devstack.processes import ServiceProcess
from rivet_devstack.servers import (
    EmbeddedNats,
    EmbeddedPostgres,
    drop_database,
    ensure_database,
    free_port,
    with_database,
)
from rivet_devstack.services import SERVICES, missing_requirements

BIN = Path(sys.executable).parent
FAST_HASHING = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "8192"}
SCHEMAS = ("auth", "assets", "workorders", "ocr")
"""Schemas with an outbox (services with a database)."""


def _say(message: str) -> None:
    print(f"[cluster {time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass
class Cluster:
    """NATS, PostgreSQL and every service, started and broken on request."""

    root: Path
    admin_url: str | None = None
    """A PostgreSQL server to create a fresh database on; None: a private embedded server."""
    env_overrides: dict[str, str] = field(default_factory=dict)
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    nats: EmbeddedNats | None = None
    postgres: EmbeddedPostgres | None = None
    database: str = field(default_factory=lambda: f"rivet_chaos_{uuid.uuid4().hex[:8]}")
    database_url: str = ""
    nats_paused: bool = False

    # --- start and stop ---------------------------------------------------------------

    @classmethod
    @contextlib.contextmanager
    def running(
        cls,
        admin_url: str | None = None,
        env: dict[str, str] | None = None,
        keep: bool = False,
    ) -> Iterator[Cluster]:
        """A started cluster; everything is stopped and removed afterwards, even on failure."""
        root = Path(tempfile.mkdtemp(prefix="rivet-chaos-"))
        cluster = cls(root, admin_url, dict(env or {}))
        failed = True
        try:
            cluster.start()
            yield cluster
            failed = False
        finally:
            if failed:
                cluster.print_logs()
            cluster.close(remove=not keep)

    def start(self) -> None:
        self.nats = EmbeddedNats(self.root / "nats").start()
        if self.admin_url is None:
            self.postgres = EmbeddedPostgres(self.root / "postgres").start()
            admin = self.postgres.url
        else:
            admin = self.admin_url
        asyncio.run(ensure_database(admin, self.database))
        self.database_url = with_database(admin, self.database)
        keys = self.root / "keys"
        keys.mkdir()
        private, public = generate()
        (keys / "private.pem").write_text(private)
        (keys / "public.pem").write_text(public)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "DATABASE_"))} | {
            "NATS_URL": self.nats.url,
            "DATABASE_URL": self.database_url,
            "JWT_PRIVATE_KEY_FILE": str(keys / "private.pem"),
            "JWT_PUBLIC_KEY_FILE": str(keys / "public.pem"),
            "HTTP_HOST": "127.0.0.1",
            # /metrics beside /health on each process's free port (the gateway's default
            # METRICS_PORT is a fixed port, which parallel runs would share)
            "METRICS_PORT": "http",
            "LOG_JSON": "false",
            "DB_POOL_SIZE": "5",
            "SHUTDOWN_GRACE": "3",
            **FAST_HASHING,
            **self.env_overrides,
        }
        logs = self.root / "logs"
        logs.mkdir()
        for spec in SERVICES:
            if not spec.installed() or missing_requirements(spec):
                continue  # like `make run`: the Telegram bot needs a bot token
            port = free_port()
            self.services[spec.name] = ServiceProcess(
                spec.name,
                [str(BIN / spec.command)],
                port,
                base | {"HTTP_PORT": str(port), "SERVICE_NAME": spec.name},
                logs / f"{spec.name}.log",
            )
        for service in self.services.values():
            service.start()
        for name in self.services:
            self.wait_ready(name, timeout=90)
        _say(f"up: {', '.join(self.services)}; gateway {self.gateway_url}")

    def close(self, *, remove: bool = True) -> None:
        if self.nats_paused:
            self.resume_nats()
        for service in reversed(self.services.values()):
            with contextlib.suppress(Exception):
                service.stop()
        if self.nats is not None:
            with contextlib.suppress(Exception):
                self.nats.stop()
        if self.postgres is not None:
            with contextlib.suppress(Exception):
                self.postgres.stop()
        elif self.admin_url is not None and self.database_url:
            with contextlib.suppress(Exception):
                asyncio.run(drop_database(self.admin_url, self.database))
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)

    def print_logs(self, lines: int = 40) -> None:
        for service in self.services.values():
            with contextlib.suppress(OSError):
                tail = service.log.read_text(errors="replace").splitlines()[-lines:]
                print(f"----- {service.name} (last {len(tail)} lines) -----")
                print("\n".join(tail))

    # --- where things are ----------------------------------------------------------------

    @property
    def gateway_url(self) -> str:
        return self.services["gateway"].url

    @property
    def nats_url(self) -> str:
        assert self.nats is not None
        return self.nats.url

    def ready(self, name: str) -> bool:
        service = self.services[name]
        if not service.alive():
            return False
        try:
            return httpx.get(f"{service.url}/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, name: str, timeout: float) -> float:
        started = time.monotonic()
        while not self.ready(name):
            service = self.services[name]
            if not service.alive():
                raise RuntimeError(f"{name} exited with {service.proc and service.proc.returncode}")
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"{name} not ready after {timeout}s")
            time.sleep(0.2)
        return time.monotonic() - started

    def wait_all_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for name in self.services:
            self.wait_ready(name, max(1.0, deadline - time.monotonic()))

    def metrics(self, name: str) -> str:
        return httpx.get(f"{self.services[name].url}/metrics", timeout=5).text

    # --- faults --------------------------------------------------------------------------

    def kill_nats(self, down_for: float = 1.0) -> None:
        """``kill -9`` nats-server, then start it again on the same port and store."""
        assert self.nats is not None
        self.nats.kill()
        time.sleep(down_for)
        self.nats = EmbeddedNats(self.nats.store, port=self.nats.port).start()

    def pause_nats(self) -> None:
        assert self.nats is not None
        assert self.nats.proc is not None
        os.kill(self.nats.proc.pid, signal.SIGSTOP)
        self.nats_paused = True

    def resume_nats(self) -> None:
        assert self.nats is not None
        assert self.nats.proc is not None
        os.kill(self.nats.proc.pid, signal.SIGCONT)
        self.nats_paused = False

    def kill_service(self, name: str, down_for: float = 0.5) -> None:
        """``kill -9`` a service mid-flight and start it again (same data, new process)."""
        service = self.services[name]
        service.kill()
        time.sleep(down_for)
        service.start()

    def restart_postgres(self, down_for: float = 1.0) -> None:
        """Immediate shutdown (like a crash: no checkpoint), then start on the same port."""
        assert self.postgres is not None, "needs the private PostgreSQL"
        self.postgres.kill()
        time.sleep(down_for)
        self.postgres.start()
