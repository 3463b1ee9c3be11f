"""One HTTP attempt of a delivery: resolve the endpoint's host, check every address, POST the
event to a checked address with the name in Host and TLS SNI; redirects are not followed."""

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import httpx

from ..settings import IntegrationsSettings
from . import addresses, rules

USER_AGENT = "Rivet-Webhooks/1"
MAX_ERROR = 500
MAX_ANSWER = 64 * 1024
"""Bytes of an answer's body read (and dropped) so that its connection is kept for the next
request; a longer answer's connection is closed instead."""
DRAIN_TIMEOUT = 1.0
"""Seconds the answer's body may take to arrive after its status."""
MAX_POOLS = 256
"""Endpoint hosts whose connection pools are kept (the most recently used)."""


@dataclass(frozen=True)
class Attempt:
    at: datetime
    delivered: bool
    status_code: int | None
    error: str | None
    duration_ms: int
    result: str
    """The metrics' label: delivered, http_error, network_error, refused."""


class Sender:
    """Lives as long as the process (its connection pools); ``close`` at shutdown.

    Connections are kept between requests (keep-alive, 5 s idle) in a pool per endpoint host
    (scheme, name, port; the ``MAX_POOLS`` most recently used), so a busy endpoint is not
    reconnected for every delivery, and a pool holds about as many connections as its
    endpoints have deliveries in flight (a pool looks at each of its connections for each
    request). A pool reuses a connection by the address it connected to; a TLS connection also
    proved the identity of one name (SNI, certificate): with a pool per name, a request for
    one name never travels on a connection verified for another name at the same address.
    """

    def __init__(self, settings: IntegrationsSettings, policy: addresses.Policy) -> None:
        self.settings = settings
        self.policy = policy
        self._tls_context = httpx.create_ssl_context()  # loaded once, shared by the pools
        self._pools: OrderedDict[tuple[str, str, int], httpx.AsyncClient] = OrderedDict()
        self._retired: set[asyncio.Task[None]] = set()

    def _pool(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=httpx.Timeout(self.settings.webhook_timeout),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: the addresses are checked here
            verify=self._tls_context,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=200),
        )

    def client_for(self, target: addresses.Target) -> httpx.AsyncClient:
        """The pool of ``target``'s scheme, host name and port."""
        key = (target.url.scheme, target.host, target.port)
        client = self._pools.get(key)
        if client is not None:
            self._pools.move_to_end(key)
            return client
        client = self._pools[key] = self._pool()
        if len(self._pools) > MAX_POOLS:
            _, oldest = self._pools.popitem(last=False)
            task = asyncio.create_task(self._retire(oldest))
            self._retired.add(task)
            task.add_done_callback(self._retired.discard)
        return client

    async def _retire(self, client: httpx.AsyncClient) -> None:
        """Close a pool once the requests it may carry are over."""
        await asyncio.sleep(self.settings.webhook_timeout + DRAIN_TIMEOUT)
        await client.aclose()

    async def close(self) -> None:
        for task in self._retired:
            task.cancel()
        for client in self._pools.values():
            await client.aclose()
        self._pools.clear()

    async def send(self, url: str, keys: tuple[str, ...], event_id: UUID, body: bytes) -> Attempt:
        """POST ``body`` to ``url``, signed with ``keys``, ``webhook-id`` = ``event_id``."""
        at = datetime.now(UTC)
        started = time.monotonic()

        def done(result: str, code: int | None = None, error: str | None = None) -> Attempt:
            ms = int((time.monotonic() - started) * 1000)
            text = error[:MAX_ERROR] if error else None
            return Attempt(at, result == "delivered", code, text, ms, result)

        try:
            target = addresses.parse(url)
            found = await addresses.addresses(target, self.policy)
        except addresses.Refused as exc:
            return done("refused", error=exc.message)
        headers = rules.sign(str(event_id), at, body, keys) | {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "host": target.host_header,
        }
        extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
        client = self.client_for(target)
        error = "no address"
        for address in found[:3]:  # the next address only if connecting failed
            try:
                async with asyncio.timeout(self.settings.webhook_timeout):
                    request = client.build_request(
                        "POST",
                        target.url_for(address),
                        content=body,
                        headers=headers,
                        extensions=extensions,
                    )
                    response = await client.send(request, stream=True)
                await _drain(response)
            except httpx.ConnectError as exc:
                error = f"could not connect to {address}: {exc or type(exc).__name__}"
                continue
            except (httpx.HTTPError, TimeoutError, OSError) as exc:
                return done("network_error", error=f"{type(exc).__name__}: {exc}".rstrip(": "))
            code = response.status_code
            if 200 <= code < 300:
                return done("delivered", code)
            if 300 <= code < 400:
                return done("http_error", code, f"HTTP {code}: redirects are not followed")
            return done("http_error", code, f"HTTP {code}")
        return done("network_error", error=error)


async def _drain(response: httpx.Response) -> None:
    """Read the answer's body (up to ``MAX_ANSWER`` bytes within ``DRAIN_TIMEOUT``, dropped),
    then close it: a connection whose answer was read to its end goes back to the pool
    (keep-alive); one closed before that is closed, and the next request to the endpoint opens
    a new one. The status decides the attempt: a body that breaks off changes nothing."""
    read = 0
    try:
        async with asyncio.timeout(DRAIN_TIMEOUT):
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read > MAX_ANSWER:
                    break
    except (httpx.HTTPError, TimeoutError, OSError):
        pass
    finally:
        await response.aclose()
