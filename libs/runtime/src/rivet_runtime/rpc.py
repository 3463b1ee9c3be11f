"""Request-reply: services answer requests on ``rpc.<service>.<action>`` subjects.

``RpcRouter`` collects handlers; ``RpcServer`` runs one: it reads the caller from headers,
validates the body against the subject's request model, checks the caller's role, runs the
handler in one transaction (or lets it open its own: ``own_transaction=True``, for handlers
with slow I/O, see ``context``) and turns what it returns into a reply. A handler returns its
reply model, raises ``ServiceError`` (the transaction rolls back), or returns ``ErrorInfo`` to
fail while keeping what it wrote (a failed login still counts against the throttle).

What a successful request did travels in the ``Rivet-Outcome`` header (see ADR 0003): the
subject's ``RpcSpec.outcome`` when it is fixed, or what the handler says by wrapping its reply
model, when it depends on the reply: ``return Accepted(job) if job.status in RUNNING else job``.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from rivet_contracts import ErrorCode, ErrorInfo, Headers, Identity, Outcome, ServiceError
from rivet_contracts.catalog import RPCS, RpcSpec

from . import idempotency
from .consumer import is_outage
from .context import RequestContext
from .db import Database
from .identity import identity_from_headers
from .logging import correlation_id as correlation_var
from .metrics import RPC_REQUESTS

if TYPE_CHECKING:
    from .client import RpcClient  # which imports this module

log = logging.getLogger(__name__)

StateT = TypeVar("StateT")
ModelT = TypeVar("ModelT", bound=BaseModel)
Reply = tuple[bytes, dict[str, str]]


@dataclass(frozen=True, slots=True)
class WithOutcome(Generic[ModelT]):
    """A reply model and what the request did: return ``Created(...)`` or ``Accepted(...)``."""

    reply: ModelT
    outcome: ClassVar[Outcome]


@dataclass(frozen=True, slots=True)
class Created(WithOutcome[ModelT]):
    """The request made something new, which ``reply`` describes (``Rivet-Outcome: created``;
    HTTP 201 at the gateway)."""

    outcome: ClassVar[Outcome] = Outcome.CREATED


@dataclass(frozen=True, slots=True)
class Accepted(WithOutcome[ModelT]):
    """The work asked for is under way; ``reply`` is its state so far (``Rivet-Outcome:
    accepted``; HTTP 202 at the gateway)."""

    outcome: ClassVar[Outcome] = Outcome.ACCEPTED


Handler = Callable[[Any, RequestContext[Any]], Awaitable[BaseModel | WithOutcome[Any] | ErrorInfo]]


@dataclass(frozen=True)
class Endpoint:
    handler: Handler
    own_transaction: bool = False
    """The handler opens its unit of work itself (``ctx.transaction()``)."""


class RpcRouter(Generic[StateT]):
    """A set of request handlers, one per subject of the catalogue."""

    def __init__(self) -> None:
        self.handlers: dict[str, Endpoint] = {}

    def handler(
        self, subject: str, *, own_transaction: bool = False
    ) -> Callable[[Handler], Handler]:
        """Register the handler of ``subject``. The runtime runs it inside one transaction,
        unless ``own_transaction``: then it opens ``ctx.transaction()`` itself, around its
        reads and writes but not its slow I/O."""
        if subject not in RPCS:
            raise KeyError(f"{subject!r} is not in the contract catalogue")

        def register(func: Handler) -> Handler:
            if subject in self.handlers:
                raise ValueError(f"two handlers for {subject!r}")
            self.handlers[subject] = Endpoint(func, own_transaction)
            return func

        return register


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors without the offending input (it may be a password)."""
    return [
        {"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


def error_reply(info: ErrorInfo) -> Reply:
    return info.model_dump_json(exclude_none=True).encode(), {Headers.ERROR: info.code.value}


class RpcServer(Generic[StateT]):
    """Runs request handlers for one service."""

    def __init__(
        self,
        service: str,
        db: Database | None,
        state: StateT,
        *,
        client: "RpcClient | None" = None,
        rpc_timeout: float = 5.0,
    ) -> None:
        self.service = service
        self.db = db
        self.state = state
        self.client = client
        """What handlers ask other services with (``ctx.call``), and how long they wait."""
        self.rpc_timeout = rpc_timeout
        self.handlers: dict[str, Endpoint] = {}

    def include(self, router: RpcRouter[StateT]) -> None:
        for subject, handler in router.handlers.items():
            if subject in self.handlers:
                raise ValueError(f"two handlers for {subject!r}")
            self.handlers[subject] = handler

    async def handle(self, subject: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        """Answer one request; never raises."""
        started = time.perf_counter()
        token = correlation_var.set(headers.get(Headers.CORRELATION_ID))
        outcome = "ok"
        try:
            reply = await self._handle(RPCS[subject], self.handlers[subject], body, headers)
            if Headers.ERROR in reply[1]:
                outcome = reply[1][Headers.ERROR]
            return reply
        finally:
            RPC_REQUESTS.labels(self.service, subject, outcome).observe(
                time.perf_counter() - started
            )
            correlation_var.reset(token)

    async def _handle(
        self, spec: RpcSpec, handler: Endpoint, body: bytes, headers: Mapping[str, str]
    ) -> Reply:
        try:
            identity = identity_from_headers(headers)
            authorize(spec, identity)
            if b"\\u0000" in body:  # PostgreSQL cannot store NUL in text
                raise ServiceError(ErrorCode.VALIDATION, "text may not contain NUL characters")
            request = spec.request.model_validate_json(body or b"{}")
            result = await self._run(spec, handler, request, identity, headers)
        except ServiceError as exc:
            return error_reply(exc.info)
        except ValidationError as exc:
            return error_reply(
                ErrorInfo(
                    code=ErrorCode.VALIDATION,
                    message="the request is not valid",
                    details=validation_details(exc),
                )
            )
        except Exception as exc:
            if is_outage(exc):  # the database is away: say so, so that clients retry
                log.warning("request %s: database unavailable: %r", spec.subject, exc)
                return error_reply(
                    ErrorInfo(
                        code=ErrorCode.UNAVAILABLE,
                        message="the service's database is unavailable; try again shortly",
                        retry_after=5,
                    )
                )
            log.exception("request %s failed", spec.subject)
            return error_reply(
                ErrorInfo(code=ErrorCode.INTERNAL, message="internal error; it has been logged")
            )
        return result

    async def _run(
        self,
        spec: RpcSpec,
        endpoint: Endpoint,
        request: BaseModel,
        identity: Identity | None,
        headers: Mapping[str, str],
    ) -> Reply:
        if self.db is None:
            raise RuntimeError(f"{spec.subject} needs a database, and this service has none")
        ctx = RequestContext(
            state=self.state,
            schema=self.db.schema,
            db=self.db,
            correlation_id=headers.get(Headers.CORRELATION_ID),
            channel=headers.get(Headers.CHANNEL, "api"),
            identity=identity,
            client=self.client,
            rpc_timeout=self.rpc_timeout,
        )
        raw_key = headers.get(Headers.IDEMPOTENCY_KEY)
        if spec.idempotent and raw_key is not None and identity is not None:
            key = idempotency.Key(
                identity.org_id,
                spec.subject,
                idempotency.check_key(raw_key),
                idempotency.request_hash(spec.subject, identity, request),
            )
            if endpoint.own_transaction:
                return await self._run_claimed(spec, endpoint, request, ctx, key)
            return await self._run_keyed(spec, endpoint, request, ctx, key)
        if endpoint.own_transaction:
            return reply_of(spec, await endpoint.handler(request, ctx))
        async with ctx.transaction():
            return reply_of(spec, await endpoint.handler(request, ctx))

    async def _run_keyed(
        self,
        spec: RpcSpec,
        endpoint: Endpoint,
        request: BaseModel,
        ctx: RequestContext[StateT],
        key: idempotency.Key,
    ) -> Reply:
        """The handler and its key in one transaction (see ``idempotency``)."""
        async with ctx.transaction() as conn:
            if not await idempotency.claim(conn, key):  # waits for a first request in flight
                try:
                    replay = await idempotency.stored(conn, key)
                except idempotency.Pending:
                    replay = None
                if replay is None:  # not expected: the row is claimed by a committed request
                    raise ServiceError(
                        ErrorCode.CONFLICT,
                        "a request with this Idempotency-Key is under way; try again",
                        retry_after=1,
                    )
                return replay
            reply = reply_of(spec, await endpoint.handler(request, ctx))
            if Headers.ERROR in reply[1]:
                await idempotency.release(conn, key)  # a failure keeps no key (only its writes)
            else:
                await idempotency.record(conn, key, reply)
            return reply

    async def _run_claimed(
        self,
        spec: RpcSpec,
        endpoint: Endpoint,
        request: BaseModel,
        ctx: RequestContext[StateT],
        key: idempotency.Key,
    ) -> Reply:
        """A handler with its own transactions: claim the key, run it, store its reply (see
        ``idempotency``)."""
        assert self.db is not None
        deadline = time.monotonic() + PENDING_WAIT * spec.wait(self.rpc_timeout)
        pause = PENDING_POLL
        while True:
            async with self.db.transaction() as conn:
                if await idempotency.claim(conn, key):
                    break
                try:
                    replay = await idempotency.stored(conn, key)
                except idempotency.Pending:
                    replay = None
                else:
                    if replay is None:
                        continue  # released by a first request that failed: claim it again
            if replay is not None:
                return replay
            if time.monotonic() > deadline:
                raise ServiceError(
                    ErrorCode.CONFLICT,
                    "a request with this Idempotency-Key is under way (or was interrupted); try "
                    "again shortly",
                    retry_after=1,
                )
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, PENDING_POLL_MAX)
        try:
            reply = reply_of(spec, await endpoint.handler(request, ctx))
        except ServiceError:
            await self._release(key)  # a refusal: nothing was created
            raise
        except BaseException:
            if ctx.commits == 0:
                await self._release(key)
            else:  # it may have created something: the key stays taken until it expires
                log.error("%s failed after committing; its idempotency key stays", spec.subject)
            raise
        if Headers.ERROR in reply[1]:
            await self._release(key)
            return reply
        async with self.db.transaction() as conn:
            await idempotency.record(conn, key, reply)
        return reply

    async def _release(self, key: idempotency.Key) -> None:
        assert self.db is not None
        try:
            async with self.db.transaction() as conn:
                await idempotency.release(conn, key)
        except Exception:
            log.warning("could not release an idempotency key of %s", key.subject, exc_info=True)


PENDING_WAIT = 0.6
"""How long a repeat waits for its key's first request, as a share of the RPC timeout (the
subject's own when longer, ``RpcSpec.timeout``): it answers ``conflict`` (retry) before its
caller, who waits about as long, gives up on it."""
PENDING_POLL = 0.02
PENDING_POLL_MAX = 0.25
"""Seconds between looks at a key whose first request is still running: from ``PENDING_POLL``,
growing by half each time, to at most ``PENDING_POLL_MAX``."""


def reply_of(spec: RpcSpec, result: BaseModel | WithOutcome[Any] | ErrorInfo) -> Reply:
    """What a handler returned, as a reply."""
    if isinstance(result, ErrorInfo):
        return error_reply(result)
    outcome = spec.outcome
    model: BaseModel
    if isinstance(result, WithOutcome):
        outcome, model = result.outcome, result.reply
    else:
        model = result
    return model.model_dump_json().encode(), (
        {Headers.OUTCOME: outcome.value} if outcome is not None else {}
    )


def authorize(spec: RpcSpec, identity: Identity | None) -> None:
    """Refuse a caller whose role is below what the subject requires."""
    if spec.min_role is None:
        return
    if identity is None:
        raise ServiceError(ErrorCode.UNAUTHORIZED, "authentication required")
    if not identity.role.at_least(spec.min_role):
        raise ServiceError(
            ErrorCode.FORBIDDEN,
            f"this action needs the {spec.min_role.value} role; you are {identity.role.value}",
        )
