"""The gateway's FastAPI application: thin by design (HTTP, token check, forwarding, docs)."""

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from rivet_contracts import Events
from rivet_runtime.service import ServiceRuntime

from . import apidocs, errors, rivetpro
from .api_keys import ApiKeys
from .api_keys import jobs as api_key_jobs
from .api_keys import on_created as on_key_created
from .api_keys import on_revoked as on_key_revoked
from .clientaddr import ClientAddress
from .forward import Forwarder
from .middleware import GatewayMiddleware
from .ratelimit import BUCKET, Kind, Policy, RateLimiter, SharedBuckets
from .revocations import Revocations, on_revoked
from .revocations import jobs as revocation_jobs
from .routes import ROUTERS
from .routes.attachments import UPLOADS as ATTACHMENT_UPLOADS
from .settings import GatewaySettings
from .tokens import TokenVerifier

DESCRIPTION = """
Rivet's JSON API. Every call is scoped to the organization of the caller's access token.

Log in with `POST /api/auth/login` (form-encoded, `username` = e-mail), then send
`Authorization: Bearer <access_token>`. Machine clients send an API key instead
(`Authorization: Bearer rvt_...` or `X-API-Key: rvt_...`; admins create them at
`POST /api/auth/api-keys`). Errors always look like
`{"error": {"code": "...", "message": "...", "details": ...}}`. Each person, API key and (on
the routes without sign-in) client address has a rate limit: past it, 429 `rate_limited` with
a `Retry-After` header (seconds).
"""


@dataclass(frozen=True)
class GatewayState:
    revocations: Revocations
    """Access tokens revoked before they expire (kept in step by a listener and a job)."""
    api_keys: ApiKeys
    """The API keys that work (kept in step the same way)."""
    limiter: RateLimiter
    """The rate limits, shared by the replicas through a NATS key-value bucket."""


def rate_limiter(settings: GatewaySettings) -> RateLimiter:
    return RateLimiter(
        {
            Kind.USER: Policy(settings.rate_limit_user, settings.rate_limit_user_burst),
            Kind.API_KEY: Policy(settings.rate_limit_api_key, settings.rate_limit_api_key_burst),
            Kind.ADDRESS: Policy(
                settings.rate_limit_anonymous, settings.rate_limit_anonymous_burst
            ),
        },
        lease=settings.rate_limit_lease,
        lease_seconds=settings.rate_limit_lease_seconds,
    )


def build_runtime(settings: GatewaySettings | None = None) -> ServiceRuntime[GatewayState]:
    settings = settings or GatewaySettings()
    # an access token lives at most an hour (the auth service's ACCESS_TOKEN_TTL, 15 minutes
    # by default, cannot be set longer): older revocations refuse nothing
    revocations = Revocations(keep=3600 + settings.jwt_leeway + 60)
    api_keys = ApiKeys()
    limiter = rate_limiter(settings)
    state = GatewayState(revocations, api_keys, limiter)
    runtime = ServiceRuntime(settings, state, uses_uploads=True)
    runtime.listen(Events.USER_SESSIONS_REVOKED, on_revoked(revocations))
    runtime.listen(Events.API_KEY_CREATED, on_key_created(api_keys))
    runtime.listen(Events.API_KEY_REVOKED, on_key_revoked(api_keys))
    runtime.include_jobs(revocation_jobs)
    runtime.include_jobs(api_key_jobs)
    if limiter.policies:

        async def connect_limiter() -> None:
            shared = SharedBuckets(
                runtime.broker.connection.jetstream(),
                settings.stream_name(BUCKET),
                max_age=limiter.max_age(),
                replicas=settings.stream_replicas,
                timeout=settings.rate_limit_store_timeout,
            )
            await limiter.connect(shared)

        runtime.on_started.append(connect_limiter)
    return runtime


def create_app(runtime: ServiceRuntime[Any]) -> FastAPI:
    settings = runtime.settings
    assert isinstance(settings, GatewaySettings)
    if not settings.jwt_public_key:
        raise SystemExit(
            "gateway: no token verification key. Set JWT_PUBLIC_KEY or JWT_PUBLIC_KEY_FILE "
            "(`make run` creates one in .rivet/keys/)."
        )
    app = FastAPI(
        title="Rivet API",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=runtime.lifespan,
        # /docs and /redoc come from apidocs.install: FastAPI's own pages load their files
        # from a CDN and start Swagger UI with an inline script
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.forwarder = Forwarder(runtime.client, settings.rpc_timeout)
    app.state.uploads = lambda: runtime.uploads
    app.state.readiness = runtime.health.readiness
    state = runtime.state
    app.state.verifier = TokenVerifier(
        settings.jwt_public_key,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        leeway=settings.jwt_leeway,
        revocations=state.revocations if isinstance(state, GatewayState) else None,
    )
    app.state.api_keys = state.api_keys if isinstance(state, GatewayState) else ApiKeys()
    app.state.limiter = state.limiter if isinstance(state, GatewayState) else None
    app.state.client_address = ClientAddress(settings.trusted_proxies)
    errors.install(app)
    apidocs.install(app)
    for router in ROUTERS:
        app.include_router(router)
    for route in runtime.ops_routes():
        app.router.routes.append(route)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "X-API-Key",
                "Content-Type",
                "X-Request-ID",
                "X-Device-Token",
                "Idempotency-Key",
            ],
            expose_headers=["X-Request-ID", "Retry-After", "Idempotent-Replayed"],
            max_age=600,
        )
    app.add_middleware(
        GatewayMiddleware,
        service=settings.service_name,
        max_body=settings.max_body_bytes,
        body_limits={  # the file plus room for the multipart envelope and form fields
            "/api/equipment/import": settings.import_max_bytes + 64 * 1024,
            "/api/upload/nameplate": settings.photo_max_bytes + 64 * 1024,
            f"{rivetpro.PREFIX}/api/upload/nameplate": settings.photo_max_bytes + 64 * 1024,
            ATTACHMENT_UPLOADS: settings.attachment_max_bytes + 64 * 1024,
        },
    )
    return app
