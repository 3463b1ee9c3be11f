"""The whole system as real processes, for fault tests and load runs.

A private ``nats-server`` (file store, ``sync_interval: always``) in a temporary folder, a
PostgreSQL (a private embedded one that may be restarted, or a fresh database on the machine's
server) and every service started from its console script exactly as ``rivet-dev run`` does,
each on its own loopback port. The cluster can ``kill -9`` and restart NATS on the same port
and store, pause it (SIGSTOP/SIGCONT), ``kill -9`` and restart any service, and restart
PostgreSQL. ``close`` stops everything it started and removes the folder, also after a failure.

Scale-out (``replicas``, ``nats_nodes``): every service but the gateway (and the Telegram bot, see
``SINGLE``) started ``replicas`` times, each replica a process of its own on its own port with the
same environment (so the same ``SERVICE_NAME``: one queue group, one set of durable consumers);
the extra ones are named ``assets-2``, ``assets-3``... And ``nats_nodes`` > 1: a JetStream
cluster of that many private nats-servers joined by routes, every service given all their URLs,
streams and the upload store with ``STREAM_REPLICAS`` = min(3, nodes). One node can be killed
and restarted (``kill_nats_node``), one replica killed (``kill_service`` with its name).
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
from datetime import UTC, datetime
from pathlib import Path

import httpx

from rivet_devstack.keys import generate
from rivet_devstack.processes import ServiceProcess
from rivet_devstack.servers import (
    EmbeddedNats,
    EmbeddedPostgres,
    NatsCluster,
    drop_database,
    ensure_database,
    free_port,
    with_database,
)
from rivet_devstack.services import (
    GATEWAY_LOAD_LIMITS,
    SERVICES,
    environment,
    missing_requirements,
)

BIN = Path(sys.executable).parent
FAST_HASHING = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "8192"}
SCHEMAS = ("auth", "assets", "workorders", "ocr")
"""Schemas with an outbox (services with a database)."""
SINGLE = ("gateway", "telegram")
"""Started once whatever ``replicas`` says: the gateway (the load talks to one address; it keeps
no state, a deployment puts a load balancer before several) and the Telegram bot, which the
cluster starts only when TELEGRAM_BOT_TOKEN is set: in polling mode two replicas would both call
getUpdates, which Telegram refuses for the second (409 Conflict); replicas need webhook mode."""


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
    replicas: int = 1
    """Processes of each service (but those in ``SINGLE``)."""
    nats_nodes: int = 1
    """1: one nats-server; more: a JetStream cluster of that many nodes."""
    nats_cluster: NatsCluster | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    """Wall-clock time the cluster was started (before its database existed)."""

    # --- start and stop ---------------------------------------------------------------

    @classmethod
    @contextlib.contextmanager
    def running(
        cls,
        admin_url: str | None = None,
        env: dict[str, str] | None = None,
        keep: bool = False,
        *,
        replicas: int = 1,
        nats_nodes: int = 1,
    ) -> Iterator[Cluster]:
        """A started cluster; everything is stopped and removed afterwards, even on failure."""
        root = Path(tempfile.mkdtemp(prefix="rivet-chaos-"))
        cluster = cls(root, admin_url, dict(env or {}), replicas=replicas, nats_nodes=nats_nodes)
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
        self.started_at = datetime.now(UTC)
        if self.nats_nodes > 1:
            self.nats_cluster = NatsCluster(self.root / "nats", self.nats_nodes).start()
        else:
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
            "NATS_URL": self.nats_url,
            "DATABASE_URL": self.database_url,
            "JWT_PRIVATE_KEY_FILE": str(keys / "private.pem"),
            "JWT_PUBLIC_KEY_FILE": str(keys / "public.pem"),
            "HTTP_HOST": "127.0.0.1",
            # /metrics beside /health on each process's free port (the gateway's default
            # METRICS_PORT is a fixed port, which parallel runs would share)
            "METRICS_PORT": "http",
            "LOG_JSON": "false",
            # at most 7 connections a process: two replicas of every service and the test
            # session's own services share one PostgreSQL of 100 connections in `make test`
            "DB_POOL_SIZE": "5",
            "DB_POOL_OVERFLOW": "2",
            "SHUTDOWN_GRACE": "3",
            **FAST_HASHING,
            **environment(GATEWAY_LOAD_LIMITS),  # the workload is one user: never throttled
            **({"STREAM_REPLICAS": str(min(3, self.nats_nodes))} if self.nats_nodes > 1 else {}),
            **self.env_overrides,
        }
        logs = self.root / "logs"
        logs.mkdir()
        for spec in SERVICES:
            if not spec.installed() or missing_requirements(spec):
                continue  # like `make run`: the Telegram bot needs a bot token
            count = 1 if spec.name in SINGLE else self.replicas
            for number in range(1, count + 1):
                name = spec.name if number == 1 else f"{spec.name}-{number}"
                port = free_port()
                self.services[name] = ServiceProcess(
                    name,
                    [str(BIN / spec.command)],
                    port,
                    # the same SERVICE_NAME for every replica: one RPC queue group
                    base | {"HTTP_PORT": str(port), "SERVICE_NAME": spec.name},
                    logs / f"{name}.log",
                )
        for service in self.services.values():
            service.start()
        started = time.monotonic()
        for name in self.services:
            self.wait_ready(name, timeout=90 * max(1, self.replicas))
        nats = f"{self.nats_nodes}-node JetStream cluster" if self.nats_cluster else "NATS"
        _say(
            f"up in {time.monotonic() - started:.1f} s: {', '.join(self.services)}; {nats} "
            f"{self.nats_url}; gateway {self.gateway_url}"
        )

    def close(self, *, remove: bool = True) -> None:
        if self.nats_paused:
            self.resume_nats()
        for service in reversed(self.services.values()):
            with contextlib.suppress(Exception):
                service.stop()
        if self.nats is not None:
            with contextlib.suppress(Exception):
                self.nats.stop()
        if self.nats_cluster is not None:
            self.nats_cluster.stop()
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
        for node in self.nats_cluster.nodes if self.nats_cluster else ():
            with contextlib.suppress(OSError):
                tail = (node.store / "nats.log").read_text(errors="replace").splitlines()[-lines:]
                print(f"----- nats {node.name} (last {len(tail)} lines) -----")
                print("\n".join(tail))

    # --- where things are ----------------------------------------------------------------

    @property
    def gateway_url(self) -> str:
        return self.services["gateway"].url

    @property
    def nats_url(self) -> str:
        """``NATS_URL``: every node's URL, comma separated, when NATS is a cluster."""
        if self.nats_cluster is not None:
            return self.nats_cluster.url
        assert self.nats is not None
        return self.nats.url

    @property
    def nats_servers(self) -> list[str]:
        """The same as a list (what ``nats.connect`` takes)."""
        return self.nats_url.split(",")

    def replicas_of(self, service: str) -> list[str]:
        """Names of the processes of ``service`` (``assets``, ``assets-2``, ...)."""
        return [n for n in self.services if n == service or n.startswith(f"{service}-")]

    def owner_of_connection(self, client_port: int) -> str | None:
        """The service process holding the local TCP port ``client_port`` (the
        ``client_port`` of a backend in ``pg_stat_activity``), read from /proc (Linux)."""
        inodes: set[str] = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(OSError):
                for line in Path(table).read_text().splitlines()[1:]:
                    fields = line.split()
                    if int(fields[1].rsplit(":", 1)[1], 16) == client_port:
                        inodes.add(fields[9])
        for name, service in self.services.items():
            if not service.alive() or service.proc is None:
                continue
            with contextlib.suppress(OSError):
                for fd in Path(f"/proc/{service.proc.pid}/fd").iterdir():
                    with contextlib.suppress(OSError):
                        target = os.readlink(fd)
                        if target.startswith("socket:[") and target[8:-1] in inodes:
                            return name
        return None

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
        assert self.nats is not None, "one nats-server: a cluster has kill_nats_node"
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

    def kill_nats_node(self, index: int, down_for: float = 10.0) -> float:
        """``kill -9`` one node of the NATS cluster, start it again after ``down_for`` seconds
        on the same ports and store; returns the seconds until it is current again."""
        assert self.nats_cluster is not None, "needs nats_nodes > 1"
        self.nats_cluster.kill(index)
        time.sleep(down_for)
        self.nats_cluster.restart(index)
        return self.nats_cluster.wait_healthy(120, [index])

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
