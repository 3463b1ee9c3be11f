"""``ServiceRuntime``: what every Rivet service process is made of.

It owns the database pool, the NATS broker, the request and event handlers, the background
jobs, the outbox relay, health and metrics. ``start`` migrates (under an advisory lock), connects
(retrying forever), declares the streams, builds the service's state from the connected
resources, starts the subscribers, the relay and the jobs; ``stop`` drains in reverse order so a
SIGTERM finishes work in hand instead of dropping it.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from faststream import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, NatsResponse, PullSub
from faststream.nats.message import NatsMessage
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rivet_contracts import EventEnvelope
from rivet_contracts.catalog import EVENTS, RPCS
from rivet_contracts.streams import StreamSpec, stream_for

from . import idempotency, mail, maintenance, metrics
from .broker import connect_forever, create_broker, inbox_prefix
from .client import RpcClient
from .consumer import EventProcessor, EventRouter, Outcome, Subscription, envelope_model
from .db import Database
from .health import Health
from .jobs import Job, JobRouter, JobRunner
from .listener import CommitListener
from .migrations import migrate
from .outbox import OutboxRelay, notify_channel
from .pull import BatchPuller
from .rpc import RpcRouter, RpcServer
from .settings import MailSettings, ServiceSettings
from .streams import ensure_streams
from .uploads import UploadStore

log = logging.getLogger(__name__)

StateT = TypeVar("StateT")


@dataclass(frozen=True)
class Connected:
    """What the runtime has connected when it builds a service's state (``state`` factory)."""

    settings: ServiceSettings
    db: Database | None
    client: RpcClient
    nats: NatsClient
    js: JetStreamContext
    uploads: UploadStore | None
    """The shared upload bucket (``uses_uploads``)."""

    async def store(self, bucket: str, *, ttl: timedelta | None, description: str) -> UploadStore:
        """An object-store bucket of the service's own, created if missing."""
        store = UploadStore(self.js, self.settings, bucket=bucket, ttl=ttl, description=description)
        await store.ensure()
        return store


StateFactory = Callable[[Connected], StateT] | Callable[[Connected], Awaitable[StateT]]


async def _whole_message(msg: NatsMessage) -> NatsMessage:
    """Subscriber decoder: the handler's one parameter is the message itself (body, headers,
    JetStream metadata), so nothing is injected from FastStream's context."""
    return msg


