"""Auth service settings (environment variables; see README)."""

from pathlib import Path

from pydantic import Field, model_validator

from rivet_runtime.settings import MailSettings


class AuthSettings(MailSettings):
    service_name: str = "auth"
    http_port: int = 8101

    jwt_private_key: str | None = Field(
        default=None, description="PEM Ed25519 private key that signs access tokens."
    )
    jwt_private_key_file: Path | None = Field(
        default=None, description="File holding that key (used when JWT_PRIVATE_KEY is unset)."
    )
    jwt_issuer: str = Field(default="rivet-auth", description="`iss` of access tokens.")
    jwt_audience: str = Field(default="rivet", description="`aud` of access tokens.")
    access_token_ttl: int = Field(default=900, ge=60, le=3600, description="Seconds (15 min).")
    refresh_token_ttl: int = Field(
        default=30 * 24 * 3600, ge=3600, description="Seconds a refresh token lives (30 days)."
    )
    invitation_ttl: int = Field(default=7 * 24 * 3600, ge=600, description="Seconds (7 days).")
    password_reset_ttl: int = Field(
        default=1800, ge=300, le=86400, description="Seconds a reset link works (30 min)."
    )
    password_reset_limit: int = Field(
        default=3, ge=1, description="Reset mails an account gets per hour at most."
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where people reach Rivet: the links in mail (reset, invitations) start "
        "with it.",
    )
    telegram_link_ttl: int = Field(default=600, ge=60, le=3600, description="Seconds (10 min).")
    telegram_bot_username: str | None = Field(
        default=None,
        description="Bot username for `https://t.me/<bot>?start=<code>` links: Telegram "
        "linking, and invitations joined in Telegram (`start=join_<token>`).",
    )
    argon2_time_cost: int = Field(default=2, ge=1, description="argon2id iterations.")
    argon2_memory_cost: int = Field(default=19456, ge=8192, description="argon2id KiB.")
    argon2_parallelism: int = Field(default=1, ge=1, description="argon2id lanes.")
    login_free_failures: int = Field(
        default=5, ge=1, description="Failed logins per account before throttling starts."
    )
    login_max_delay: int = Field(
        default=900, ge=1, description="Longest wait (seconds) throttling can impose."
    )

    @model_validator(mode="after")
    def _load_key(self) -> "AuthSettings":
        if self.jwt_private_key is None and self.jwt_private_key_file is not None:
            object.__setattr__(self, "jwt_private_key", self.jwt_private_key_file.read_text())
        return self
