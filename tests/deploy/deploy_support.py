"""Helpers shared by the deployment tests (conftest puts this folder on sys.path)."""

import os
import secrets
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
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
        return [ln for ln in self.log.read_text().splitlines() if "Violation" in ln]


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
