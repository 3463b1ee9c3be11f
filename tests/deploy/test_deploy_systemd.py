"""One machine without containers: deploy/systemd (units, NATS config) and deploy/caddy.

The units are checked by systemd itself (``systemd-analyze verify``, and ``security`` for their
sandboxing), the Caddyfile by Caddy (``caddy validate``, ``caddy adapt``). Then the units are
started the way systemd starts them (systemd_support.py: their command lines, environment
files, credentials, users and privileges; migrations in ExecStartPre=) in a private network
namespace, so their fixed ports clash with nothing on this machine, with NATS from its own unit
and this machine's PostgreSQL; Caddy, from Debian's caddy.service and Rivet's drop-in, serves
them over HTTPS. A person registers, logs in and reads their account through it.
"""

import asyncio
import contextlib
import importlib.util
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
import httpx
import pytest
from deploy_support import apply_roles, drop_roles
from systemd_support import Supervisor, Unit, parse_environment_file, parse_unit_text

from rivet_devstack.servers import drop_database, ensure_database, with_database
from rivet_devstack.services import SERVICES
from rivet_devstack.testing.env import TestEnv

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
CADDYFILE = ROOT / "deploy" / "caddy" / "Caddyfile"
HELPER = Path(__file__).with_name("netns_helper.py")
SYSTEM_UNITS = next(
    (p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir()),
    None,
)
VENV = Path(os.environ.get("RIVET_SYSTEMD_VENV") or Path(sys.executable).parent.parent)
"""What stands for /opt/rivet/venv: this environment, or one installed as docs/operations.md
says (``RIVET_SYSTEMD_VENV``: ``uv sync --no-dev --no-editable --all-packages`` into it)."""
NO_SYSTEMD_ANALYZE = (
    "systemd-analyze is not installed (Debian package `systemd`; .ci/run installs it)"
)
NO_CADDY = "caddy is not installed (Debian package `caddy`; .ci/run installs it)"
SECOND_REPLICA = "rivet-maintenance@8116.service"
"""A second replica of a service with a scheduler (its jobs are claimed: done once)."""


def _first_instances() -> list[str]:
    return [f"rivet-{s.name}@{s.port}.service" for s in SERVICES]


def _load_units_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rivet_deploy_units", UNITS / "units.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _options(name: str) -> dict[str, dict[str, list[str]]]:
    options: dict[str, dict[str, list[str]]] = {}
    parse_unit_text((UNITS / name).read_text(), options)
    return options


# --- the files ----------------------------------------------------------------------------------


def test_units_are_generated_from_the_registry() -> None:
    units = _load_units_module()
    files = units.unit_files()
    assert set(files) == {f"rivet-{s.name}@.service" for s in SERVICES}
    for name, text in files.items():
        committed = UNITS / name
        assert committed.exists(), f"{name} missing: run deploy/systemd/units.py --write"
        assert committed.read_text() == text, f"{name} is stale: run units.py --write"


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_each_service_unit(service: Any) -> None:
    service_options = _options(f"rivet-{service.name}@.service")
    unit, svc, install = (service_options[k] for k in ("Unit", "Service", "Install"))
    command = f"/opt/rivet/venv/bin/{service.command}"
    assert svc["ExecStart"] == [f"{command} serve"]
    if service.build is not None:  # a database: migrations before the start, as compose does
        assert svc["ExecStartPre"] == [f"{command} migrate"]
        assert "MIGRATE_ON_START=false" in svc["Environment"]
    else:
        assert "ExecStartPre" not in svc
    assert "HTTP_PORT=%i" in svc["Environment"]
    assert install["DefaultInstance"] == [str(service.port)]
    assert install["WantedBy"] == ["rivet.target"]
    assert unit["PartOf"] == ["rivet.target"]
    assert "rivet-nats.service" in unit["After"][0].split()
    assert svc["EnvironmentFile"][:2] == ["/etc/rivet/common.env", f"/etc/rivet/{service.name}.env"]
    assert svc["Restart"] == ["on-failure"]
    assert svc["User"] == ["rivet"]
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    }.items():
        assert svc[key] == [value], key
    assert "@system-service" in svc["SystemCallFilter"]
    for limit in ("MemoryMax", "CPUQuota", "TasksMax"):
        assert svc.get(limit), limit


