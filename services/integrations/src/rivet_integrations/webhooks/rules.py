"""Pure rules of webhooks: which events an endpoint takes, when a failed delivery is tried
again, what a secret looks like and how a request is signed."""

import base64
import random
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from uuid import UUID, uuid5

from standardwebhooks import Webhook

from rivet_contracts.catalog import EVENTS

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix
SECRET_BYTES = 32
JITTER = 0.2


def exported_types() -> list[str]:
    return sorted(subject for subject, spec in EVENTS.items() if spec.exported)


def unknown_patterns(patterns: Iterable[str]) -> list[str]:
    """The patterns that name no exported event (an internal or unknown type, a prefix of
    nothing)."""
    exported = exported_types()
    return [p for p in patterns if not any(matches(p, subject) for subject in exported)]


def matches(pattern: str, event_type: str) -> bool:
    """``*`` takes every event; ``wo.*`` every event under ``wo.``; else the type itself."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def wanted(patterns: Iterable[str], event_type: str) -> bool:
    return any(matches(p, event_type) for p in patterns)


def retry_delay(
    schedule: Sequence[float], tries: int, rng: random.Random | None = None
) -> float | None:
    """Seconds before the next attempt after ``tries`` failed ones (1 = the first failed), or
    None when the schedule is used up. Each delay varies by +-20 % so that deliveries failed
    together do not all come back at once."""
    if tries < 1 or tries > len(schedule):
        return None
    jitter = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return float(schedule[tries - 1]) * jitter


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def hint(secret: str) -> str:
    """The end of a secret, to tell two apart without showing either."""
    return "..." + secret[-4:]


def sign(event_id: str, at: datetime, body: bytes, keys: Sequence[str]) -> dict[str, str]:
    """The Standard Webhooks headers of one request, signed with every key in use (the new and
    the previous one during a rotation's overlap: a signature each, space-separated)."""
    signatures = " ".join(Webhook(key).sign(event_id, at, body) for key in keys)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }


def delivery_id(endpoint_id: UUID, event_id: UUID) -> UUID:
    """The id of the delivery of ``event_id`` to ``endpoint_id``: derived, so that an attempt
    from the stream names the same delivery as the row its retries, redelivery or replay get."""
    return uuid5(endpoint_id, event_id.hex)
