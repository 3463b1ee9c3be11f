"""Small helpers for tests that drive the API."""

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

PASSWORD = "correct horse battery"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


@dataclass
class Session:
    email: str
    password: str
    user: dict[str, Any]
    tokens: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['access_token']}"}


async def login(
    api: httpx.AsyncClient, email: str, password: str = PASSWORD, device: str | None = None
) -> httpx.Response:
    headers = {"X-Device-Token": device} if device else {}
    return await api.post(
        "/api/auth/login", data={"username": email, "password": password}, headers=headers
    )


async def register(api: httpx.AsyncClient, prefix: str = "admin", **extra: Any) -> Session:
    """A new user with a new organization (its admin), logged in."""
    email = unique_email(prefix)
    body = {"email": email, "password": PASSWORD, "full_name": f"{prefix.title()} Person"} | extra
    response = await api.post("/api/auth/register", json=body)
    assert response.status_code == 201, response.text
    session = Session(email=email, password=PASSWORD, user=response.json())
    answer = await login(api, email)
    assert answer.status_code == 200, answer.text
    session.tokens = answer.json()
    return session


async def invite_member(api: httpx.AsyncClient, admin: Session, role: str) -> Session:
    """A user invited into ``admin``'s organization with ``role``, logged in."""
    email = unique_email(role)
    invitation = await api.post(
        "/api/auth/invitations", json={"email": email, "role": role}, headers=admin.headers
    )
    assert invitation.status_code == 201, invitation.text
    joined = await api.post(
        "/api/auth/invitations/accept",
        json={"token": invitation.json()["token"], "password": PASSWORD, "full_name": "Member"},
    )
    assert joined.status_code == 201, joined.text
    session = Session(email=email, password=PASSWORD, user=joined.json())
    session.tokens = (await login(api, email)).json()
    return session


async def create_api_key(
    api: httpx.AsyncClient, admin: Session, role: str = "viewer", **extra: Any
) -> dict[str, Any]:
    """A new API key of ``admin``'s organization (its view, with the ``secret``), once the
    gateway accepts it (it learns of new keys by an event, within milliseconds)."""
    body = {"name": f"{role} key {uuid.uuid4().hex[:6]}", "role": role} | extra
    made = await api.post("/api/auth/api-keys", json=body, headers=admin.headers)
    assert made.status_code == 201, made.text
    key: dict[str, Any] = made.json()
    deadline = time.monotonic() + 5
    while (await api.get("/api/auth/organization", headers=key_headers(key))).status_code != 200:
        assert time.monotonic() < deadline, "the gateway never accepted the new key"
        await asyncio.sleep(0.02)
    return key


def key_headers(key: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {key['secret']}"}