def test_config_makes_a_machine_once(tmp_path: Path) -> None:
    """`units.py config`: every file a unit reads, secrets readable by root alone, passwords
    that NATS accepts; run again, it changes nothing (an upgrade adds only what is new)."""
    units = _load_units_module()
    site = units.Site("api.example.com", database_host="/var/run/postgresql", role_suffix="_x")
    written = units.write_config(tmp_path, site)
    names = {str(p.relative_to(tmp_path)) for p in written}
    services = {f"{s.name}.env" for s in SERVICES}
    expected = {"common.env", "nats.env", "caddy.env", "db-passwords.sql", *services}
    expected |= {"nats/nats.conf", "nats/rivet-auth.conf", "keys/jwt-private.pem"}
    assert expected | {"keys/jwt-public.pem"} == names
    for name in ("nats.env", "db-passwords.sql", "keys/jwt-private.pem", *services):
        assert (tmp_path / name).stat().st_mode & 0o077 == 0, name
    auth = parse_environment_file((tmp_path / "auth.env").read_text())
    assert auth["DATABASE_URL"].startswith("postgresql://rivet_auth_x:p")
    assert auth["DATABASE_URL"].endswith("@/rivet?host=/var/run/postgresql")
    nats = parse_environment_file((tmp_path / "nats.env").read_text())
    password = nats["NATS_PASSWORD_AUTH"]
    assert password[0].isalpha()
    assert password.isalnum()
    assert auth["NATS_URL"] == f"nats://auth:{password}@127.0.0.1:4222"
    assert "NATS_PASSWORD_ADMIN" in nats
    sql = (tmp_path / "db-passwords.sql").read_text()
    role_password = auth["DATABASE_URL"].split(":")[2].split("@")[0]
    assert f"ALTER ROLE \"rivet_auth_x\" PASSWORD '{role_password}';" in sql
    gateway = parse_environment_file((tmp_path / "gateway.env").read_text())
    assert "DATABASE_URL" not in gateway
    caddy = parse_environment_file((tmp_path / "caddy.env").read_text())
    assert caddy["RIVET_DOMAIN"] == "api.example.com"
    common = parse_environment_file((tmp_path / "common.env").read_text())
    assert common["PUBLIC_URL"] == "https://api.example.com"

    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert units.write_config(tmp_path, site) == []
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before

    # a service added by an upgrade: its files, the others' passwords kept
    (tmp_path / "ocr.env").unlink()
    added = units.write_config(tmp_path, site)
    assert [p.name for p in added] == ["ocr.env"]
    assert (tmp_path / "auth.env").read_bytes() == before[tmp_path / "auth.env"]
    assert "rivet_ocr_x" in (tmp_path / "db-passwords.sql").read_text().splitlines()[-1]


def _verify_root(folder: Path) -> Path:
    """A file system root for systemd-analyze: this machine's system units, Rivet's units and
    drop-in, and every program their Exec lines name (Rivet's from this environment)."""
    assert SYSTEM_UNITS is not None
    root = folder / "root"
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    etc = root / "etc/systemd/system"
    etc.mkdir(parents=True)
    for unit in UNITS.glob("*.service"):
        shutil.copy(unit, etc)
    shutil.copy(UNITS / "rivet.target", etc)
    shutil.copytree(UNITS / "caddy.service.d", etc / "caddy.service.d")
    for unit in [*etc.glob("*.service"), *root.glob("usr/lib/systemd/system/caddy.service")]:
        options: dict[str, dict[str, list[str]]] = {}
        parse_unit_text(unit.read_text(), options)
        for key, lines in options.get("Service", {}).items():
            if not key.startswith("Exec"):
                continue
            for line in lines:
                program = line.lstrip("-@:+!").split()[0]
                here = (
                    VENV / "bin" / Path(program).name
                    if program.startswith("/opt/rivet/venv/")
                    else Path(program)
                )
                assert here.exists(), f"{unit.name}: {program} ({here}) not found"
                target = root / program.lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(here, target)
    return root


@pytest.fixture(scope="module")
def verify_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("systemd-analyze") is None or SYSTEM_UNITS is None:
        pytest.skip(NO_SYSTEMD_ANALYZE)
    return _verify_root(tmp_path_factory.mktemp("systemd"))


def test_units_pass_systemd_analyze_verify(verify_root: Path) -> None:
    names = ["rivet.target", "rivet-nats.service", *_first_instances(), SECOND_REPLICA]
    if (verify_root / "usr/lib/systemd/system/caddy.service").exists():
        names.append("caddy.service")  # Debian's, with Rivet's drop-in
    checked = subprocess.run(
        ["systemd-analyze", "verify", f"--root={verify_root}", "--man=no", *names],
        capture_output=True,
        text=True,
        check=False,
    )
    # verify exits 0 on unknown keys and bad values too: it only says so
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout + checked.stderr == ""


