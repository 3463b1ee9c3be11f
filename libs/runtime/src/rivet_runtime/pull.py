"""The runtime's own pull loop for high-rate batched subscriptions (``on_many(fetch=N)``).

FastStream hands each message to its own task, through its middlewares and dependency
injection, and a batched handler then gathers them again (``_GroupCommit``): at thousands of
messages a second that per-message pipeline cost more CPU than the work itself. Here one task
per subscription does the whole cycle on nats-py directly (ADR 0011):

1. pull requests keep up to ``fetch`` messages asked of the durable consumer ahead of the
   handler (``batch``, ``expires``, ``idle_heartbeat``), so a message arrives as soon as it is
   stored and the next batch gathers while one is written;
2. the messages that are there (at most ``max_batch``) are decoded and applied together
   (``EventProcessor.process_many``: one inbox insert, one handler call, one commit; after a
   failure each one alone, so a poison message fails alone);
3. each is acknowledged after the commit, or negatively acknowledged with its delay (retry),
   or dead-lettered and acknowledged, exactly as a message of any other subscription.

Replicas share the durable consumer: JetStream gives each message to one pull request, and a
message redelivered while another replica still holds it (after ``ack_wait``) meets the inbox
row of the first, so no event is applied twice. A pull request lost with a connection (no
message or heartbeat for two heartbeats, or a reconnection) is asked again.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError

from .consumer import Delivery, EventProcessor, Outcome, Subscription
from .settings import ServiceSettings

log = logging.getLogger(__name__)

EXPIRES = 30.0
"""Seconds a pull request waits at the server for messages before it ends (408)."""
HEARTBEAT = 5.0
"""Seconds between the server's idle heartbeats for a waiting pull request."""
ACK_WAIT = 60.0
"""Seconds JetStream waits for an acknowledgement before it delivers a message again."""


class BatchPuller:
    """Pulls one batched subscription's messages and applies them in batches (see module)."""

    def __init__(
        self,
        processor: EventProcessor[Any],
        sub: Subscription,
        settings: ServiceSettings,
        nc: NatsClient,
        js: JetStreamContext,
        stream: str,
    ) -> None:
        self.processor = processor
        self.sub = sub
        self.settings = settings
        self.nc = nc
        self.js = js
        self.stream = stream
        self.capacity = max(sub.fetch, sub.max_batch)
        self._queue: deque[Msg] = deque()
        self._requested = 0
        """Messages asked by pull requests still open and not delivered yet."""
        self._heard = time.monotonic()
        self._reconnects = -1
        self._wake = asyncio.Event()
        self._stopping = False
        self._inbox = ""
        self._nats_sub: NatsSubscription | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._ensure_consumer()
        self._inbox = self.nc.new_inbox()
        self._nats_sub = await self.nc.subscribe(self._inbox, cb=self._received)
        self._task = asyncio.create_task(self._run(), name=f"pull-{self.sub.consumer}")

    async def stop(self) -> None:
        """Ask nothing more, finish the batch in hand (``SHUTDOWN_GRACE``), and hand the
        messages not started back to JetStream at once (another replica takes them)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), self.settings.shutdown_grace)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task
        while self._queue:
            with contextlib.suppress(Exception):
                await self._queue.popleft().nak()
        if self._nats_sub is not None:
            with contextlib.suppress(Exception):
                await self._nats_sub.unsubscribe()

    async def _ensure_consumer(self) -> None:
        """The durable consumer, created as the FastStream subscriber did if it is missing."""
        try:
            await self.js.consumer_info(self.stream, self.sub.consumer)
            return
        except NotFoundError:
            pass
        await self.js.add_consumer(
            self.stream,
            ConsumerConfig(
                name=self.sub.consumer,
                durable_name=self.sub.consumer,
                filter_subject=self.settings.subject(self.sub.subject),
                ack_policy=AckPolicy.EXPLICIT,
                # Unlimited: JetStream never drops a message on its own; the processor either
                # applies it, retries it (outages do not count) or dead-letters it.
                max_deliver=-1,
                ack_wait=ACK_WAIT,
            ),
        )

    async def _received(self, msg: Msg) -> None:
        self._heard = time.monotonic()
        headers = msg.headers
        status = headers.get("Status") if headers else None
        if status is not None and not msg.data:
            if status == "100":  # idle heartbeat: the request is alive
                return
            # 408 (expired), 409 (max waiting, leadership change, ...): the request has ended;
            # the messages it had not delivered are asked again.
            pending = headers.get("Nats-Pending-Messages") if headers else None
            if pending is not None and pending.isdigit():
                self._requested = max(0, self._requested - int(pending))
            else:
                self._requested = 0
            if status not in ("404", "408"):
                log.debug("consumer %s: pull ended with %s", self.sub.consumer, headers)
            self._wake.set()
            return
        self._requested = max(0, self._requested - 1)
        if self._stopping:  # not started: another replica (or the next start) takes it
            with contextlib.suppress(Exception):
                await msg.nak()
            return
        self._queue.append(msg)
        self._wake.set()

    async def _run(self) -> None:
        backoff = 0.1
        while not self._stopping:
            try:
                await self._ask()
                if not self._queue:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), HEARTBEAT)
                    continue
                take = min(len(self._queue), self.sub.max_batch)
                batch = [self._queue.popleft() for _ in range(take)]
                await self._apply(batch)
                backoff = 0.1
            except Exception as exc:  # never end the loop: the subscription would go quiet
                log.warning("consumer %s: pull loop failed: %r", self.sub.consumer, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _ask(self) -> None:
        """Keep ``capacity`` messages asked ahead: a new pull request once half is used."""
        now = time.monotonic()
        reconnects = self.nc.stats.get("reconnects", 0)
        if reconnects != self._reconnects or now - self._heard > 2 * HEARTBEAT + 1:
            self._requested = 0  # requests made before a reconnection (or gone quiet) are lost
            self._reconnects = reconnects
        if not self.nc.is_connected:
            return
        room = self.capacity - self._requested - len(self._queue)
        if room < max(1, self.capacity // 2):
            return
        request = {
            "batch": room,
            "expires": int(EXPIRES * 1e9),
            "idle_heartbeat": int(HEARTBEAT * 1e9),
        }
        await self.nc.publish(
            f"$JS.API.CONSUMER.MSG.NEXT.{self.stream}.{self.sub.consumer}",
            json.dumps(request).encode(),
            reply=self._inbox,
        )
        self._requested += room
        self._heard = now

    async def _apply(self, batch: list[Msg]) -> None:
        deliveries = [
            Delivery(msg.data, msg.headers or {}, _delivered(msg), msg.subject) for msg in batch
        ]
        outcomes = await self.processor.process_many(self.sub, deliveries)
        for msg, delivery, outcome in zip(batch, deliveries, outcomes, strict=True):
            if outcome is Outcome.RETRY:
                await msg.nak(delay=self.processor.retry_delay(delivery.deliveries))
            else:
                await msg.ack()


def _delivered(msg: Msg) -> int:
    """How many times JetStream has delivered ``msg``, from its acknowledgement subject:
    ``$JS.ACK.<stream>.<consumer>.<delivered>...`` (nine tokens), or with a domain and an
    account hash before the stream (``<delivered>`` is then the seventh)."""
    tokens = (msg.reply or "").split(".")
    try:
        if len(tokens) == 9:
            return int(tokens[4]) or 1
        if len(tokens) >= 11:
            return int(tokens[6]) or 1
    except ValueError:
        pass
    return 1
