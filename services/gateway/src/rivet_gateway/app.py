"""The gateway's FastAPI application: thin by design (HTTP, token check, forwarding, docs)."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from rivet_runtime.service import ServiceRuntime

from . import apidocs, errors
from .forward import Forwarder
from .middleware import GatewayMiddleware
from .routes import ROUTERS
from .settings import GatewaySettings
from .tokens import TokenVerifier

DESCRIPTION = """
Rivet's JSON API. Every call is scoped to the organization of the caller's access token.

Log in with `POST /api/auth/login` (form-encoded, `username` = e-mail), then send
`Authorization: Bearer <access_token>`. Errors always look like
`{"error": {"code": "...", "message": "...", "details": ...}}`.
"""


def build_runtime(settings: GatewaySettings | None = None) -> ServiceRuntime[None]:
    return ServiceRuntime(settings or GatewaySettings(), None, uses_uploads=True)


def create_app(runtime: ServiceRuntime[None]) -> FastAPI:
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
    app.state.verifier = TokenVerifier(
        settings.jwt_public_key,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        leeway=settings.jwt_leeway,
    )
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
            allow_headers=["Authorization", "Content-Type", "X-Request-ID", "X-Device-Token"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(
        GatewayMiddleware,
        service=settings.service_name,
        max_body=settings.max_body_bytes,
        body_limits={  # the file plus room for the multipart envelope and form fields
            "/api/equipment/import": settings.import_max_bytes + 64 * 1024,
            "/api/upload/nameplate": settings.photo_max_bytes + 64 * 1024,
        },
    )
    return app
