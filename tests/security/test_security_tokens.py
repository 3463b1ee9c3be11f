"""Only genuine, current access tokens get in: forged, tampered, expired, ``alg: none``,
HMAC-confused, wrong-audience, wrong-issuer, refresh-as-access and incomplete tokens are a 401
on every route that needs a token."""

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from security_support import Operation, Tenant, request_for

from rivet_runtime.keys import key_id

pytestmark = pytest.mark.security


def _b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Minter:
    """Signs tokens with the real key (only to prove each claim is checked) or other keys."""

    def __init__(self, private_pem: str, public_pem: str, who: Tenant) -> None:
        key = load_pem_private_key(private_pem.encode(), password=None)
        assert isinstance(key, Ed25519PrivateKey)
        self.key = key
        self.kid = key_id(key.public_key())
        self.public_pem = public_pem
        self.who = who

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": "rivet-auth",
            "aud": "rivet",
            "sub": self.who.viewer.user["id"],
            "org": self.who.org_id,
            "role": "viewer",
            "typ": "access",
            "iat": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, claims: dict[str, Any], key: Any = None, **header: Any) -> str:
        return jwt.encode(
            claims, key or self.key, algorithm="EdDSA", headers={"kid": self.kid, **header}
        )

    def hmac_confused(self) -> str:
        """The classic algorithm confusion: HS256 keyed with the verifier's public key (PyJWT
        refuses to make one, so it is made by hand)."""
        signed = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': self.kid})}."
        signed += _b64(self.claims(role="admin"))
        mac = hmac.new(self.public_pem.encode(), signed.encode(), hashlib.sha256).digest()
        return f"{signed}.{_b64(mac)}"

    def bad_tokens(self, refresh_token: str, device_token: str, real: str) -> dict[str, str]:
        other = Ed25519PrivateKey.generate()
        header, payload, signature = real.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        admin_payload = _b64(claims | {"role": "admin"})
        return {
            "garbage": "not-a-token",
            "empty": "",
            "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': self.kid})}."
            f"{_b64(self.claims(role='admin'))}.",
            "alg None": f"{_b64({'alg': 'None', 'kid': self.kid})}.{_b64(self.claims())}.",
            "alg none, real signature": f"{_b64({'alg': 'none', 'kid': self.kid})}.{payload}."
            f"{signature}",
            "HS256 with the public key as secret": self.hmac_confused(),
            "forged: another key, the real kid": self.sign(self.claims(role="admin"), other),
            "forged: another key and its own kid": jwt.encode(
                self.claims(role="admin"),
                other,
                algorithm="EdDSA",
                headers={"kid": key_id(other.public_key())},
            ),
            "forged: jku pointing elsewhere": self.sign(
                self.claims(), other, jku="https://attacker.invalid/jwks.json"
            ),
            "tampered: role raised to admin": f"{header}.{admin_payload}.{signature}",
            "tampered: signature cut": f"{header}.{payload}.",
            "expired": self.sign(
                self.claims(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
            ),
            "wrong audience": self.sign(self.claims(aud="another-app")),
            "wrong issuer": self.sign(self.claims(iss="someone-else")),
            "not an access token (typ refresh)": self.sign(self.claims(typ="refresh")),
            "no typ": self.sign(self.claims(typ=None)),
            "no exp": self.sign(self.claims(exp=None)),
            "no organization": self.sign(self.claims(org=None)),
            "made-up role": self.sign(self.claims(role="owner")),
            "kid path injection": self.sign(self.claims(), kid="../../../../dev/null"),
            "refresh token as access token": refresh_token,
            "device token as access token": device_token,
        }


@pytest.fixture(scope="module")
def minter(signing_keys: tuple[str, str], tenants: tuple[Tenant, Tenant]) -> Minter:
    return Minter(*signing_keys, tenants[0])


async def test_a_token_minted_right_is_accepted(client: httpx.AsyncClient, minter: Minter) -> None:
    """Guard: the minter makes real tokens, so the refusals below are about the defects."""
    answer = await client.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {minter.sign(minter.claims())}"}
    )
    assert answer.status_code == 200, answer.text


async def test_bad_tokens_are_refused_on_every_route(
    client: httpx.AsyncClient,
    tenants: tuple[Tenant, Tenant],
    ops: list[Operation],
    minter: Minter,
) -> None:
    team, _ = tenants
    real = team.viewer.tokens["access_token"]
    bad = minter.bad_tokens(
        team.viewer.tokens["refresh_token"], team.viewer.tokens["device_token"], real
    )
    secured = [op for op in ops if op.secured]
    assert len(secured) >= 25
    for op in secured:
        request = request_for(op, team)
        for name, token in bad.items():
            answer = await client.request(**request, headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 401, f"{op} with {name}: {answer.status_code}"
            assert answer.json()["error"]["code"] == "unauthorized"
            assert answer.headers["www-authenticate"] == "Bearer"
        for header in ({}, {"Authorization": f"Basic {_b64(b'admin:admin')}"}, {"Cookie": real}):
            answer = await client.request(**request, headers=header)
            assert answer.status_code == 401, f"{op} with {header}: {answer.status_code}"
