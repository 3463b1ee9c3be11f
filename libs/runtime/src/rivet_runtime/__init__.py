"""Rivet's shared service runtime.

A service builds a ``ServiceRuntime`` from its settings, adds ``RpcRouter``s and
``EventRouter``s, and hands it to ``cli.run_service``. Everything that makes messaging reliable
(outbox, inbox, redelivery, dead letters, reconnects, readiness) lives here, once.
"""

from .consumer import EventRouter, Refused
from .context import EventContext, RequestContext, UnitOfWork
from .rpc import Accepted, Created, RpcRouter
from .service import ServiceRuntime
from .settings import ServiceSettings

__all__ = [
    "Accepted",
    "Created",
    "EventContext",
    "EventRouter",
    "Refused",
    "RequestContext",
    "RpcRouter",
    "ServiceRuntime",
    "ServiceSettings",
    "UnitOfWork",
]
