"""Gateway settings (environment variables; see README)."""

from pathlib import Path

from pydantic import Field, model_validator

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
        default=5.0, gt=0, le=60, description="Seconds to wait for a service before 504."
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
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS (JSON list), e.g. web client."
    )

    @model_validator(mode="after")
    def _load_key(self) -> "GatewaySettings":
        if self.jwt_public_key is None and self.jwt_public_key_file is not None:
            object.__setattr__(self, "jwt_public_key", self.jwt_public_key_file.read_text())
        return self
