"""One HTTP attempt of a delivery: resolve the endpoint's host, check every address, POST the
event to a checked address with the name in Host and TLS SNI; redirects are not followed."""

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from ..settings import IntegrationsSettings
from . import addresses, rules
from .repository import Claimed

USER_AGENT = "Rivet-Webhooks/1"
MAX_ERROR = 500


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
    """Lives as long as the process (one connection pool); ``close`` at shutdown."""

    def __init__(self, settings: IntegrationsSettings, policy: addresses.Policy) -> None:
        self.settings = settings
        self.policy = policy
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.webhook_timeout),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: the addresses are checked here
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def send(self, item: Claimed) -> Attempt:
        at = datetime.now(UTC)
        started = time.monotonic()

        def done(result: str, code: int | None = None, error: str | None = None) -> Attempt:
            ms = int((time.monotonic() - started) * 1000)
            text = error[:MAX_ERROR] if error else None
            return Attempt(at, result == "delivered", code, text, ms, result)

        try:
            target = addresses.parse(item.url)
            found = await addresses.addresses(target, self.policy)
        except addresses.Refused as exc:
            return done("refused", error=exc.message)
        headers = rules.sign(str(item.event_id), at, item.body, item.keys) | {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "host": target.host_header,
        }
        extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
        error = "no address"
        for address in found[:3]:  # the next address only if connecting failed
            try:
                async with asyncio.timeout(self.settings.webhook_timeout):
                    request = self.client.build_request(
                        "POST",
                        target.url_for(address),
                        content=item.body,
                        headers=headers,
                        extensions=extensions,
                    )
                    response = await self.client.send(request, stream=True)
                    await response.aclose()  # the body is not read
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
