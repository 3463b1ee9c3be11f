"""Requests to other services: one client for the gateway, the bot and service-to-service calls.

``RpcClient`` (a service has one: ``runtime.client``) sends a request of the catalogue on the
runtime's NATS connection with the caller's identity, the correlation id and the channel
(``CallMeta``) in headers (see ADR 0003), and waits ``timeout`` seconds for the reply, or the
subject's own ``RpcSpec.timeout`` when that is longer (an upload whose photo is rendered). Two
ways to take the answer:

- ``call(spec, request, meta, timeout=...)``: the reply parsed as ``spec.reply``, typed from the
  spec (``call(auth.ME, ...)`` is a ``UserView``), or ``ServiceError`` with the other service's
  code, message, details and retry_after;
- ``call_raw(subject, request, meta, timeout=...)``: the reply bytes, the ``Rivet-Error`` code
  and the ``Rivet-Outcome`` of a success, unparsed, for the gateway, which passes bodies through
  and takes its status codes from the headers.

Both map a failure of the bus itself to the same errors: nobody serves the subject ->
``unavailable``, no answer in time -> ``timeout``, no connection -> ``unavailable``.
"""

# ruff: noqa: ASYNC109 - ``timeout`` is the NATS request's own, and is named in the error

import logging
import time
from dataclasses import dataclass
from typing import Any, TypeVar

from faststream.nats import NatsBroker
from nats.errors import (
    ConnectionClosedError,
    ConnectionDrainingError,
    ConnectionReconnectingError,
    NoRespondersError,
    StaleConnectionError,
)
from nats.errors import TimeoutError as NatsTimeout
from prometheus_client import Histogram
from pydantic import BaseModel, ValidationError

from rivet_contracts import ErrorCode, ErrorInfo, Headers, Identity, Request, ServiceError
from rivet_contracts.catalog import RPCS, RpcSpec

from .health import Health
from .identity import identity_headers
from .metrics import RPC_CALLS
from .settings import ServiceSettings

log = logging.getLogger(__name__)

RequestT = TypeVar("RequestT", bound=Request)
ReplyT = TypeVar("ReplyT", bound=BaseModel)

_BUS_DOWN = (
    ConnectionClosedError,
    ConnectionDrainingError,
    ConnectionReconnectingError,
    StaleConnectionError,
)
_OUTCOMES = frozenset(["ok", *(code.value for code in ErrorCode)])


@dataclass(frozen=True, slots=True)
class CallMeta:
    """Who asks, and as part of what: what every request carries in its headers."""

    identity: Identity | None
    """The caller; None for the few subjects that need no one (login, the bot's lookups)."""
    correlation_id: str | None = None
    channel: str = "api"
    idempotency_key: str | None = None
    """The caller's ``Idempotency-Key``: sent to subjects that take one (``RpcSpec.idempotent``)
    only."""


@dataclass(frozen=True, slots=True)
class RawReply:
    """A reply as it came: ``body`` is the reply model's JSON when ``error`` is None, else an
    ``ErrorInfo``'s JSON with ``error`` its code (also for a failure of the bus itself).
    ``outcome`` is a success's ``Rivet-Outcome`` as sent (an ``Outcome`` value, or None: done)."""

    body: bytes
    error: str | None = None
    outcome: str | None = None
    replayed: bool = False
    """The stored reply of an earlier request with the same ``Idempotency-Key``."""


