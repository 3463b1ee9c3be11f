"""The web app's one way to Rivet's data: the public API (the gateway), as the signed-in person.

Each call sends the session's access token; a 401 is answered once by refreshing the tokens
(``POST /api/auth/refresh``, the refresh token rotates) and repeating the call. The API's own
errors (4xx, ``{"error": {"code", "message"}}``) are raised as ``ApiError`` for the page to
show; no answer, a timeout or a 5xx raises ``ApiDown``.
"""

from dataclasses import dataclass
from typing import Any

import httpx

from .metrics import API_FAILURES
from .session import Session


@dataclass
class ApiError(Exception):
    status: int
    code: str
    message: str
    details: Any = None

    def __str__(self) -> str:
        return self.message


class ApiDown(Exception):
    """The API did not answer, or failed (5xx)."""


class SignedOut(Exception):
    """The session's tokens no longer work (signed out elsewhere, expired, revoked)."""


def _error(response: httpx.Response) -> ApiError:
    try:
        body = response.json()["error"]
        return ApiError(
            response.status_code, str(body["code"]), str(body["message"]), body.get("details")
        )
    except (ValueError, KeyError, TypeError):
        return ApiError(response.status_code, "error", response.reason_phrase or "refused")


class Gateway:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def send(
        self, method: str, path: str, *, client_ip: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if client_ip:
            # the gateway's rate limits and audit log name the person's address, not the web
            # app's: list the web app's address in the gateway's TRUSTED_PROXIES
            headers["X-Forwarded-For"] = client_ip
        try:
            response = await self.client.request(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException as exc:
            API_FAILURES.labels("timeout").inc()
            raise ApiDown("Rivet's API did not answer in time.") from exc
        except httpx.HTTPError as exc:
            API_FAILURES.labels("unreachable").inc()
            raise ApiDown("Rivet's API cannot be reached.") from exc
        if response.status_code >= 500:
            API_FAILURES.labels("server_error").inc()
            raise ApiDown(_error(response).message)
        return response

    async def login(
        self, email: str, password: str, device: str | None, client_ip: str | None
    ) -> dict[str, Any]:
        headers = {"X-Device-Token": device} if device else {}
        response = await self.send(
            "POST",
            "/api/auth/login",
            data={"username": email, "password": password},
            headers=headers,
            client_ip=client_ip,
        )
        if response.status_code != 200:
            raise _error(response)
        tokens: dict[str, Any] = response.json()
        return tokens

    async def logout(self, session: Session, client_ip: str | None) -> None:
        await self.send(
            "POST",
            "/api/auth/logout",
            json={"refresh_token": session.refresh_token},
            client_ip=client_ip,
        )

    async def call(
        self,
        session: Session,
        method: str,
        path: str,
        *,
        client_ip: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """The JSON answer of a call as ``session``'s person; refreshes the tokens once."""
        for attempt in (1, 2):
            used = session.access_token
            headers = {"Authorization": f"Bearer {used}"}
            response = await self.send(method, path, headers=headers, client_ip=client_ip, **kwargs)
            if response.status_code == 401 and attempt == 1:
                async with session.refreshing:
                    if session.access_token == used:  # not refreshed by a call beside this one
                        await self.refresh(session, client_ip)
                continue
            if response.status_code == 401:
                raise SignedOut()
            if response.status_code >= 400:
                raise _error(response)
            return response.json() if response.content else None
        raise SignedOut()  # pragma: no cover - the loop returns or raises

    async def refresh(self, session: Session, client_ip: str | None) -> None:
        response = await self.send(
            "POST",
            "/api/auth/refresh",
            json={"refresh_token": session.refresh_token},
            client_ip=client_ip,
        )
        if response.status_code != 200:
            raise SignedOut()
        tokens = response.json()
        session.access_token = tokens["access_token"]
        session.refresh_token = tokens["refresh_token"]
        session.changed = True