def test_units_are_sandboxed(verify_root: Path) -> None:
    """systemd's own rating of each unit's exposure (0 = fully sandboxed, 10 = nothing):
    at most 2.0, 'OK' on its scale; a unit losing its hardening fails here."""
    for name in ["rivet-nats.service", *_first_instances()]:
        rated = subprocess.run(
            ["systemd-analyze", "security", "--offline=yes", f"--root={verify_root}",
             "--threshold=20", "--no-pager", name],
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        assert rated.returncode == 0, f"{name}: {rated.stdout[-1500:]}{rated.stderr}"
        assert "Overall exposure level" in rated.stdout


# --- Caddy --------------------------------------------------------------------------------------


def _caddy(tmp: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip(NO_CADDY)
    clean = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp), "XDG_DATA_HOME": str(tmp),
             "XDG_CONFIG_HOME": str(tmp)}  # fmt: skip
    return subprocess.run(
        [caddy, *args], capture_output=True, text=True, env=clean | env, check=False
    )


def test_caddyfile_validates(tmp_path: Path) -> None:
    checked = _caddy(
        tmp_path, "validate", "--config", str(CADDYFILE), RIVET_DOMAIN="api.example.com"
    )
    assert checked.returncode == 0, checked.stderr[-2000:]
    assert "Valid configuration" in checked.stderr + checked.stdout
    missing = _caddy(tmp_path, "validate", "--config", str(CADDYFILE))
    assert missing.returncode != 0  # no domain: refused, not served on every name


def test_caddyfile_compresses_and_proxies_to_every_gateway(tmp_path: Path) -> None:
    import json

    adapted = _caddy(
        tmp_path,
        "adapt",
        "--config",
        str(CADDYFILE),
        RIVET_DOMAIN="api.example.com",
        RIVET_GATEWAYS="127.0.0.1:8000 127.0.0.1:8010",
    )
    assert adapted.returncode == 0, adapted.stderr[-2000:]
    config = json.loads(adapted.stdout)
    (server,) = config["apps"]["http"]["servers"].values()
    assert server["listen"] == [":443"]
    (site,) = server["routes"]
    assert site["match"] == [{"host": ["api.example.com"]}]
    handlers: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "handler" in node:
                handlers.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(site)
    by_kind = {h["handler"]: h for h in handlers}
    assert set(by_kind["encode"]["encodings"]) == {"zstd", "gzip"}
    headers = by_kind["headers"]["response"]
    assert "Strict-Transport-Security" in headers["set"]
    assert headers["set"]["X-Content-Type-Options"] == ["nosniff"]
    proxy = by_kind["reverse_proxy"]
    assert [u["dial"] for u in proxy["upstreams"]] == ["127.0.0.1:8000", "127.0.0.1:8010"]
    assert proxy["health_checks"]["active"]["uri"] == "/ready"
    assert any(h.get("status_code") == 404 for h in handlers if h["handler"] == "static_response")


# --- the units, started ---------------------------------------------------------------------------


def _skip_unless_namespaces() -> None:
    if os.geteuid() != 0:
        pytest.skip("starting the units needs root (a network namespace, the units' users)")
    for tool in ("unshare", "nsenter", "setpriv"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (Debian package util-linux)")
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"no private network namespace here: {probe.stderr.decode().strip()}")