class RpcClient:
    """Sends requests of the catalogue on a service runtime's NATS connection."""

    def __init__(self, settings: ServiceSettings, broker: NatsBroker, health: Health) -> None:
        self.settings = settings
        self.broker = broker
        self.health = health
        self._observers: dict[tuple[str, str], Histogram] = {}

    async def call(
        self, spec: RpcSpec[RequestT, ReplyT], request: RequestT, meta: CallMeta, *, timeout: float
    ) -> ReplyT:
        """Send ``request`` as ``meta`` says; the reply as ``spec.reply``, or ``ServiceError``
        with the other service's code, message, details and retry_after."""
        _check(spec.subject, request, spec)
        started = time.perf_counter()
        answer = await self._send(spec.subject, request, meta, timeout)
        outcome = "ok"
        try:
            if isinstance(answer, ErrorInfo):
                raise _error(answer)
            if answer.error is not None:
                raise _error(_error_info(spec.subject, answer.error, answer.body))
            return _parse(spec, answer.body)
        except ServiceError as exc:
            outcome = exc.code.value
            raise
        finally:
            self._observe(spec.subject, outcome, started)

    async def call_raw(
        self, subject: str, request: Request, meta: CallMeta, *, timeout: float
    ) -> RawReply:
        """Send ``request`` to ``subject`` as ``meta`` says; the reply unparsed (``RawReply``).
        Never raises for a failed request: a bus failure comes back as its ``ErrorInfo``."""
        _check(subject, request)
        started = time.perf_counter()
        answer = await self._send(subject, request, meta, timeout)
        if isinstance(answer, ErrorInfo):
            reply = RawReply(answer.model_dump_json(exclude_none=True).encode(), answer.code.value)
        else:
            reply = answer
        self._observe(subject, reply.error or "ok", started)
        return reply

    async def _send(
        self, subject: str, request: Request, meta: CallMeta, timeout: float
    ) -> RawReply | ErrorInfo:
        """The reply's body, ``Rivet-Error`` and ``Rivet-Outcome``, or what went wrong on the
        bus."""
        if not self.health.nats_connected:
            return _bus_down()
        spec = RPCS[subject]
        timeout = spec.wait(timeout)
        headers = identity_headers(meta.identity)
        if meta.correlation_id:
            headers[Headers.CORRELATION_ID] = meta.correlation_id
        headers[Headers.CHANNEL] = meta.channel
        if meta.idempotency_key is not None and spec.idempotent:
            headers[Headers.IDEMPOTENCY_KEY] = meta.idempotency_key
        try:
            message = await self.broker.connection.request(
                self.settings.subject(subject),
                request.model_dump_json(exclude_unset=True).encode(),
                timeout=timeout,
                headers=headers,
            )
        except NoRespondersError:
            return ErrorInfo(
                code=ErrorCode.UNAVAILABLE,
                message=f"the {_service(subject)} service is unavailable; try again shortly",
            )
        except (NatsTimeout, TimeoutError):
            return ErrorInfo(
                code=ErrorCode.TIMEOUT,
                message=f"the {_service(subject)} service did not answer in {timeout:g}s",
            )
        except _BUS_DOWN:
            return _bus_down()
        replied = message.headers or {}
        return RawReply(
            message.data,
            replied.get(Headers.ERROR),
            replied.get(Headers.OUTCOME),
            replied.get(Headers.REPLAYED) == "true",
        )

    def _observe(self, subject: str, outcome: str, started: float) -> None:
        key = (subject, outcome if outcome in _OUTCOMES else ErrorCode.INTERNAL.value)
        observer = self._observers.get(key)
        if observer is None:  # labels() takes a lock and builds a key: once per pair
            observer = self._observers[key] = RPC_CALLS.labels(self.settings.service_name, *key)
        observer.observe(time.perf_counter() - started)


def _check(subject: str, request: Request, spec: RpcSpec[Any, Any] | None = None) -> None:
    """Refuse what no service could accept: a subject (or spec) outside the catalogue, or a
    request that is not the subject's request model (a programming error, not the caller's)."""
    known = RPCS.get(subject)
    if known is None or (spec is not None and spec is not known):
        raise KeyError(f"{subject!r} is not in the contract catalogue")
    if not isinstance(request, known.request):
        raise TypeError(f"{subject} takes {known.request.__name__}, not {type(request).__name__}")


def _parse(spec: RpcSpec[Any, ReplyT], body: bytes) -> ReplyT:
    try:
        return spec.reply.model_validate_json(body)
    except ValidationError:
        log.warning("request %s: the reply is not a %s", spec.subject, spec.reply.__name__)
        raise ServiceError(
            ErrorCode.INTERNAL,
            f"the {_service(spec.subject)} service answered with an unexpected reply",
        ) from None


def _error_info(subject: str, code: str, body: bytes) -> ErrorInfo:
    try:
        return ErrorInfo.model_validate_json(body)
    except ValidationError:
        return ErrorInfo(
            code=ErrorCode.INTERNAL,
            message=f"the {_service(subject)} service answered {code} without details",
        )


def _error(info: ErrorInfo) -> ServiceError:
    return ServiceError(info.code, info.message, details=info.details, retry_after=info.retry_after)


def _bus_down() -> ErrorInfo:
    return ErrorInfo(
        code=ErrorCode.UNAVAILABLE, message="the message bus is unavailable; try again shortly"
    )


def _service(subject: str) -> str:
    return subject.split(".")[1]
