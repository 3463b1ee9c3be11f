"""Web app settings (environment variables)."""

from pydantic import Field, SecretStr

from rivet_runtime import ServiceSettings
from rivet_runtime.settings import MetricsPort


class WebSettings(ServiceSettings):
    service_name: str = "web"
    http_port: int = 8080
    # The pages are public: /metrics is served on a port of its own for the monitoring network.
    metrics_port: MetricsPort = 8109

    gateway_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Base URL of Rivet's API (the gateway) that the web app calls for every "
        "page, with the signed-in person's token.",
    )
    gateway_timeout: float = Field(
        default=10.0, gt=0, le=120, description="Seconds to wait for the API before an error page."
    )
    web_session_secret: SecretStr | None = Field(
        default=None,
        description="Secret (32+ characters) that encrypts and signs the session cookies; the "
        "same in every replica. Unset: a random one per process (sessions end when it restarts).",
    )
    web_cookie_secure: bool | None = Field(
        default=None,
        description="Mark cookies Secure: true, false, or unset to follow the request's scheme "
        "(https behind a proxy that sends X-Forwarded-Proto from FORWARDED_ALLOW_IPS).",
    )
    web_session_max_age: int = Field(
        default=7 * 24 * 3600,
        ge=300,
        description="Seconds a session cookie lasts at most (the refresh token may end it sooner).",
    )
    web_live_buffer: int = Field(
        default=2000,
        ge=10,
        description="Events each replica keeps per organization for live pages that reconnect "
        "(Last-Event-ID); one older than these makes the page reload its data instead.",
    )
