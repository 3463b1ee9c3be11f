"""Rivet's contracts: the only code services share about each other.

Everything that crosses a service boundary is defined here: event envelopes and payloads,
request and reply models, subject and stream names, and the error model.
"""

from .base import Done, EventData, Request, View
from .envelope import EventEnvelope
from .errors import HTTP_STATUS, ErrorCode, ErrorInfo, ServiceError
from .identity import Actor, ActorKind, Identity, Role
from .subjects import Events, Rpc
from .wire import Headers, Outcome

__all__ = [
    "HTTP_STATUS",
    "Actor",
    "ActorKind",
    "Done",
    "ErrorCode",
    "ErrorInfo",
    "EventData",
    "EventEnvelope",
    "Events",
    "Headers",
    "Identity",
    "Outcome",
    "Request",
    "Role",
    "Rpc",
    "ServiceError",
    "View",
]
