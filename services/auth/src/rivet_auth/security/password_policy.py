"""Which new passwords are accepted, after NIST SP 800-63B (section 5.1.1.2): a minimum length
and a check against common, repetitive or sequential and context-specific passwords, and no
composition rules (no "one digit, one symbol"), no expiry, no hints.

A new password is refused when

1. it has fewer than 8 or more than 128 characters;
2. it contains the e-mail address, or is made only of words of the account's context, with at
   most digits, spaces and symbols added: the e-mail address, its parts (``ana.lima`` and
   ``ana``, ``lima``, ``example`` of ``ana.lima@example.com``), the user's name and its parts,
   the organization's name and its parts, and ``rivet`` (``Ana.Lima2024``, ``lima ana!``);
3. it is on the list of common passwords (16,284 passwords of leaked-password corpora,
   shipped in ``common_passwords.txt``; see its header and
   ``services/auth/scripts/build_common_passwords.py``), also with digits, spaces and symbols
   around or inside it (``Password123!``, ``pass word``);
4. it is one character or one group of characters repeated (``aaaaaaaa``, ``abcabcabc``), or
   a run of consecutive letters or digits (``12345678``, ``abcdefgh``, ``87654321``), also with
   digits and symbols at its start and end (``aaaa1234``, ``abcd1234``).

Case never matters. Every registration path that takes a password (register, accepting an
invitation; a future password change or reset) calls :func:`require_acceptable`; the answer to
a refused password is a 422 ``validation_error`` whose message says which rule it broke, never
the password itself.
"""

import re
from enum import StrEnum
from importlib.resources import files
from itertools import pairwise

from rivet_contracts import ErrorCode, ServiceError
from rivet_contracts.auth import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

SERVICE_NAME = "rivet"
"""A context-specific word for every account (NIST names the service's own name)."""

SHORTEST_WORD = 2
"""Parts of a name or e-mail shorter than this (an initial) are not context words."""

SHORTEST_PATTERN = 4
"""What is left after stripping digits and symbols from the ends is checked for repeats and
runs only from this length on (a single letter is trivially "repeated")."""


def _load_common() -> frozenset[str]:
    text = files("rivet_auth.security").joinpath("common_passwords.txt").read_text("ascii")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


COMMON: frozenset[str] = _load_common()
"""Lower-cased common passwords of at least ``PASSWORD_MIN_LENGTH`` characters. Read once, at
import, so that a package without its data file fails at start, not at the first sign-up."""


class Weakness(StrEnum):
    """Why a password was refused; the value is the ``type`` in the error's details."""

    TOO_SHORT = "password_too_short"
    TOO_LONG = "password_too_long"
    PERSONAL = "password_personal"
    COMMON = "password_common"
    PATTERN = "password_pattern"


MESSAGES: dict[Weakness, str] = {
    Weakness.TOO_SHORT: f"a password needs at least {PASSWORD_MIN_LENGTH} characters",
    Weakness.TOO_LONG: f"a password may have at most {PASSWORD_MAX_LENGTH} characters",
    Weakness.PERSONAL: "this password is built from your e-mail address, your name or your "
    "organization's name; choose another",
    Weakness.COMMON: "this password is too common; choose another",
    Weakness.PATTERN: "this password is a repeated character or group, or a sequence like "
    "12345678 or abcdefgh; choose another",
}

_NOT_ALNUM = re.compile(r"[\W_]+")
_ENDS = re.compile(r"^[\W\d_]+|[\W\d_]+$")


def _compact(text: str) -> str:
    """Case-folded, without spaces and symbols (letters and digits of any script stay)."""
    return _NOT_ALNUM.sub("", text.casefold())


def _core(compact: str) -> str:
    """Without the digits at the start and end: ``"password123"`` -> ``"password"``."""
    return _ENDS.sub("", compact)


def context_words(email: str, full_name: str, organization_name: str | None = None) -> set[str]:
    """The account's own words, compacted: each whole value and each of its parts."""
    local_part = email.partition("@")[0]
    values = [email, local_part, full_name, organization_name or "", SERVICE_NAME]
    words = {_compact(v) for v in values}
    for value in values:
        words.update(_compact(part) for part in _NOT_ALNUM.split(value))
    return {w for w in words if len(w) >= SHORTEST_WORD}


def _personal(compact: str, email: str, words: set[str]) -> bool:
    """Contains the whole e-mail address, or nothing but digits is left once the account's
    words are taken out (longest first)."""
    if _compact(email) and _compact(email) in compact:
        return True
    rest, removed = compact, False
    for word in sorted(words, key=len, reverse=True):
        if word in rest:
            rest, removed = rest.replace(word, ""), True
    return removed and not any(c.isalpha() for c in rest)


def _common(password: str, compact: str) -> bool:
    return bool({password.casefold(), compact, _core(compact)} & COMMON)


def _repeated_or_sequential(text: str) -> bool:
    if len(set(text)) == 1 or text in (text + text)[1:-1]:
        return True  # one character, or one group, repeated
    steps = {ord(b) - ord(a) for a, b in pairwise(text)}
    return steps in ({1}, {-1}) and (text.isalpha() or text.isdigit())


def _pattern(password: str, compact: str) -> bool:
    candidates = [password.casefold(), compact, _core(compact)]
    return any(len(c) >= SHORTEST_PATTERN and _repeated_or_sequential(c) for c in candidates)


def weakness(
    password: str, *, email: str, full_name: str, organization_name: str | None = None
) -> Weakness | None:
    """The first rule ``password`` breaks for this account, or ``None`` if it is acceptable."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return Weakness.TOO_SHORT
    if len(password) > PASSWORD_MAX_LENGTH:
        return Weakness.TOO_LONG
    compact = _compact(password)
    if _personal(compact, email, context_words(email, full_name, organization_name)):
        return Weakness.PERSONAL
    if _common(password, compact):
        return Weakness.COMMON
    if _pattern(password, compact):
        return Weakness.PATTERN
    return None


def require_acceptable(
    password: str, *, email: str, full_name: str, organization_name: str | None = None
) -> None:
    """Raise a 422 ``validation_error`` naming the broken rule (never the password)."""
    found = weakness(
        password, email=email, full_name=full_name, organization_name=organization_name
    )
    if found is not None:
        message = MESSAGES[found]
        raise ServiceError(
            ErrorCode.VALIDATION,
            message,
            details=[{"loc": ["password"], "msg": message, "type": found.value}],
        )
