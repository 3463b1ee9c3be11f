"""``rivet-dev``: run the whole system, or its checks and tests, on one machine.

rivet-dev run     start NATS/PostgreSQL if needed, every service, print where the API is
rivet-dev test    the same servers, then ruff, mypy and pytest (arguments go to pytest)
rivet-dev env     print the NATS_URL / DATABASE_URL a run would use
rivet-dev import  bring another system's data in (``rivet-dev import rivet-pro --help``)
"""

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .keys import ensure_keys
from .mailserver import LocalMailServer
from .rivetpro import cli as rivetpro
from .servers import Servers, ensure_database, resolve, with_database
from .services import SERVICES, ServiceSpec, installed, missing_requirements, spec

ROOT = Path(os.environ.get("RIVET_ROOT", Path.cwd()))
STATE = ROOT / ".rivet"
DATABASE = "rivet"
LOOPBACK = "127.0.0.1"


def main() -> None:
    parser = argparse.ArgumentParser(prog="rivet-dev", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run every service")
    test = sub.add_parser("test", help="lint, type-check and test")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    sub.add_parser("env", help="print the servers a run would use")
    sub.add_parser("migrate", help="apply every service's migrations to DATABASE_URL")
    rivetpro.add_parser(sub)
    args = parser.parse_args()
    if args.command == "import":
        sys.exit(rivetpro.main(args))
    if args.command == "run":
        sys.exit(run())
    if args.command == "test":
        sys.exit(test_command(args.pytest_args))
    if args.command == "migrate":
        sys.exit(migrate_all())
    servers = resolve(STATE)
    print(f"NATS_URL={servers.nats_url}\nDATABASE_URL={servers.postgres_url}")
    servers.stop()


def _say(message: str) -> None:
    print(f"rivet: {message}", flush=True)


def migrate_all() -> int:
    """``<service> migrate`` for every installed service with a database."""
    bin_dir = Path(sys.executable).parent
    for service in installed():
        if service.build is None:
            continue
        _say(f"migrating {service.name}")
        code = subprocess.call([str(bin_dir / service.command), "migrate"])
        if code != 0:
            return code
    return 0


def test_command(pytest_args: list[str]) -> int:
    servers = resolve(STATE / "test")
    _say(f"tests use {servers.describe()}")
    env = os.environ | {"NATS_URL": servers.nats_url, "DATABASE_URL": servers.postgres_url}
    steps = [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
        ["pytest", *pytest_args],
    ]
    try:
        for step in steps:
            _say("$ " + " ".join(step))
            code = subprocess.call(step, env=env, cwd=ROOT)
            if code != 0:
                _say(f"{step[0]} failed (exit {code})")
                return code
    finally:
        servers.stop()
    return 0


def run() -> int:
    servers = resolve(STATE)
    try:
        return _run_services(servers)
    finally:
        servers.stop()


def _run_services(servers: Servers) -> int:
    database_url = with_database(servers.postgres_url, DATABASE)
    asyncio.run(ensure_database(servers.postgres_url, DATABASE))
    private_key, public_key = ensure_keys(STATE / "keys")
    logs = STATE / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    base_env = os.environ | {
        "NATS_URL": servers.nats_url,
        "DATABASE_URL": database_url,
        "JWT_PRIVATE_KEY_FILE": str(private_key),
        "JWT_PUBLIC_KEY_FILE": str(public_key),
        "LOG_JSON": os.environ.get("LOG_JSON", "false"),
    }
    mailbox: LocalMailServer | None = None
    if not os.environ.get("SMTP_URL"):
        # no mail server given: one of our own that keeps every message as a file
        mailbox = LocalMailServer(STATE / "mail").start()
        base_env["SMTP_URL"] = mailbox.url
        _say(f"mail is not sent anywhere: it is kept in {STATE / 'mail'} (SMTP {mailbox.url})")
    bin_dir = Path(sys.executable).parent
    procs: dict[str, subprocess.Popen[bytes]] = {}
    _say(f"using {servers.describe()}")
    for service in SERVICES:
        missing = missing_requirements(service)
        if not service.installed():
            continue
        if missing:
            _say(f"{service.name} not started: set {', '.join(missing)} to run it")
            continue
        env = service_env(service, base_env)
        procs[service.name] = subprocess.Popen([str(bin_dir / service.command)], env=env)
    gateway = spec("gateway")
    api = f"http://127.0.0.1:{gateway.port}"
    if _wait_ready(f"{api}/ready", procs, timeout=60):
        _say(f"API ready at {api}  (docs: {api}/docs, redoc: {api}/redoc)")
        if gateway.metrics_port is not None and "METRICS_PORT" not in base_env:
            _say(f"gateway metrics at http://127.0.0.1:{gateway.metrics_port}/metrics")
        if "web" in procs:
            web = f"http://127.0.0.1:{spec('web').port}"
            if _wait_ready(f"{web}/ready", procs, timeout=30):
                _say(f"web app at {web}  (sign in with an account of the API)")
            else:
                _say("the web app did not become ready within 30 s; see the logs above")
        _say("press Ctrl-C to stop")
    else:
        _say("the gateway did not become ready within 60 s; see the logs above")
    try:
        return _supervise(procs)
    finally:
        if mailbox is not None:
            mailbox.stop()


def service_env(service: ServiceSpec, base_env: dict[str, str]) -> dict[str, str]:
    """The environment ``make run`` starts ``service`` with: its own port, on the loopback
    interface. Internal services always listen there (their /health and /metrics are for this
    machine); the gateway and the web app too unless HTTP_HOST is set (to reach them from
    another device)."""
    public = service.name in ("gateway", "web")
    host = base_env.get("HTTP_HOST", LOOPBACK) if public else LOOPBACK
    return base_env | {"HTTP_PORT": str(service.port), "HTTP_HOST": host}


def _wait_ready(url: str, procs: dict[str, subprocess.Popen[bytes]], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs.values()):
            return False
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - local URL
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def _supervise(procs: dict[str, subprocess.Popen[bytes]]) -> int:
    stopping = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    code = 0
    while not stopping:
        for name, proc in procs.items():
            if proc.poll() is not None:
                _say(f"{name} exited with code {proc.returncode}; stopping everything")
                stopping, code = True, 1
        time.sleep(0.2)
    _say("stopping services ...")
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    _say("stopped")
    return code
