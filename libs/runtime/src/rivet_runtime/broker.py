"""The NATS connection, set up so that it never gives up and readiness tells the truth.

nats-py stops reconnecting after ~2 minutes by default and the process then looks alive but
idle; here it reconnects forever, and ``Health`` turns red while it is disconnected.
"""

import asyncio
import logging
from typing import Any

import nats.errors
from faststream.nats import NatsBroker
from nats.js.client import JetStreamContext

from .health import Health
from .metrics import NATS_CONNECTED
from .settings import ServiceSettings

log = logging.getLogger(__name__)


def _pull_timeouts_as_nats_timeouts() -> None:
    """A pull of several messages (``EventRouter.on_many(fetch=N)``) that finds none before its
    timeout raises asyncio's ``TimeoutError`` in nats-py, where a pull of one raises
    ``nats.errors.TimeoutError``, the only one FastStream's pull loop expects: the other ended
    the loop (FastStream restarted it, logging an error every idle period). Both are now
    nats-py's own."""
    pull = JetStreamContext.PullSubscription
    fetch = pull.fetch
    if getattr(fetch, "_rivet", False):
        return

    async def fetch_with_nats_timeouts(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await fetch(self, *args, **kwargs)
        except nats.errors.TimeoutError:
            raise
        except TimeoutError as exc:
            raise nats.errors.TimeoutError from exc

    fetch_with_nats_timeouts._rivet = True  # type: ignore[attr-defined]
    pull.fetch = fetch_with_nats_timeouts  # type: ignore[method-assign]


_pull_timeouts_as_nats_timeouts()


def inbox_prefix(service: str, namespace: str = "") -> str:
    """The service's own reply-inbox prefix, e.g. ``_INBOX_gateway``. NATS permissions then
    let each service subscribe to its own replies only: with the shared ``_INBOX`` any service
    could read every other's replies (login tokens included)."""
    return f"_INBOX_{namespace}_{service}" if namespace else f"_INBOX_{service}"


def create_broker(settings: ServiceSettings, health: Health) -> NatsBroker:
    service = settings.service_name

    async def disconnected() -> None:
        health.nats_connected = False
        NATS_CONNECTED.labels(service).set(0)
        log.warning("disconnected from NATS")

    async def reconnected() -> None:
        health.nats_connected = True
        NATS_CONNECTED.labels(service).set(1)
        log.info("reconnected to NATS")

    async def closed() -> None:
        health.nats_connected = False
        NATS_CONNECTED.labels(service).set(0)

    return NatsBroker(
        servers=[s.strip() for s in settings.nats_url.split(",") if s.strip()],
        name=service,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=2,
        ping_interval=5,
        max_outstanding_pings=2,
        disconnected_cb=disconnected,
        reconnected_cb=reconnected,
        closed_cb=closed,
        logger=logging.getLogger("faststream"),
        log_level=logging.DEBUG,
        graceful_timeout=settings.shutdown_grace,
        inbox_prefix=inbox_prefix(service, settings.nats_namespace),
    )


async def connect_forever(broker: NatsBroker, health: Health, service: str) -> None:
    """First connection: retry until NATS answers (the client only reconnects after one)."""
    delay = 0.2
    while True:
        try:
            await broker.connect()
        except Exception as exc:
            log.warning("NATS not reachable yet (%s); retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        health.nats_connected = True
        NATS_CONNECTED.labels(service).set(1)
        return
