"""Specs that tie a subject to its models; each domain module lists its own."""

from dataclasses import dataclass
from typing import Generic

from pydantic import BaseModel
from typing_extensions import TypeVar

from .base import EventData, Request
from .identity import Role
from .wire import Outcome

RequestT = TypeVar("RequestT", bound=Request, default=Request)
ReplyT = TypeVar("ReplyT", bound=BaseModel, default=BaseModel)

MAX_TIMEOUT = 60.0
"""The longest ``RpcSpec.timeout``: as long as an HTTP client is commonly let wait."""


@dataclass(frozen=True)
class RpcSpec(Generic[RequestT, ReplyT]):
    """A request-reply endpoint.

    ``min_role`` is the least role a caller needs; ``None`` means no identity is required
    (login, register) - such subjects are reachable only by the gateway and the bot, which NATS
    permissions enforce.

    A spec is typed by its models (``RpcSpec[LogIn, TokenPair]``, inferred where it is made), so
    a client that sends ``spec`` gets ``spec.reply`` back with its type known. Each domain module
    names its specs where it lists them (``LOGIN := RpcSpec(...)`` inside ``RPCS``): a spec has a
    name to call it by and cannot be left out of the catalogue.

    ``outcome`` is what every successful reply says it did (``Rivet-Outcome``) when that is
    fixed for the subject (a registration always creates); the runtime sets the header. A
    handler whose outcome depends on the reply returns it wrapped instead (``Created(...)``,
    ``Accepted(...)``, see ``rivet_runtime.rpc``), which takes precedence.

    ``idempotent``: the request creates something, and a caller may make it safe to repeat
    with an ``Idempotency-Key`` header (``Headers.IDEMPOTENCY_KEY``): for 24 hours the same key
    with the same request answers the first reply again without doing anything, the same key
    with another request is refused (``idempotency_key_reused``). The runtime does it
    (``rivet_runtime.idempotency``); the gateway forwards the header to such subjects only.

    ``timeout``: seconds a caller waits for the answer when the subject's work is known to take
    longer than an ordinary request (rendering a photo); every caller waits at least this long,
    whatever its own ``RPC_TIMEOUT`` (a higher one still wins). ``None``: the caller's
    ``RPC_TIMEOUT``. At most ``MAX_TIMEOUT``: a request is still answered while its user waits.
    """

    subject: str
    request: type[RequestT]
    reply: type[ReplyT]
    summary: str
    min_role: Role | None = Role.VIEWER
    outcome: Outcome | None = None
    idempotent: bool = False
    timeout: float | None = None

    def __post_init__(self) -> None:
        if self.timeout is not None and not 0 < self.timeout <= MAX_TIMEOUT:
            raise ValueError(
                f"{self.subject}: timeout {self.timeout} is not within (0, {MAX_TIMEOUT:g}] s"
            )

    def wait(self, caller_timeout: float) -> float:
        """Seconds a caller whose own timeout is ``caller_timeout`` waits for this subject."""
        return max(caller_timeout, self.timeout or 0.0)


@dataclass(frozen=True)
class EventSpec:
    """A domain event and the model of its ``data``.

    ``exported``: whether the event leaves Rivet. An exported event is copied, unchanged, to
    its organization's stream (``streams.org_stream``) for outside subscribers (an ERP, a SCADA
    gateway: see the integrations service). ``False`` for what must never leave: anything that
    carries or stands for a secret (tokens, codes, passwords, sign-in links), mail and
    sign-in internals, revocations, a pipeline's internal steps, machines' raw input. Every
    event decides: ``None`` (undecided) fails the contracts tests.
    """

    subject: str
    data: type[EventData]
    summary: str
    exported: bool | None = None
