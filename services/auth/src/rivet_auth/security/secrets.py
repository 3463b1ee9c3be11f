"""Opaque secrets (refresh tokens, device tokens, invitations, link codes).

They carry >= 256 random bits, so a fast SHA-256 is the right way to store them: only the hash
is kept, and a database leak does not hand out live tokens.
"""

import hashlib
import secrets
from uuid import UUID


def new_secret() -> str:
    """32 random bytes, URL-safe (43 characters; fits Telegram's deep-link limit of 64)."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def compose(token_id: UUID, secret: str) -> str:
    """A token that names its row and proves possession: ``<id hex>.<secret>``."""
    return f"{token_id.hex}.{secret}"


def split(token: str) -> tuple[UUID, str] | None:
    """The row id and secret of a composed token, or None if it is malformed."""
    head, sep, secret = token.partition(".")
    if not sep or not secret:
        return None
    try:
        return UUID(hex=head), secret
    except ValueError:
        return None