def _user(name: str) -> str:
    """The unit's user, or ``nobody`` where this machine has no such user (the test creates
    none): unprivileged either way."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        return "nobody"
    return name


class Helper:
    """A netns_helper.py process, ready once it said so."""

    def __init__(self, argv: list[str], stdin: bool = False) -> None:
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        assert line.strip() == "ready", f"{argv}: {line}{self.proc.stdout.read(2000)!r}"

    def stop(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        if self.proc.poll() is None:
            self.proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)


@dataclass
class Machine:
    supervisor: Supervisor
    work: Path
    database_url: str
    sockets: Path

    def client(self, port: int, **kwargs: Any) -> httpx.AsyncClient:
        transport = httpx.AsyncHTTPTransport(uds=str(self.sockets / f"{port}.sock"), **kwargs)
        scheme = "https" if port == 443 else "http"
        return httpx.AsyncClient(transport=transport, base_url=f"{scheme}://localhost", timeout=30)

    def logs(self) -> str:
        parts = []
        for log in sorted(self.supervisor.logs.glob("*.log")):
            parts.append(f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}")
        return "\n".join(parts)


SERVICE_PORTS = {s.name: s.port for s in SERVICES if s.name != "telegram"}
"""The bot needs a Telegram token: its unit is verified above, not started."""


@pytest.fixture(scope="module")
async def machine(test_env: TestEnv) -> AsyncIterator[Machine]:
    _skip_unless_namespaces()
    run = uuid.uuid4().hex[:8]
    database, suffix = f"rivet_sd{run}", f"_sd{run}"
    work = Path(tempfile.mkdtemp(prefix="rivet-systemd-"))
    os.chmod(work, 0o755)  # noqa: S103 - the services' user reaches the sockets in it
    etc, pg, sockets, root = (work / d for d in ("etc", "pg", "sockets", "root"))
    for folder in (pg, sockets, root):
        folder.mkdir(mode=0o755)
    helpers: list[Helper] = []
    supervisor: Supervisor | None = None
    await ensure_database(test_env.admin_url, database)
    admin_url = with_database(test_env.admin_url, database)
    try:
        await apply_roles(admin_url, suffix)
        # PostgreSQL reached through a socket (a path crosses the namespace; a port does not)
        server = httpx.URL(test_env.admin_url.replace("postgresql://", "http://", 1))
        helpers.append(
            Helper(
                [
                    sys.executable,
                    str(HELPER),
                    "relay",
                    f"{pg}/.s.PGSQL.5432={server.host}:{server.port or 5432}",
                ]
            )
        )
        # the machine's configuration, as the operator makes it (docs/operations.md)
        made = await asyncio.to_thread(
            subprocess.run,
            [str(VENV / "bin" / "python"), str(UNITS / "units.py"), "config", str(etc),
             "--domain", "localhost",
             "--database-host", str(pg), "--database", database, "--role-suffix", suffix],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute((etc / "db-passwords.sql").read_text())
        finally:
            await conn.close()

        anchor = Helper(["unshare", "--net", "--", sys.executable, str(HELPER), "anchor"], True)
        helpers.append(anchor)
        netns = f"/proc/{anchor.proc.pid}/ns/net"
        ports = [*SERVICE_PORTS.values(), 8116, 443, 80]
        helpers.append(
            Helper(
                [
                    "nsenter",
                    f"--net={netns}",
                    "--",
                    sys.executable,
                    str(HELPER),
                    "relay",
                    *(f"{sockets}/{p}.sock=127.0.0.1:{p}" for p in ports),
                ]
            )
        )
        paths = {
            "/etc/rivet": str(etc),
            "/opt/rivet/venv": str(VENV),
            "/etc/caddy/Caddyfile": str(CADDYFILE),
        }
        users = {u: _user(u) for u in ("rivet", "rivet-nats", "caddy")}
        supervisor = Supervisor(root, netns, users)
        supervisor.start(Unit.load(UNITS, "rivet-nats.service", paths))
        for name, port in SERVICE_PORTS.items():
            supervisor.start(Unit.load(UNITS, f"rivet-{name}@{port}.service", paths))
        supervisor.start(Unit.load(UNITS, SECOND_REPLICA, paths))
        if shutil.which("caddy") and SYSTEM_UNITS and (SYSTEM_UNITS / "caddy.service").exists():
            # Debian's unit with Rivet's drop-in; Caddy's data (its own certificate authority
            # for "localhost") in the test's folder instead of the caddy user's home
            data = root / "caddy"
            data.mkdir()
            os.chown(data, pwd.getpwnam(users["caddy"]).pw_uid, -1)
            caddy = Unit.load(
                SYSTEM_UNITS, "caddy.service", paths, [UNITS / "caddy.service.d" / "rivet.conf"]
            )
            supervisor.start(caddy, {"XDG_DATA_HOME": str(data), "XDG_CONFIG_HOME": str(data)})
        machine = Machine(supervisor, work, admin_url, sockets)
        await _until_healthy(machine)
        yield machine
    finally:
        if supervisor is not None:
            supervisor.stop_all()
        for helper in reversed(helpers):
            helper.stop()
        await drop_database(test_env.admin_url, database)
        await drop_roles(test_env.admin_url, suffix)
        shutil.rmtree(work, ignore_errors=True)


async def _until_healthy(machine: Machine, timeout: float = 240.0) -> None:
    ports = [*SERVICE_PORTS.values(), 8116]
    deadline = asyncio.get_running_loop().time() + timeout
    pending = set(ports)
    while pending:
        machine.supervisor.tend()
        for port in sorted(pending):
            async with machine.client(port) as client:
                with contextlib.suppress(httpx.HTTPError):  # ready: database and NATS
                    if (await client.get("/ready")).status_code == 200:
                        pending.discard(port)
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"not ready in {timeout:.0f} s: ports {sorted(pending)}\n{machine.logs()}")
        await asyncio.sleep(1)


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)}


@pytest.mark.slow
@pytest.mark.timeout(420)
async def test_units_start_healthy_services(machine: Machine) -> None:
    supervisor = machine.supervisor
    for name, running in supervisor.units.items():
        proc = running.proc
        assert proc is not None, f"{name} is not running\n{machine.logs()}"
        assert proc.poll() is None, f"{name} exited\n{machine.logs()}"
        status = _status(proc.pid)
        assert status["Uid"].split()[0] != "0", f"{name} runs as root"
        if name.startswith("rivet-"):  # (Debian's caddy.service sets neither)
            assert status["NoNewPrivs"] == "1", name
            assert int(status["CapBnd"], 16) == 0, name  # CapabilityBoundingSet=
        assert running.pre_failures == 0, f"{name}: ExecStartPre failed\n{machine.logs()}"

    # every schema was migrated by ExecStartPre= (the services start with MIGRATE_ON_START=false)
    conn = await asyncpg.connect(machine.database_url)
    try:
        for service in SERVICES:
            if service.build is None or service.name == "telegram":
                continue
            tables = await conn.fetchval(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
                service.name,
            )
            assert tables > 0, f"{service.name}: no tables"
    finally:
        await conn.close()

    env = parse_environment_file((machine.work / "etc" / "gateway.env").read_text())
    assert env["TRUSTED_PROXIES"] == '["127.0.0.1/32", "::1/128"]'

    async with machine.client(8000) as api:
        assert (await api.get("/ready")).status_code == 200
        email = f"ops-{uuid.uuid4().hex[:8]}@example.com"
        registered = await api.post(
            "/api/auth/register",
            json={"email": email, "password": "tulip orbit saddle 42", "full_name": "Ops Person",
                  "organization_name": "Plant 9"},
        )  # fmt: skip
        assert registered.status_code == 201, registered.text
        login = await api.post(
            "/api/auth/login", data={"username": email, "password": "tulip orbit saddle 42"}
        )
        assert login.status_code == 200, login.text
        # the gateway verifies the token with the public key it got as a credential
        token = login.json()["access_token"]
        me = await api.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
        assert me.json()["email"] == email
        # the gateway's API port serves no metrics (they are on 8100)
        assert (await api.get("/metrics")).status_code == 404


@pytest.mark.slow
@pytest.mark.timeout(420)
async def test_caddy_serves_the_api_over_https(machine: Machine) -> None:
    if "caddy.service" not in machine.supervisor.units:
        pytest.skip(NO_CADDY)
    authority = machine.work / "root/caddy/caddy/pki/authorities/local/root.crt"
    deadline = asyncio.get_running_loop().time() + 60
    while not authority.exists():  # Caddy makes its authority and certificate at start
        assert asyncio.get_running_loop().time() < deadline, machine.logs()
        await asyncio.sleep(0.5)
    import ssl

    context = ssl.create_default_context(cafile=str(authority))
    async with machine.client(443, verify=context) as api:
        for _ in range(60):  # the certificate is issued a moment after the authority
            with contextlib.suppress(httpx.HTTPError):
                health = await api.get("/health")
                if health.status_code == 200:
                    break
            await asyncio.sleep(0.5)
        else:
            pytest.fail(f"Caddy did not serve /health over HTTPS\n{machine.logs()}")
        assert health.headers["strict-transport-security"].startswith("max-age=")
        assert health.headers["x-content-type-options"] == "nosniff"
        assert "server" not in health.headers
        assert (await api.get("/metrics")).status_code == 404
        for encoding in ("zstd", "gzip"):
            request = api.build_request(
                "GET", "/openapi.json", headers={"Accept-Encoding": encoding}
            )
            answer = await api.send(request, stream=True)
            try:
                assert answer.status_code == 200
                assert answer.headers["content-encoding"] == encoding
            finally:
                await answer.aclose()

        email = f"tls-{uuid.uuid4().hex[:8]}@example.com"
        registered = await api.post(
            "/api/auth/register",
            json={"email": email, "password": "quartz meadow lantern 7", "full_name": "Tls Person",
                  "organization_name": "Plant 10"},
        )  # fmt: skip
        assert registered.status_code == 201, registered.text
        login = await api.post(
            "/api/auth/login", data={"username": email, "password": "quartz meadow lantern 7"}
        )
        assert login.status_code == 200, login.text
        me = await api.get(
            "/api/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
        )
        assert me.status_code == 200, me.text

    async with machine.client(80) as plain:
        redirect = await plain.get("/api/auth/me")
        assert redirect.status_code in (301, 308)
        assert redirect.headers["location"] == "https://localhost/api/auth/me"
