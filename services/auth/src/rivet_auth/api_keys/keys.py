"""The form of an API key, without I/O: ``rvt_<prefix>_<secret>``.

The prefix (10 lower-case letters and digits) is public: the admins' list shows it, so a key
found in a log or a repository can be told apart from the others. The secret is 32 random
bytes, base64url (43 characters). Only the SHA-256 of the whole key is kept: the secret has 256
random bits, so no guessing reaches it, and a fast hash lets every gateway check a key per
request (see ADR 0014).
"""

import hashlib
import re
import secrets
import string

from rivet_contracts.auth import API_KEY_FORMAT, API_KEY_PREFIX

_ALPHABET = string.ascii_lowercase + string.digits
_FORMAT = re.compile(API_KEY_FORMAT)


def new_key() -> tuple[str, str]:
    """A new key and its public prefix."""
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}", prefix


def well_formed(key: str) -> bool:
    return _FORMAT.fullmatch(key) is not None


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()
