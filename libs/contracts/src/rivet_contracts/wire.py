"""How requests and replies travel on NATS.

A request's body is the JSON of its request model (see ``catalog``); who is calling travels in
headers, so a service never trusts identity fields in a body. A reply's body is the JSON of the
reply model, or of ``ErrorInfo`` when the ``Rivet-Error`` header is present. Keeping identity
and status in headers lets the gateway forward bodies without re-encoding them.
"""

from typing import Final


class Headers:
    USER_ID: Final = "Rivet-User-Id"
    ORG_ID: Final = "Rivet-Org-Id"
    ROLE: Final = "Rivet-Role"
    CORRELATION_ID: Final = "Rivet-Correlation-Id"
    CHANNEL: Final = "Rivet-Channel"
    """Entry point of the request: `api`, `telegram`, ..."""
    ERROR: Final = "Rivet-Error"
    """On a reply: present (holding the error code) when the body is an ``ErrorInfo``."""
    MSG_ID: Final = "Nats-Msg-Id"
    """On an event: the event id, which JetStream uses to drop duplicates."""
