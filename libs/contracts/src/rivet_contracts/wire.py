"""How requests and replies travel on NATS.

A request's body is the JSON of its request model (see ``catalog``); who is calling travels in
headers, so a service never trusts identity fields in a body. A reply's body is the JSON of the
reply model, or of ``ErrorInfo`` when the ``Rivet-Error`` header is present; a successful reply
may say what the request did in ``Rivet-Outcome`` (``Outcome``). Keeping identity and status in
headers lets the gateway forward bodies without re-encoding or reading them.
"""

from enum import StrEnum
from typing import Final


class Headers:
    USER_ID: Final = "Rivet-User-Id"
    ORG_ID: Final = "Rivet-Org-Id"
    ROLE: Final = "Rivet-Role"
    ACTOR_KIND: Final = "Rivet-Actor-Kind"
    """Who the caller is when not a person: `api_key` (``Rivet-User-Id`` is then the key's id).
    Absent: a person."""
    CORRELATION_ID: Final = "Rivet-Correlation-Id"
    CHANNEL: Final = "Rivet-Channel"
    """Entry point of the request: `api`, `telegram`, ..."""
    ERROR: Final = "Rivet-Error"
    """On a reply: present (holding the error code) when the body is an ``ErrorInfo``."""
    OUTCOME: Final = "Rivet-Outcome"
    """On a successful reply: what the request did (an ``Outcome``), when it did more than
    answer; absent means done. A value a caller does not know also means done."""
    IDEMPOTENCY_KEY: Final = "Idempotency-Key"
    """On a request to an idempotent subject (``RpcSpec.idempotent``): the caller's key, which
    makes the request safe to repeat (1-255 printable ASCII characters)."""
    REPLAYED: Final = "Rivet-Replayed"
    """On a successful reply: ``true`` when it is the stored reply of an earlier request with the
    same ``Idempotency-Key`` (nothing was done this time); the gateway says
    ``Idempotent-Replayed: true``."""
    MSG_ID: Final = "Nats-Msg-Id"
    """On an event: the event id, which JetStream uses to drop duplicates."""


class Outcome(StrEnum):
    """What a successful request did, beyond answering, independent of transport (header
    ``Rivet-Outcome``). The gateway maps each to an HTTP status; no header means 200."""

    CREATED = "created"  # 201
    """Something new exists: the reply describes it."""
    ACCEPTED = "accepted"  # 202
    """Work was started or is still running: the reply is its state so far; ask again."""
