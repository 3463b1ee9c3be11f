"""Access tokens: short-lived JWTs signed with Ed25519 (EdDSA). Only auth holds the private key;
the gateway verifies with the public key."""

import time
from uuid import UUID, uuid4

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from rivet_contracts import Role
from rivet_runtime.keys import key_id


class TokenSigner:
    def __init__(self, private_key_pem: str, *, issuer: str, audience: str, ttl: int) -> None:
        key = load_pem_private_key(private_key_pem.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("JWT_PRIVATE_KEY must be an Ed25519 private key (PEM)")
        self._key = key
        self.kid = key_id(key.public_key())
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl

    def access_token(self, *, user_id: UUID, org_id: UUID, role: Role, session_id: UUID) -> str:
        """``sid`` names the session (the refresh-token family) and ``ims`` the issue time in
        milliseconds, so the gateway can refuse the tokens of a session or of a user revoked
        after they were issued, even within the same second."""
        moment = time.time()
        now = int(moment)
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(user_id),
            "org": str(org_id),
            "role": role.value,
            "typ": "access",
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl,
            "jti": uuid4().hex,
            "sid": str(session_id),
            "ims": int(moment * 1000),
        }
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self.kid})
