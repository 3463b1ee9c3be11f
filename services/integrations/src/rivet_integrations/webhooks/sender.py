"""One HTTP attempt of a delivery: resolve the endpoint's host, check every address, POST the
event to a checked address with the name in Host and TLS SNI; redirects are not followed."""

import asyncio
import ssl
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import aiohttp
from yarl import URL

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
MAX_CONNECTIONS = 200
"""Connections open at once to one endpoint host, at most (more requests wait for one)."""
KEEP_ALIVE = 5.0
"""Seconds an idle connection is kept."""
MAX_TARGETS = 4096
"""Parsed endpoint URLs kept (the most recently used)."""


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

    Connections are kept between requests (keep-alive, ``KEEP_ALIVE`` seconds idle) in a pool
    per endpoint host (scheme, name, port; the ``MAX_POOLS`` most recently used), so a busy
    endpoint is not reconnected for every delivery; a pool holds about as many connections as
    its endpoints have deliveries in flight, ``MAX_CONNECTIONS`` at most. A pool reuses a
    connection by the address it connected to and the name it verified (TLS SNI and
    certificate); with a pool per name, a request for one name never travels on a connection
    verified for another name at the same address either.
    """

    def __init__(self, settings: IntegrationsSettings, policy: addresses.Policy) -> None:
        self.settings = settings
        self.policy = policy
        self._tls_context = ssl.create_default_context()  # loaded once, shared by the pools
        self._pools: OrderedDict[tuple[str, str, int], aiohttp.ClientSession] = OrderedDict()
        self._targets: OrderedDict[str, addresses.Target] = OrderedDict()
        self._urls: dict[tuple[str, addresses.IpAddress], URL] = {}
        self._retired: set[asyncio.Task[None]] = set()

    def _pool(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=MAX_CONNECTIONS,
            keepalive_timeout=KEEP_ALIVE,
            ssl=self._tls_context,
            use_dns_cache=False,  # the URL holds a checked address; nothing is resolved here
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(),  # the send's own deadline (asyncio.timeout)
            trust_env=False,  # no proxy from the environment: the addresses are checked here
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,  # the answer is dropped
            skip_auto_headers=("Accept-Encoding",),
        )

    def client_for(self, target: addresses.Target) -> aiohttp.ClientSession:
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

    async def _retire(self, client: aiohttp.ClientSession) -> None:
        """Close a pool once the requests it may carry are over."""
        await asyncio.sleep(self.settings.webhook_timeout + DRAIN_TIMEOUT)
        await client.close()

    async def close(self) -> None:
        for task in self._retired:
            task.cancel()
        for client in self._pools.values():
            await client.close()
        self._pools.clear()

    def _target(self, url: str) -> addresses.Target:
        """``url`` parsed (``addresses.parse``; refused as it refuses), kept for the next send."""
        target = self._targets.get(url)
        if target is None:
            target = self._targets[url] = addresses.parse(url)
            if len(self._targets) > MAX_TARGETS:
                self._targets.popitem(last=False)
                self._urls.clear()
        return target

    def _url(self, url: str, target: addresses.Target, address: addresses.IpAddress) -> URL:
        """``url`` with ``address`` in place of the host name."""
        key = (url, address)
        found = self._urls.get(key)
        if found is None:
            if len(self._urls) >= MAX_TARGETS:
                self._urls.clear()
            found = self._urls[key] = URL(target.url_for(address))
        return found

    async def send(self, url: str, keys: tuple[str, ...], event_id: UUID, body: bytes) -> Attempt:
        """POST ``body`` to ``url``, signed with ``keys``, ``webhook-id`` = ``event_id``."""
        at = datetime.now(UTC)
        started = time.monotonic()

        def done(result: str, code: int | None = None, error: str | None = None) -> Attempt:
            ms = int((time.monotonic() - started) * 1000)
            text = error[:MAX_ERROR] if error else None
            return Attempt(at, result == "delivered", code, text, ms, result)

        try:
            target = self._target(url)
            found = await addresses.addresses(target, self.policy)
        except addresses.Refused as exc:
            return done("refused", error=exc.message)
        headers = rules.sign(str(event_id), at, body, keys)
        headers["content-type"] = "application/json"
        headers["user-agent"] = USER_AGENT
        headers["host"] = target.host_header
        server_hostname = target.host if target.url.scheme == "https" else None
        client = self.client_for(target)
        error = "no address"
        for address in found[:3]:  # the next address only if connecting failed
            try:
                async with asyncio.timeout(self.settings.webhook_timeout):
                    response = await client.post(
                        self._url(url, target, address),
                        data=body,
                        headers=headers,
                        allow_redirects=False,
                        server_hostname=server_hostname,
                    )
                await _drain(response)
            except aiohttp.ClientConnectorError as exc:
                error = f"could not connect to {address}: {exc or type(exc).__name__}"
                continue
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                return done("network_error", error=f"{type(exc).__name__}: {exc}".rstrip(": "))
            code = response.status
            if 200 <= code < 300:
                return done("delivered", code)
            if 300 <= code < 400:
                return done("http_error", code, f"HTTP {code}: redirects are not followed")
            return done("http_error", code, f"HTTP {code}")
        return done("network_error", error=error)


async def _drain(response: aiohttp.ClientResponse) -> None:
    """Read the answer's body (up to ``MAX_ANSWER`` bytes within ``DRAIN_TIMEOUT``, dropped):
    a connection whose answer was read to its end goes back to the pool (keep-alive); one whose
    answer is longer, slower or broken off is closed, and the next request to the endpoint
    opens a new one. The status decides the attempt: a body that breaks off changes nothing."""
    read = 0
    try:
        async with asyncio.timeout(DRAIN_TIMEOUT):
            while not response.content.at_eof():
                read += len(await response.content.readany())
                if read > MAX_ANSWER:
                    response.close()
                    return
    except (aiohttp.ClientError, TimeoutError, OSError):
        response.close()
        return
    response.release()
