"""What the auth handlers share for the life of the process."""

from dataclasses import dataclass

from .security.jwt import TokenSigner
from .security.passwords import Passwords
from .settings import AuthSettings


@dataclass(frozen=True)
class AuthState:
    settings: AuthSettings
    passwords: Passwords
    signer: TokenSigner

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> "AuthState":
        if not settings.jwt_private_key:
            raise SystemExit(
                "auth: no signing key. Set JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE "
                "(an Ed25519 PEM; `make run` creates one in .rivet/keys/)."
            )
        return cls(
            settings=settings,
            passwords=Passwords(
                time_cost=settings.argon2_time_cost,
                memory_cost=settings.argon2_memory_cost,
                parallelism=settings.argon2_parallelism,
            ),
            signer=TokenSigner(
                settings.jwt_private_key,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                ttl=settings.access_token_ttl,
            ),
        )
