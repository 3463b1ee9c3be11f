"""The gateway refuses every token it cannot trust, with 401 and a reason."""

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

from rivet_devstack.keys import generate
from rivet_devstack.testing.helpers import register
from rivet_devstack.testing.services import ServiceSet
from rivet_runtime.keys import key_id


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": "rivet-auth",
        "aud": "rivet",
        "sub": str(uuid.uuid4()),
        "org": str(uuid.uuid4()),
        "role": "admin",
        "typ": "access",
        "iat": now,
        "exp": now + 600,
    }
    return claims | overrides


def _sign(private_pem: str, claims: dict[str, Any], kid: str | None = None) -> str:
    key = load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return jwt.encode(
        claims, key, algorithm="EdDSA", headers={"kid": kid or key_id(key.public_key())}
    )


async def _me(api: httpx.AsyncClient, token: str) -> httpx.Response:
    return await api.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})


async def test_a_valid_token_passes(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    assert (await _me(api, admin.tokens["access_token"])).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"exp": int(time.time()) - 120}, "token expired"),
        ({"aud": "someone-else"}, "token is not valid"),
        ({"iss": "evil"}, "token is not valid"),
        ({"typ": "refresh"}, "not an access token"),
        ({"role": "overlord"}, "token claims are incomplete"),
    ],
)
async def test_bad_claims_are_refused(
    api: httpx.AsyncClient, services: ServiceSet, overrides: dict[str, Any], reason: str
) -> None:
    answer = await _me(api, _sign(services.private_key, _claims(**overrides)))
    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == reason
    assert answer.headers["WWW-Authenticate"] == "Bearer"


async def test_missing_required_claim_is_refused(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    claims = _claims()
    del claims["exp"]
    assert (await _me(api, _sign(services.private_key, claims))).status_code == 401


async def test_token_signed_with_another_key_is_refused(api: httpx.AsyncClient) -> None:
    other_private, _ = generate()
    # Same kid as ours would be a forgery attempt; an unknown kid too. Both fail.
    answer = await _me(api, _sign(other_private, _claims()))
    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == "token signed by an unknown key"


async def test_forged_kid_does_not_help(api: httpx.AsyncClient, services: ServiceSet) -> None:
    ours = load_pem_private_key(services.private_key.encode(), password=None)
    assert isinstance(ours, Ed25519PrivateKey)
    other_private, _ = generate()
    forged = _sign(other_private, _claims(), kid=key_id(ours.public_key()))
    assert (await _me(api, forged)).status_code == 401


async def test_alg_none_and_hmac_are_refused(api: httpx.AsyncClient, services: ServiceSet) -> None:
    unsigned = jwt.encode(_claims(), key=None, algorithm="none")
    assert (await _me(api, unsigned)).status_code == 401
    # The classic confusion attack: HMAC "signed" with the public key as the secret.
    assert (await _me(api, _hs256(_claims(), services.public_key.encode()))).status_code == 401


def _hs256(claims: dict[str, Any], secret: bytes) -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = part(json.dumps(claims).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{part(mac)}"


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "Bearer"])
async def test_garbage_tokens_are_refused(api: httpx.AsyncClient, token: str) -> None:
    assert (await _me(api, token)).status_code == 401


async def test_refresh_token_is_not_an_access_token(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    assert (await _me(api, admin.tokens["refresh_token"])).status_code == 401
    assert (await api.get("/api/auth/me")).status_code == 401


def test_a_verified_token_is_remembered_until_it_expires() -> None:
    from rivet_gateway.tokens import InvalidToken, TokenVerifier

    private, public = generate()
    now = [float(int(time.time()))]
    verifier = TokenVerifier(
        public, issuer="rivet-auth", audience="rivet", leeway=5, clock=lambda: now[0]
    )
    token = _sign(private, _claims(exp=int(now[0]) + 60))
    checked = 0
    check = verifier._check

    def counting(raw: str) -> Any:
        nonlocal checked
        checked += 1
        return check(raw)

    verifier._check = counting  # type: ignore[method-assign]
    first = verifier.verify(token)
    assert verifier.verify(token) == first
    assert checked == 1  # the second request skipped the signature check

    now[0] += 64  # within the leeway
    assert verifier.verify(token) == first
    now[0] += 2  # past exp + leeway: refused although it was valid before
    with pytest.raises(InvalidToken, match="token expired"):
        verifier.verify(token)
    assert checked == 1

    # Only tokens that passed the check are remembered: a tampered copy is checked and refused.
    other = _sign(private, _claims())
    tampered = other[:-4] + ("AAAA" if not other.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(InvalidToken):
            verifier.verify(tampered)
    assert checked == 3

    verifier.CACHE_SIZE = 2
    for _ in range(3):
        verifier.verify(_sign(private, _claims()))
    assert len(verifier._verified) == 2  # bounded: the oldest is forgotten
