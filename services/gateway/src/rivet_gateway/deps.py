"""Dependency aliases that keep route signatures to one line."""

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer

from rivet_runtime.client import CallMeta

from .forward import Forwarder
from .settings import GatewaySettings
from .tokens import InvalidToken, TokenVerifier

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/auth/login", auto_error=False)


# Dependencies are ``async def`` on purpose: FastAPI runs a plain ``def`` one in a worker
# thread, one thread hop per request (measured with bench/gateway).
async def _forwarder(request: Request) -> Forwarder:
    forwarder: Forwarder = request.app.state.forwarder
    return forwarder


async def _settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


def _correlation_id(request: Request) -> str:
    return str(getattr(request.state, "correlation_id", "") or "")


async def _caller(request: Request, token: Annotated[str | None, Depends(oauth2)]) -> CallMeta:
    challenge = {"WWW-Authenticate": "Bearer"}
    if not token:
        raise HTTPException(401, "not authenticated", headers=challenge)
    verifier: TokenVerifier = request.app.state.verifier
    try:
        identity = verifier.verify(token)
    except InvalidToken as exc:
        raise HTTPException(401, str(exc), headers=challenge) from exc
    return CallMeta(identity=identity, correlation_id=_correlation_id(request))


async def _anonymous(request: Request) -> CallMeta:
    return CallMeta(identity=None, correlation_id=_correlation_id(request))


Fwd = Annotated[Forwarder, Depends(_forwarder)]
Config = Annotated[GatewaySettings, Depends(_settings)]
Caller = Annotated[CallMeta, Depends(_caller)]
"""The authenticated caller (401 without a valid access token)."""
Anonymous = Annotated[CallMeta, Depends(_anonymous)]
"""A call that needs no token (register, login, refresh)."""
