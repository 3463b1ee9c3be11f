"""The gateway in front of one service (``one_service``), for benchmarks of a route's HTTP path.

    with one_service.running("assets", url) as svc, gateway_front.running(svc) as gw:
        token = gw.token(identity)
        httpx.get(gw.url + "/api/equipment/search/fuzzy", params=..., headers=gw.auth(token))

A lighter variant of the gateway benchmark's system (``bench/gateway/system.py``, which starts
every service): ``rivet-gateway`` as ``make run`` starts it, on the service's private NATS, with
a fresh Ed25519 key pair per run. Access tokens are signed with the run's private key with the
claims the auth service puts in them (``rivet_auth.security.jwt``: ``iss`` rivet-auth, ``aud``
rivet, ``sub``, ``org``, ``role``, ``typ`` access, ``kid`` of the key), so the gateway's token
check, routing, request validation and forwarding are the real ones; the auth service itself
(registration, login) is not needed for that and is not started.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import one_service
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from rivet_contracts import Identity
from rivet_devstack.keys import generate
from rivet_devstack.processes import ServiceProcess
from rivet_devstack.servers import free_port
from rivet_devstack.services import GATEWAY_LOAD_LIMITS, environment
from rivet_runtime.keys import key_id

ISSUER, AUDIENCE = "rivet-auth", "rivet"
"""The gateway's defaults (``JWT_ISSUER``, ``JWT_AUDIENCE``)."""


@dataclass
class Gateway:
    process: ServiceProcess
    private_pem: str

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def pid(self) -> int:
        assert self.process.proc is not None
        return self.process.proc.pid

    def token(self, identity: Identity, ttl: int = 4 * 3600) -> str:
        """An access token for ``identity``, as the auth service would issue it."""
        key = load_pem_private_key(self.private_pem.encode(), password=None)
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": str(identity.user_id),
                  "org": str(identity.org_id), "role": identity.role.value, "typ": "access",
                  "iat": now, "nbf": now, "exp": now + ttl, "jti": uuid.uuid4().hex}  # fmt: skip
        kid = key_id(key.public_key())  # type: ignore[arg-type]
        return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})  # type: ignore[arg-type]

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@contextlib.contextmanager
def running(svc: one_service.Running, ready_within: float = 120) -> Iterator[Gateway]:
    """``rivet-gateway`` on ``svc``'s NATS until the block ends."""
    root = Path(tempfile.mkdtemp(prefix="rivet-bench-gateway-"))
    private, public = generate()
    (root / "public.pem").write_text(public)
    port = free_port()
    env = one_service.service_env("postgresql://unused", svc.nats.url, {
        "HTTP_PORT": str(port), "JWT_PUBLIC_KEY_FILE": str(root / "public.pem"),
        **environment(GATEWAY_LOAD_LIMITS),  # one account sends everything
    })  # fmt: skip
    process = ServiceProcess(
        "gateway", [one_service.command("gateway")], port, env, root / "gateway.log"
    )
    try:
        process.start()
        one_service.wait_ready(process, ready_within)
        yield Gateway(process, private)
    except BaseException:
        with contextlib.suppress(OSError):
            tail = process.log.read_text(errors="replace").splitlines()[-30:]
            print("----- gateway log -----\n" + "\n".join(tail))
        raise
    finally:
        process.stop()
        shutil.rmtree(root, ignore_errors=True)
