"""The session cookie: the person's tokens, organization and CSRF token, encrypted and signed.

The web app keeps no session store: the cookie (``HttpOnly``, ``SameSite=Lax``, ``Secure`` over
TLS) carries the access and refresh tokens the API issued, encrypted with Fernet (AES-128-CBC
and HMAC-SHA256) under WEB_SESSION_SECRET, so the browser's scripts cannot read it and nobody can
forge or alter it. Every form that changes something carries the session's CSRF token, checked
against the cookie's; the sign-in form, before any session exists, carries one bound to a cookie
of its own (double submit). A new sign-in always makes a new session (no fixation).
"""

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

SESSION_COOKIE = "rivet_session"
PRE_COOKIE = "rivet_signin"
DEVICE_COOKIE = "rivet_device"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


@dataclass
class Session:
    access_token: str
    refresh_token: str
    user_id: str
    org_id: str
    name: str
    role: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    changed: bool = False
    """Tokens were refreshed during this request: the cookie is written again."""
    refreshing: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False, compare=False)
    """One refresh at a time: the calls of one page run together, and a refresh token works
    once (a second use would end the session)."""

    def as_cookie(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data.pop("changed")
        data.pop("refreshing")
        return data


class CookieCodec:
    """Encrypts and authenticates cookie values; refuses anything older than ``max_age``."""

    def __init__(self, secret: str | None, max_age: int) -> None:
        raw = secret.encode() if secret else secrets.token_bytes(32)
        key = base64.urlsafe_b64encode(hashlib.sha256(b"rivet-web-cookie\0" + raw).digest())
        self._fernet = Fernet(key)
        self.max_age = max_age

    def dump(self, value: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(value, separators=(",", ":")).encode()).decode()

    def load(self, token: str | None) -> dict[str, Any] | None:
        if not token:
            return None
        try:
            data = json.loads(self._fernet.decrypt(token.encode(), ttl=self.max_age))
        except (InvalidToken, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def session(self, token: str | None) -> Session | None:
        data = self.load(token)
        if data is None:
            return None
        try:
            fields = {k: str(v) for k, v in data.items() if k not in ("changed", "refreshing")}
            return Session(**fields)  # type: ignore[arg-type]
        except TypeError:
            return None


def same_token(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
