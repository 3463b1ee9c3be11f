"""The units under systemd itself: a container (systemd-nspawn) boots this machine's systemd with
an empty /etc but for what docs/operations.md installs (the units, enabled with the documented
`systemctl enable`, the users from rivet.sysusers, /etc/rivet from `units.py config`) and an
environment installed as the documentation says, at /opt/rivet/venv. Every sandboxing option
of the units is then in force (ProtectSystem=strict, SystemCallFilter=, MemoryMax=, ...): the
services must start, migrate, serve a login over Caddy's HTTPS, and come back after a crash.

Containers share the machine's PostgreSQL through its socket (bound at /run/rivet-pg), and
have a network of their own (the units' fixed ports clash with nothing here).
"""

import asyncio
import contextlib
import os
import shutil
import signal
import ssl
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from deploy_support import apply_roles, drop_roles

from rivet_devstack.servers import drop_database, ensure_database, with_database
from rivet_devstack.services import SERVICES
from rivet_devstack.testing.env import TestEnv

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
HELPER = Path(__file__).with_name("netns_helper.py")
SYSTEM_PYTHON = Path("/usr/bin/python3")
ENABLED = [
    "rivet.target",
    "rivet-nats.service",
    *(f"rivet-{s.name}@.service" for s in SERVICES if s.name != "telegram"),
]
"""docs/operations.md's `systemctl enable` (the bot needs a Telegram token)."""
PORTS = {f"rivet-{s.name}@{s.port}.service": s.port for s in SERVICES if s.name != "telegram"}
HIDDEN = ("/tmp", "/var/tmp", "/root", "/home", "/run/user")  # noqa: S108
"""Where a unit cannot see (PrivateTmp=, ProtectHome=)."""


def _environment() -> Path:
    """Rivet installed as docs/operations.md says (``uv sync --no-dev --no-editable
    --all-packages`` with the system's Python), kept in .rivet/ between runs. Its scripts name
    its own path, so the units must be able to see that path too."""
    venv = ROOT / ".rivet" / "systemd-venv"
    if str(venv).startswith(HIDDEN):
        pytest.skip(f"the repository is under {venv.parents[-2]}, which the units cannot see")
    uv = os.environ.get("UV") or shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    synced = subprocess.run(
        [uv, "sync", "--frozen", "--no-dev", "--no-editable", "--all-packages",
         "--python", str(SYSTEM_PYTHON.resolve())],
        cwd=ROOT,
        env=os.environ | {"UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never"},
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert synced.returncode == 0, synced.stderr[-3000:]
    return venv


def _skip_unless_possible() -> None:
    if os.geteuid() != 0:
        pytest.skip("booting a container needs root")
    if shutil.which("systemd-nspawn") is None:
        pytest.skip(
            "systemd-nspawn is not installed (Debian package systemd-container; .ci/run "
            "installs it)"
        )
    if not SYSTEM_PYTHON.exists() or SYSTEM_PYTHON.resolve().is_relative_to("/root"):
        pytest.skip("no system Python (python3 in /usr/bin) for the units' environment")
    version = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import sys; print(sys.version_info >= (3, 11))"],
        capture_output=True,
        text=True,
        check=False,
    )
    if version.stdout.strip() != "True":
        pytest.skip("the system Python is older than 3.11")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _container_init(nspawn: int) -> int | None:
    """The container's PID 1 (systemd), a descendant of systemd-nspawn."""
    queue = [nspawn]
    while queue:
        pid = queue.pop()
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().strip() == "systemd":
                return pid
            queue += _children(pid)
    return None


def _relay(pairs: list[str], prefix: Sequence[str] = ()) -> "subprocess.Popen[bytes]":
    """netns_helper.py's relay (``prefix``: e.g. nsenter into the container's network)."""
    relay = subprocess.Popen(
        [*prefix, sys.executable, str(HELPER), "relay", *pairs], stdout=subprocess.PIPE
    )
    assert relay.stdout is not None
    assert relay.stdout.readline().strip() == b"ready"
    return relay


