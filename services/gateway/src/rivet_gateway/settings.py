"""Gateway settings (environment variables; see README)."""

from pathlib import Path

from pydantic import Field, IPvAnyNetwork, model_validator

from rivet_runtime import ServiceSettings
from rivet_runtime.settings import MetricsPort


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"
    http_port: int = 8000
    # The API port is public: /metrics (route names, traffic, error rates) is served on a port
    # of its own that only the monitoring network reaches.
    metrics_port: MetricsPort = 8100

    jwt_public_key: str | None = Field(
        default=None,
        description="PEM Ed25519 public key(s) that verify access tokens; several keys may be "
        "concatenated during a key rotation.",
    )
    jwt_public_key_file: Path | None = Field(
        default=None, description="File holding those keys (used when JWT_PUBLIC_KEY is unset)."
    )
    jwt_issuer: str = Field(default="rivet-auth", description="Expected `iss`.")
    jwt_audience: str = Field(default="rivet", description="Expected `aud`.")
    jwt_leeway: int = Field(default=30, ge=0, le=300, description="Clock skew allowed (s).")
    rpc_timeout: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Seconds to wait for a service before 504; a request that takes longer by "
        "nature has its own in the catalogue and is waited for that long when it is longer "
        "(adding an attachment: 30 s).",
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest JSON/form body accepted (413 above)."
    )
    import_max_bytes: int = Field(
        default=20 * 1024 * 1024,
        ge=1024,
        description="Largest CSV file `POST /api/equipment/import` takes (413 above); keep it "
        "equal to the assets service's.",
    )
    photo_max_bytes: int = Field(
        default=15 * 1024 * 1024,
        ge=1024,
        description="Largest photo `POST /api/upload/nameplate` takes (413 above); keep it "
        "equal to the OCR service's.",
    )
    attachment_max_bytes: int = Field(
        default=25 * 1024 * 1024,
        ge=1024,
        description="Largest file `POST /api/work-orders/{ref}/attachments` and "
        "`POST /api/equipment/{ref}/attachments` take (413 above); keep it equal to the "
        "attachments service's.",
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS (JSON list), e.g. web client."
    )
    rate_limit_user: int = Field(
        default=600,
        ge=0,
        description="Requests a minute one person (an access token's user) may send on "
        "average, across every gateway replica (429 with `Retry-After` above); 0: no limit.",
    )
    rate_limit_user_burst: int = Field(
        default=100, ge=1, description="Requests a person may send at once (the bucket's size)."
    )
    rate_limit_api_key: int = Field(
        default=1200,
        ge=0,
        description="Requests a minute one API key may send on average; 0: no limit.",
    )
    rate_limit_api_key_burst: int = Field(
        default=200, ge=1, description="Requests an API key may send at once."
    )
    rate_limit_anonymous: int = Field(
        default=60,
        ge=0,
        description="Requests a minute one client address (an IPv6 /64) may send to the "
        "routes without sign-in (register, login, refresh, logout, password reset, "
        "invitations); 0: no limit.",
    )
    rate_limit_anonymous_burst: int = Field(
        default=30, ge=1, description="Requests one address may send at once to those routes."
    )
    rate_limit_lease: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="Most requests of one caller a replica takes from the shared budget at "
        "once (never more than a second of the caller's average rate); 1: exact, one NATS "
        "round trip a request.",
    )
    rate_limit_lease_seconds: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="Seconds a replica may spend a lease it took (what is left then is dropped).",
    )
    rate_limit_store_timeout: float = Field(
        default=0.5,
        gt=0,
        le=10,
        description="Seconds to wait for the shared rate-limit bucket (NATS key-value) before "
        "limiting on this replica alone for 5 s (failing open).",
    )
    trusted_proxies: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="Addresses or networks of the reverse proxies in front of the gateway "
        '(JSON list, e.g. `["10.0.0.0/8"]`): only from them is `X-Forwarded-For` believed '
        "for the client's address.",
    )

    @model_validator(mode="after")
    def _load_key(self) -> "GatewaySettings":
        if self.jwt_public_key is None and self.jwt_public_key_file is not None:
            object.__setattr__(self, "jwt_public_key", self.jwt_public_key_file.read_text())
        return self
