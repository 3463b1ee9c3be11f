"""Dependency aliases that keep route signatures to one line."""

from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from rivet_runtime.client import CallMeta

from .api_keys import ApiKeys, KeysNotLoaded, looks_like_a_key
from .clientaddr import ClientAddress
from .forward import Forwarder
from .ratelimit import Kind, RateLimiter
from .settings import GatewaySettings
from .tokens import InvalidToken, TokenVerifier

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/auth/login", auto_error=False)
api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="An API key (`rvt_...`) of a machine client; `Authorization: Bearer rvt_...` "
    "works too.",
)
_READS = frozenset({"GET", "HEAD"})


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


async def _caller(
    request: Request,
    token: Annotated[str | None, Depends(oauth2)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> CallMeta:
    challenge = {"WWW-Authenticate": "Bearer"}
    if api_key is not None or (token and looks_like_a_key(token)):
        if api_key is not None and token:
            raise HTTPException(
                401, "send one credential: Authorization or X-API-Key", headers=challenge
            )
        meta = _key_caller(request, api_key or token or "")
        await _spend(request, Kind.API_KEY, meta)
        return meta
    if not token:
        raise HTTPException(401, "not authenticated", headers=challenge)
    verifier: TokenVerifier = request.app.state.verifier
    try:
        identity = verifier.verify(token)
    except InvalidToken as exc:
        raise HTTPException(401, str(exc), headers=challenge) from exc
    meta = CallMeta(identity=identity, correlation_id=_correlation_id(request))
    await _spend(request, Kind.USER, meta)
    return meta


async def _spend(request: Request, kind: Kind, meta: CallMeta) -> None:
    """One request of the caller's rate limit (``RateLimited``: 429 when it has none left)."""
    limiter: RateLimiter | None = request.app.state.limiter
    if limiter is not None and meta.identity is not None:
        await limiter.check(kind, meta.identity.user_id.hex)


def _key_caller(request: Request, key: str) -> CallMeta:
    keys: ApiKeys = request.app.state.api_keys
    try:
        grant = keys.verify(key)
    except InvalidToken as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc
    except KeysNotLoaded as exc:
        raise HTTPException(
            503, "API keys are not loaded yet; try again", headers={"Retry-After": "1"}
        ) from exc
    if grant.read_only and request.method not in _READS:
        raise HTTPException(403, "this API key is read-only: only GET requests")
    return CallMeta(identity=grant.identity, correlation_id=_correlation_id(request))


async def _person(meta: Annotated[CallMeta, Depends(_caller)]) -> CallMeta:
    if meta.identity is not None and not meta.identity.is_person:
        raise HTTPException(403, "API keys cannot use this route: it needs a person's sign-in")
    return meta


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[ -~]+$",
        description="Makes the create safe to repeat for 24 hours (a work order's key: for "
        "good): the same key with the same request answers the first answer again (status and "
        "body) and creates nothing; the same key with another request is a 422 "
        "`idempotency_key_reused`; a 409 with `retry_after` while the first is still running. "
        "1-255 printable ASCII characters, scoped to your organization and this route; a "
        "request that failed keeps no key, so it may be retried with it.",
    ),
]
"""The ``Idempotency-Key`` header of a route that creates something (1-255 printable ASCII
characters, else 422)."""


async def _keyed_caller(
    meta: Annotated[CallMeta, Depends(_caller)], key: IdempotencyKey = None
) -> CallMeta:
    return replace(meta, idempotency_key=key) if key is not None else meta


async def _keyed_person(
    meta: Annotated[CallMeta, Depends(_person)], key: IdempotencyKey = None
) -> CallMeta:
    return replace(meta, idempotency_key=key) if key is not None else meta


async def _anonymous(request: Request) -> CallMeta:
    limiter: RateLimiter | None = request.app.state.limiter
    if limiter is not None and limiter.limits(Kind.ADDRESS):
        addresses: ClientAddress = request.app.state.client_address
        peer = request.client.host if request.client else None
        forwarded = request.headers.getlist("x-forwarded-for") if addresses.trusted else ()
        await limiter.check(Kind.ADDRESS, addresses.of(peer, forwarded))
    return CallMeta(identity=None, correlation_id=_correlation_id(request))


Fwd = Annotated[Forwarder, Depends(_forwarder)]
Config = Annotated[GatewaySettings, Depends(_settings)]
Caller = Annotated[CallMeta, Depends(_caller)]
"""The authenticated caller: a person with an access token or a machine client with an API
key (401 without a valid one; 403 for a read-only key's write)."""
Person = Annotated[CallMeta, Depends(_person)]
"""An authenticated person: what an API key may never do (its own keys, members, passwords,
the profile) answers 403 to a key."""
KeyedCaller = Annotated[CallMeta, Depends(_keyed_caller)]
"""``Caller`` on a route that creates something: its ``Idempotency-Key`` header, documented
once here, travels with the request (``RpcSpec.idempotent``, ``rivet_runtime.idempotency``)."""
KeyedPerson = Annotated[CallMeta, Depends(_keyed_person)]
"""``Person`` with the ``Idempotency-Key`` header, like ``KeyedCaller``."""
Anonymous = Annotated[CallMeta, Depends(_anonymous)]
"""A call that needs no token (register, login, refresh), limited per client address."""