def _install(work: Path, venv: Path, database: str, suffix: str) -> None:
    """What docs/operations.md installs: /etc/rivet (units.py config), the units enabled with
    its `systemctl enable`, the users (rivet.sysusers); and what Debian's caddy package made
    when it was installed (its user and home), which the container's empty /etc lacks."""
    made = subprocess.run(
        [str(venv / "bin" / "python"), str(UNITS / "units.py"), "config", str(work / "rivet"),
         "--domain", "localhost", "--database-host", "/run/rivet-pg",
         "--database", database, "--role-suffix", suffix],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    etc_systemd = work / "sysroot" / "etc" / "systemd" / "system"
    for unit in [*UNITS.glob("*.service"), UNITS / "rivet.target"]:
        shutil.copy(unit, etc_systemd)
    shutil.copytree(UNITS / "caddy.service.d", etc_systemd / "caddy.service.d")
    enabled = subprocess.run(
        ["systemctl", f"--root={work / 'sysroot'}", "enable", *ENABLED],
        capture_output=True,
        text=True,
        check=False,
    )
    assert enabled.returncode == 0, enabled.stderr
    wants = etc_systemd / "multi-user.target.wants"
    (wants / "caddy.service").symlink_to("/usr/lib/systemd/system/caddy.service")
    shutil.copy(UNITS / "rivet.sysusers", work / "sysusers" / "rivet.conf")
    (work / "sysusers" / "caddy.conf").write_text('u caddy - "Caddy web server" /var/lib/caddy\n')
    (work / "tmpfiles" / "caddy.conf").write_text("d /var/lib/caddy 0750 caddy caddy -\n")
    (work / "hosts").write_text("127.0.0.1 localhost\n::1 localhost\n")


def _boot(work: Path, venv: Path, run: str) -> "subprocess.Popen[bytes]":
    """The container: this machine's /usr, an empty /etc and /var but for the binds."""
    with (work / "boot.log").open("wb") as log:
        return subprocess.Popen(
            ["systemd-nspawn", "--directory=/", "--volatile=yes", f"--machine=rivet{run}",
             "--register=no", "--keep-unit", "--private-network", "--boot", "--console=passive",
             f"--bind-ro={work / 'sysroot/etc/systemd/system'}:/etc/systemd/system",
             f"--bind-ro={work / 'sysusers'}:/etc/sysusers.d",
             f"--bind-ro={work / 'tmpfiles'}:/etc/tmpfiles.d",
             f"--bind-ro={work / 'hosts'}:/etc/hosts", f"--bind-ro={work / 'rivet'}:/etc/rivet",
             f"--bind-ro={venv}:/opt/rivet/venv", f"--bind-ro={venv}",
             f"--bind-ro={ROOT / 'deploy/caddy/Caddyfile'}:/etc/caddy/Caddyfile",
             f"--bind={work / 'pg'}:/run/rivet-pg",
             "--", "systemd.firstboot=off"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


@dataclass
class Container:
    init: int
    work: Path

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["nsenter", "-t", str(self.init), "-a", *argv],
            capture_output=True,
            text=True,
            check=False,
        )

    def journal(self, unit: str) -> str:
        return self.run("journalctl", "-u", unit, "--no-pager", "-n", "30").stdout

    def show(self, unit: str, *props: str) -> dict[str, str]:
        shown = self.run("systemctl", "show", unit, *(f"-p{p}" for p in props)).stdout
        return dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)


@pytest.fixture(scope="module")
async def container(test_env: TestEnv) -> AsyncIterator[Container]:
    _skip_unless_possible()
    venv = await asyncio.to_thread(_environment)
    run = uuid.uuid4().hex[:8]
    database, suffix = f"rivet_sb{run}", f"_sb{run}"
    work = ROOT / ".rivet" / f"systemd-boot-{run}"
    sysroot = work / "sysroot"
    pg, sockets = work / "pg", work / "sockets"
    for folder in (
        sysroot / "etc" / "systemd" / "system",
        work / "sysusers",
        work / "tmpfiles",
        pg,
        sockets,
    ):
        folder.mkdir(parents=True)  # fmt: skip
    os.chmod(pg, 0o755)  # noqa: S103 - the services' user reaches the socket in it
    helpers: list[subprocess.Popen[bytes]] = []
    nspawn: subprocess.Popen[bytes] | None = None
    container: Container | None = None
    await ensure_database(test_env.admin_url, database)
    admin_url = with_database(test_env.admin_url, database)
    try:
        await apply_roles(admin_url, suffix)
        server = httpx.URL(test_env.admin_url.replace("postgresql://", "http://", 1))
        target = f"{server.host}:{server.port or 5432}"
        helpers.append(await asyncio.to_thread(_relay, [f"{pg}/.s.PGSQL.5432={target}"]))
        await asyncio.to_thread(_install, work, venv, database, suffix)
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute((work / "rivet" / "db-passwords.sql").read_text())
        finally:
            await conn.close()
        nspawn = await asyncio.to_thread(_boot, work, venv, run)
        deadline = asyncio.get_running_loop().time() + 60
        init = None
        while init is None:
            assert nspawn.poll() is None, (work / "boot.log").read_text()[-3000:]
            assert asyncio.get_running_loop().time() < deadline, "no systemd in the container"
            await asyncio.sleep(0.5)
            init = _container_init(nspawn.pid)
        container = Container(init, work)
        pairs = [f"{sockets}/{p}.sock=127.0.0.1:{p}" for p in (443, *PORTS.values())]
        helpers.append(await asyncio.to_thread(_relay, pairs, ["nsenter", "-t", str(init), "-n"]))
        yield container
    finally:
        if container is not None:
            container.run("systemctl", "poweroff")
        if nspawn is not None:
            try:
                await asyncio.to_thread(nspawn.wait, 60)
            except subprocess.TimeoutExpired:
                # killing the container's PID 1 ends every process in it
                init = _container_init(nspawn.pid)
                if init is not None:
                    os.kill(init, signal.SIGKILL)
                nspawn.kill()
                nspawn.wait(10)
        for helper in helpers:
            helper.terminate()
            helper.wait(10)
        await drop_database(test_env.admin_url, database)
        await drop_roles(test_env.admin_url, suffix)
        shutil.rmtree(work, ignore_errors=True)


def _client(container: Container, port: int, **kwargs: object) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(uds=str(container.work / "sockets" / f"{port}.sock"),
                                         **kwargs)  # type: ignore[arg-type]  # fmt: skip
    scheme = "https" if port == 443 else "http"
    return httpx.AsyncClient(transport=transport, base_url=f"{scheme}://localhost", timeout=30)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_units_run_under_systemd(container: Container) -> None:
    units = ["rivet-nats.service", "caddy.service"] + [
        f"rivet-{s.name}@{s.port}.service" for s in SERVICES if s.name != "telegram"
    ]
    deadline = asyncio.get_running_loop().time() + 400
    while True:
        states = {u: container.show(u, "ActiveState").get("ActiveState", "?") for u in units}
        waiting = [u for u, s in states.items() if s != "active"]
        for unit, port in PORTS.items():
            async with _client(container, port) as api:
                with contextlib.suppress(httpx.HTTPError):
                    if (await api.get("/ready")).status_code == 200:
                        continue  # ready: its database and NATS answer
            waiting.append(unit)
        if not waiting:
            break
        if asyncio.get_running_loop().time() > deadline:
            failed = sorted(set(waiting))
            pytest.fail(f"{states}\n" + "\n".join(container.journal(u) for u in failed))
        await asyncio.sleep(2)

    for unit in units:
        shown = container.show(unit, "NRestarts", "User", "MainPID")
        assert shown["NRestarts"] == "0", container.journal(unit)
        status = container.run("cat", f"/proc/{shown['MainPID']}/status").stdout
        assert "\nUid:\t0\t" not in status, f"{unit} runs as root"
    ocr = container.show("rivet-ocr@8104.service", "MemoryMax", "TasksMax")
    assert ocr == {"MemoryMax": str(1536 * 1024 * 1024), "TasksMax": "256"}

    authority = "/var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt"
    pem = container.run("cat", authority)
    assert pem.returncode == 0, container.journal("caddy.service")
    context = ssl.create_default_context(cadata=pem.stdout)
    async with _client(container, 443, verify=context) as api:
        email = f"boot-{uuid.uuid4().hex[:8]}@example.com"
        password = "tulip orbit saddle 42"
        registered = await api.post(
            "/api/auth/register",
            json={"email": email, "password": password, "full_name": "Boot Person",
                  "organization_name": "Plant 11"},
        )  # fmt: skip
        assert registered.status_code == 201, registered.text
        login = await api.post("/api/auth/login", data={"username": email, "password": password})
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        assert (await api.get("/api/auth/me", headers=auth)).status_code == 200
        created = await api.post(
            "/api/equipment",
            json={"manufacturer": "WEG", "model": "W22", "serial": "BOOT-1"},
            headers=auth,
        )
        assert created.status_code == 201, created.text
        number = created.json()["equipment"]["number"]
        answer = ""

        # a crash: systemd starts it again (migrations first), and it serves again
        container.run("systemctl", "kill", "--signal=KILL", "rivet-workorders@8103.service")
        deadline = asyncio.get_running_loop().time() + 120
        while True:
            shown = container.show("rivet-workorders@8103.service", "NRestarts", "SubState")
            if shown == {"NRestarts": "1", "SubState": "running"}:
                order = await api.post(
                    "/api/work-orders",
                    json={"equipment_id": number, "title": "After the crash"},
                    headers=auth,
                )
                if order.status_code == 201:
                    break
                answer = order.text
            assert asyncio.get_running_loop().time() < deadline, (
                f"{shown} {answer}\n{container.journal('rivet-workorders@8103.service')}"
            )
            await asyncio.sleep(1)
