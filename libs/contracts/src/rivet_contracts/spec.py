"""Specs that tie a subject to its models; each domain module lists its own."""

from dataclasses import dataclass

from pydantic import BaseModel

from .base import EventData, Request
from .identity import Role


@dataclass(frozen=True)
class RpcSpec:
    """A request-reply endpoint.

    ``min_role`` is the least role a caller needs; ``None`` means no identity is required
    (login, register) - such subjects are reachable only by the gateway and the bot, which NATS
    permissions enforce.
    """

    subject: str
    request: type[Request]
    reply: type[BaseModel]
    summary: str
    min_role: Role | None = Role.VIEWER


@dataclass(frozen=True)
class EventSpec:
    """A domain event and the model of its ``data``."""

    subject: str
    data: type[EventData]
    summary: str