class ServiceRuntime(Generic[StateT]):
    """One service process. ``schema`` is None for services without a database (gateway).

    ``state`` is what the service's handlers share (``ctx.state``): a function that builds it
    from the ``Connected`` resources once they are connected (so it is built complete, with no
    field filled in later), or the value itself when it needs none of them.
    """

    def __init__(
        self,
        settings: ServiceSettings,
        state: "StateFactory[StateT] | StateT",
        *,
        schema: str | None = None,
        migrations: Path | None = None,
        publishes: tuple[StreamSpec, ...] = (),
        uses_uploads: bool = False,
        sends_mail: bool = False,
    ) -> None:
        self.settings = settings
        self._make_state = state
        self._state: StateT | None = None if callable(state) else state
        self.schema = schema
        self.migrations = migrations
        self.publishes = publishes
        self.health = Health()
        self.db = (
            Database(
                settings.database_url,
                schema,
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_pool_overflow,
                app_name=settings.service_name,
            )
            if schema
            else None
        )
        if self.db is not None:
            self.health.checks["database"] = self.db.ping
        self.broker: NatsBroker = create_broker(settings, self.health)
        self.client = RpcClient(settings, self.broker, self.health)
        """Requests to other services, on this runtime's connection (``unavailable`` until it
        is connected)."""
        self.rpc_routers: list[RpcRouter[StateT]] = []
        self._rpc: RpcServer[StateT] | None = None
        self.subscriptions: list[Subscription] = []
        self.jobs: list[Job] = []
        self.listened: list[tuple[str, Callable[[EventEnvelope[Any]], Any]]] = []
        """Event subjects every replica hears (``listen``)."""
        self.listener = CommitListener(self.db) if self.db is not None else None
        """The process's one LISTEN connection: commit notifications for the relay and jobs."""
        self.relay: OutboxRelay | None = None
        self.runner: JobRunner[StateT] | None = None
        self.uses_uploads = uses_uploads
        self.uploads: UploadStore | None = None
        self.on_started: list[Callable[[], Any]] = []
        """Run once everything has started (components beside the runtime: the bot)."""
        self.on_stopping: list[Callable[[], Any]] = []
        """Run first at a stop: stop taking work from outside."""
        self.on_stopped: list[Callable[[], Any]] = []
        """Run once the jobs and handlers have finished, before the database closes."""
        self.http_routes: list[BaseRoute] = []
        """Routes of the service's own beside /health, /ready and /metrics (a webhook)."""
        self._subscribed = False
        self._processor: EventProcessor[StateT] | None = None
        self.pullers: list[BatchPuller] = []
        """The runtime's own pull loops (batched subscriptions with ``fetch`` > 1)."""
        self._start_task: asyncio.Task[None] | None = None
        if self.db is not None:
            self.include_jobs(maintenance.jobs)  # type: ignore[arg-type]
        if sends_mail:
            if not isinstance(settings, MailSettings):
                raise TypeError("a service that sends mail has MailSettings")
            self.include_jobs(mail.jobs)
            if not settings.smtp_url:
                log.warning("SMTP_URL is not set: mail waits in the outbox until it is")

    @property
    def state(self) -> StateT:
        """The service's state: built when the runtime has connected (``start``), or the value
        given (which needs no connected resources) from the start."""
        if self._state is None and callable(self._make_state):
            raise RuntimeError("the state is built when the runtime starts")
        return cast(StateT, self._state)

    @property
    def rpc(self) -> RpcServer[StateT]:
        """The request handlers, once the state they share is built (``start``)."""
        if self._rpc is None:
            raise RuntimeError("requests are served once the runtime has started")
        return self._rpc

    # --- composition ------------------------------------------------------------------

    def include_rpc(self, router: RpcRouter[StateT]) -> None:
        self.rpc_routers.append(router)
        keyed = any(RPCS[subject].idempotent for subject in router.handlers)
        if keyed and not any(job.name == idempotency.PRUNE_JOB for job in self.jobs):
            self.include_jobs(idempotency.jobs)  # type: ignore[arg-type]

    @property
    def rpc_subjects(self) -> list[str]:
        """The request subjects this service serves (known before it starts)."""
        return [subject for router in self.rpc_routers for subject in router.handlers]

    def include_events(self, router: EventRouter[StateT]) -> None:
        self.subscriptions.extend(router.subscriptions)

    def listen(self, subject: str, handler: Callable[[EventEnvelope[Any]], Any]) -> None:
        """Let every replica hear the events of ``subject`` as they are published (a plain
        NATS subscription: no inbox, no durability, no database): for what each process keeps
        in memory and must drop at once, such as a cache of identities or revoked tokens. An
        event missed while disconnected is not replayed, so pair it with an expiry or a
        resync. ``handler`` gets the parsed envelope; one it cannot parse is dropped."""
        if subject not in EVENTS:
            raise KeyError(f"{subject!r} is not in the contract catalogue")
        self.listened.append((subject, handler))

    def include_jobs(self, router: JobRouter[StateT]) -> None:
        for job in router.jobs:
            if self.db is None and not (job.per_replica and job.channel is None):
                raise RuntimeError(
                    f"job {job.name!r} needs a database (claims, job_runs); without one a "
                    "service runs only per-replica periodic jobs"
                )
            if any(j.name == job.name for j in self.jobs):
                raise ValueError(f"two jobs named {job.name!r}")
            self.jobs.append(job)

    def streams(self) -> tuple[StreamSpec, ...]:
        """Streams this service declares (creates or updates): the ones it publishes to, and
        the dead-letter stream if it consumes events. Only a stream's publisher may shape it."""
        specs = list(self.publishes)
        if self.db is not None and self.subscriptions:
            specs.append(stream_for("deadletter.x"))
        return tuple(dict.fromkeys(specs))

    def consumed_streams(self) -> tuple[StreamSpec, ...]:
        """Streams it only reads: it waits for their publisher to declare them."""
        declared = set(self.streams())
        consumed = (stream_for(sub.subject) for sub in self.subscriptions)
        return tuple(spec for spec in dict.fromkeys(consumed) if spec not in declared)

    def _subscribe(self, state: StateT) -> None:
        """Register request and event subscribers with the broker (before it starts)."""
        if self._subscribed:
            return
        self._subscribed = True
        settings = self.settings
        self._rpc = RpcServer(
            settings.service_name,
            self.db,
            state,
            client=self.client,
            rpc_timeout=settings.rpc_timeout,
        )
        for router in self.rpc_routers:
            self._rpc.include(router)
        for subject in self._rpc.handlers:
            self.broker.subscriber(
                settings.subject(subject),
                queue=settings.service_name,
                max_workers=settings.rpc_workers,
                decoder=_whole_message,
            )(self._rpc_endpoint(subject))
        if not self.subscriptions:
            return
        if self.db is None:
            raise RuntimeError("event consumers need a database for their inbox")
        processor = self._processor = EventProcessor(settings, self.db, state)
        inbox = inbox_prefix(settings.service_name, settings.nats_namespace)
        for sub in self.subscriptions:
            if pulled_by_runtime(sub):
                continue  # the runtime's own pull loop (``start``), not FastStream's
            self.broker.subscriber(
                settings.subject(sub.subject),
                stream=JStream(settings.stream_name(stream_for(sub.subject).name), declare=False),
                durable=sub.consumer,
                pull_sub=PullSub(batch_size=sub.fetch, timeout=5.0),
                inbox_prefix=f"{inbox}.".encode(),
                max_workers=sub.workers
                or (sub.max_batch if sub.batch_handler else settings.consumer_workers),
                decoder=_whole_message,
                ack_policy=AckPolicy.MANUAL,
                config=ConsumerConfig(
                    # Unlimited: JetStream never drops a message on its own; the processor
                    # either applies it, retries it (outages do not count) or dead-letters it.
                    max_deliver=-1,
                    ack_wait=60,
                ),
            )(self._event_endpoint(processor, sub))

    # The endpoints take the message as their decoded body (see ``_whole_message``), typed
    # ``Any`` for FastDepends, rather than through FastStream's ``NatsMessage`` context
    # annotation, which FastDepends resolves in a worker thread: one thread hop per message
    # (measured with bench/gateway).
    def _rpc_endpoint(self, subject: str) -> Callable[..., Any]:
        rpc = self.rpc

        async def endpoint(message: Any) -> NatsResponse:
            msg: NatsMessage = message
            body, headers = await rpc.handle(subject, msg.body, msg.headers)
            return NatsResponse(body, headers=headers)

        endpoint.__name__ = "rpc_" + subject.replace(".", "_")
        return endpoint

    @staticmethod
    def _event_endpoint(processor: EventProcessor[StateT], sub: Subscription) -> Callable[..., Any]:
        async def endpoint(message: Any) -> None:
            msg: NatsMessage = message
            deliveries = msg.raw_message.metadata.num_delivered or 1
            outcome = await processor.process(
                sub, msg.body, msg.headers, deliveries, msg.raw_message.subject
            )
            if outcome is Outcome.RETRY:
                await msg.nack(delay=processor.retry_delay(deliveries))
            else:
                await msg.ack()

        endpoint.__name__ = "on_" + sub.consumer.replace("-", "_")
        return endpoint

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Migrate, connect, declare streams, build the state, start subscribers, the relay
        and the jobs."""
        settings = self.settings
        if self.db is not None and self.migrations is not None and settings.migrate_on_start:
            await self._retry("migrations", self.run_migrations)
        await connect_forever(self.broker, self.health, settings.service_name)
        js = self.broker.connection.jetstream()
        await self._retry("streams", lambda: ensure_streams(js, self.streams(), settings))
        for spec in self.consumed_streams():
            name = settings.stream_name(spec.name)
            await self._retry(
                f"stream {name} (declared by its publisher)",
                lambda name=name: js.stream_info(name),  # type: ignore[misc]
            )
        if self.uses_uploads:
            self.uploads = UploadStore(js, settings)
            await self._retry("upload store", self.uploads.ensure)
        connected = Connected(
            settings, self.db, self.client, self.broker.connection, js, self.uploads
        )
        state: StateT | None = None

        async def build_state() -> None:
            nonlocal state
            state = await self._build_state(connected)

        await self._retry("state", build_state)
        self._state = cast(StateT, state)
        self._subscribe(self._state)
        await self.broker.start()
        if self._processor is not None:
            for sub in self.subscriptions:
                if not pulled_by_runtime(sub):
                    continue
                stream = settings.stream_name(stream_for(sub.subject).name)
                puller = BatchPuller(
                    self._processor, sub, settings, self.broker.connection, js, stream
                )
                await self._retry(f"consumer {sub.consumer}", puller.start)
                self.pullers.append(puller)
        for subject, handler in self.listened:
            await self.broker.connection.subscribe(
                settings.subject(subject), cb=_listener(subject, handler)
            )
        if self.db is not None and self.listener is not None:
            self.relay = OutboxRelay(
                settings, self.db, js, self.listener.waker(notify_channel(self.db.schema))
            )
            await self.relay.start()
        if self.jobs:
            self.runner = JobRunner(
                settings, self.db, self._state, self.jobs, self.listener, self.client
            )
            await self._retry("jobs", self.runner.start)
        for hook in self.on_started:
            await _maybe_await(hook())
        self.health.started = True
        log.info("%s started", settings.service_name)

    async def _build_state(self, connected: Connected) -> StateT:
        make = self._make_state
        if not callable(make):
            return make
        built = make(connected)
        if asyncio.iscoroutine(built):
            built = await built
        return cast(StateT, built)

    async def run_migrations(self) -> None:
        if self.db is None or self.migrations is None:
            return
        await migrate(self.settings.database_url, self.db.schema, self.migrations)

    async def stop(self) -> None:
        """Stop taking work, finish what is in hand, close connections."""
        self.health.stopping = True
        if self._start_task is not None and not self._start_task.done():
            self._start_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._start_task
        for hook in self.on_stopping:
            with contextlib.suppress(Exception):
                await _maybe_await(hook())
        if self.runner is not None:
            await self.runner.stop()  # running passes finish (SHUTDOWN_GRACE)
        for puller in self.pullers:
            with contextlib.suppress(Exception):
                await puller.stop()  # finishes the batch in hand, hands the rest back
        with contextlib.suppress(Exception):
            await self.broker.stop()  # drains subscriptions, waits for running handlers
        if self.relay is not None:
            await self.relay.stop()
        if self.listener is not None:
            await self.listener.close()
        for hook in self.on_stopped:
            with contextlib.suppress(Exception):
                await _maybe_await(hook())
        if self.db is not None:
            await self.db.dispose()
        log.info("%s stopped", self.settings.service_name)

    async def _retry(self, what: str, step: Callable[[], Any]) -> None:
        delay = 0.5
        while True:
            try:
                await step()
                return
            except Exception as exc:
                log.warning("%s failed (%s); retrying in %.1fs", what, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: object = None) -> AsyncIterator[None]:
        """ASGI lifespan: start in the background so /health answers at once."""
        self._start_task = asyncio.create_task(self.start(), name="service-start")
        try:
            yield
        finally:
            await self.stop()

    # --- HTTP ---------------------------------------------------------------------------

    def ops_routes(self) -> list[BaseRoute]:
        """/health, /ready and the service's ``http_routes``; /metrics too unless METRICS_PORT
        moves it to a listener of its own (``cli.run_service`` starts it) or turns it off."""
        routes: list[BaseRoute] = [
            Route("/health", self._health, methods=["GET"]),
            Route("/ready", self._ready, methods=["GET"]),
            *self.http_routes,
        ]
        if self.settings.metrics_port == "http":
            routes.append(Route("/metrics", self._metrics, methods=["GET"]))
        return routes

    def ops_app(self) -> Starlette:
        """/health, /ready and /metrics for services without an API of their own."""
        return Starlette(routes=self.ops_routes(), lifespan=self.lifespan)

    async def _health(self, _request: Request) -> Response:
        return JSONResponse({"status": "ok", "service": self.settings.service_name})

    async def _ready(self, _request: Request) -> Response:
        ready, checks = await self.health.readiness()
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    async def _metrics(self, _request: Request) -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)


def pulled_by_runtime(sub: Subscription) -> bool:
    """A batched subscription that pulls several messages at a time is served by the runtime's
    own pull loop (``rivet_runtime.pull``, ADR 0011); every other one by FastStream."""
    return sub.batch_handler is not None and sub.fetch > 1


def _listener(
    subject: str, handler: Callable[[EventEnvelope[Any]], Any]
) -> Callable[[Msg], Awaitable[None]]:
    async def on_message(msg: Msg) -> None:
        try:
            event: EventEnvelope[Any] = envelope_model(subject).model_validate_json(msg.data)
        except ValidationError:
            log.warning("%s: a message that is not the contract's event was dropped", subject)
            return
        try:
            await _maybe_await(handler(event))
        except Exception:
            log.exception("%s: the listener failed", subject)

    return on_message


async def _maybe_await(value: Any) -> Any:
    if asyncio.iscoroutine(value):
        return await value
    return value
