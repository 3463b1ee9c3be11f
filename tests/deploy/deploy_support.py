"""Helpers shared by the deployment tests (conftest puts this folder on sys.path)."""

import os
import secrets
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType

import asyncpg

from rivet_devstack.servers import free_port, nats_server_binary, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
ROLES_SQL = ROOT / "deploy" / "postgres" / "roles.sql"


@dataclass(frozen=True)
class Scratch:
    admin_url: str
    """Superuser connection to the scratch database."""
    database: str
    suffix: str

    def role(self, service: str) -> str:
        return f"rivet_{service}{self.suffix}"

    def url_as(self, service: str) -> str:
        """The scratch database as ``service``'s role (trust/peer auth on the test server)."""
        head, _, tail = self.admin_url.partition("://")
        hostpart = tail.split("@", 1)[-1]
        return f"{head}://{self.role(service)}@{hostpart}"


async def apply_roles(admin_url: str, suffix: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f"SET rivet.role_suffix = '{suffix}'")
        await conn.execute(ROLES_SQL.read_text())
    finally:
        await conn.close()


async def drop_roles(server_admin_url: str, suffix: str) -> None:
    conn = await asyncpg.connect(server_admin_url)
    try:
        roles = await conn.fetch(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE 'rivet\\_%' AND rolname LIKE $1",
            f"%{suffix}",
        )
        for row in roles:
            await conn.execute(f'DROP ROLE IF EXISTS "{row["rolname"]}"')
    finally:
        await conn.close()


class AuthNats:
    """A private nats-server with JetStream and the generated users (random passwords)."""

    def __init__(self, folder: Path, conf: str, users: list[str]) -> None:
        self.folder = folder
        self.port = free_port()
        # nats-server parses its variables as values: a password must start with a letter
        self.passwords = {u: "p" + secrets.token_hex(16) for u in users}
        self.env_names = {u: "NATS_PASSWORD_" + u.upper() for u in users}
        (folder / "rivet-auth.conf").write_text(conf)
        (folder / "nats.conf").write_text(
            f"listen: 127.0.0.1:{self.port}\nmax_payload: 8MB\n"
            f'jetstream {{ store_dir: "{folder / "js"}", sync_interval: always }}\n'
            "include ./rivet-auth.conf\n"
        )
        self.log = folder / "nats.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "AuthNats":
        env = os.environ | {self.env_names[u]: pw for u, pw in self.passwords.items()}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [nats_server_binary(), "-c", str(self.folder / "nats.conf")],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        wait_for_port(self.port, 15, self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def url(self, user: str) -> str:
        return f"nats://{user}:{self.passwords[user]}@127.0.0.1:{self.port}"

    def reload(self, conf: str) -> None:
        """Replace the users and their permissions and have the running server reload them
        (SIGHUP), as an operator does after adding a machine. A user added this way needs its
        password variable from the start (``extra_users`` of ``start_auth_nats``)."""
        (self.folder / "rivet-auth.conf").write_text(conf)
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)

    def violations(self) -> list[str]:
        """The log's permission violations, but for replies a reload made the server forget:
        a reload resets each connection's reply permissions (``allow_responses``), so a service
        answering a request it received before the reload is refused (the caller's request
        times out and is asked again). Such a reply is excused within ``_RELOAD_GRACE`` of a
        reload; anything else is a violation."""
        lines = self.log.read_text().splitlines()
        reloads = [_logged_at(ln) for ln in lines if "Reloaded server configuration" in ln]
        found = []
        for line in lines:
            if "Violation" not in line:
                continue
            at = _logged_at(line)
            owed_reply = 'Publish Violation - Subject "_INBOX' in line and any(
                -_RELOAD_GRACE <= (at - r).total_seconds() <= _RELOAD_GRACE for r in reloads
            )
            if not owed_reply:
                found.append(line)
        return found


_RELOAD_GRACE = 10.0
"""Seconds around a reload in which a refused reply is excused (a request's timeout is 5 s)."""


def _logged_at(line: str) -> datetime:
    """The time of a nats-server log line (``[pid] 2026/12/07 22:14:22.024259 [ERR] ...``)."""
    stamp = " ".join(line.split(" ", 3)[1:3])
    return datetime.strptime(stamp, "%Y/%m/%d %H:%M:%S.%f")


def start_auth_nats(
    folder: Path,
    module: ModuleType,
    namespace: str,
    machines: Sequence[object] = (),
    extra_users: Sequence[str] = (),
) -> AuthNats:
    """A server with the generated users (and ``machines``, ``permissions.Machine``), and
    passwords for ``extra_users`` too, whose permissions a ``reload`` may add later."""
    users = [p.user for p in module.all_permissions(namespace, machines)]
    users.append(module.user_name(module.ADMIN, namespace))
    users += extra_users
    return AuthNats(folder, module.render_conf(namespace, machines=machines), users).start()
