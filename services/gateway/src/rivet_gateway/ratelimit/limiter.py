"""Each replica spends leases of the shared budget locally.

A request of a caller whose lease has requests left costs no I/O: the count goes down by one.
When the lease is spent (or older than ``lease_seconds``), one request of that caller takes a
new lease from the shared bucket (a compare-and-set; see ``store``) while the caller's other
requests on this replica wait for it. A refusal is remembered until the time it names, so a
caller who keeps sending while refused costs nothing either.

Overshoot: every request served was taken from the shared bucket first, at most
``lease_seconds`` earlier, so across ``R`` replicas a caller gets at most ``R * lease - R``
requests more than its policy allows (each replica's unspent lease). A lease is at most one
second of the policy's average rate (``Policy.lease``), and one request for the anonymous
limits, which are then exact.

While the shared bucket does not answer (NATS or JetStream away, a timeout), the replica
limits with buckets in its own memory and tries the shared bucket again after
``RETRY_SHARED`` seconds: it keeps serving (fails open), each replica allowing a caller the
whole limit, and says so in a log line and ``rivet_gateway_rate_limit_store_failures_total``.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import partial

from ..metrics import (
    RATE_LIMIT_CONTENDED,
    RATE_LIMIT_LEASES,
    RATE_LIMIT_STORE_FAILURES,
    RATE_LIMIT_STORE_UP,
    RATE_LIMITED,
)
from .gcra import Policy, retry_seconds
from .store import Contended, LocalBuckets, Seen, SharedBuckets, StoreUnavailable

log = logging.getLogger(__name__)

RETRY_SHARED = 5.0
"""Seconds between attempts at the shared bucket after it failed."""
PRUNE_EVERY = 10.0
"""Seconds between sweeps of the callers this replica knows (leases, refusals)."""


class Kind(StrEnum):
    """Whose budget a request spends."""

    USER = "user"
    API_KEY = "api_key"
    ADDRESS = "address"


_SUBJECT_OF = {
    Kind.USER: "this user",
    Kind.API_KEY: "this API key",
    Kind.ADDRESS: "this address",
}


class RateLimited(Exception):
    """Answered 429 with ``Retry-After``."""

    def __init__(self, kind: Kind, policy: Policy, retry_after: int) -> None:
        self.kind = kind
        self.policy = policy
        self.retry_after = retry_after
        period = "a minute" if policy.period == 60 else f"in {policy.period:g} s"
        super().__init__(
            f"too many requests from {_SUBJECT_OF[kind]}: at most {policy.limit} {period} "
            f"(bursts of {policy.burst}); retry in {retry_after} s"
        )

    @property
    def details(self) -> dict[str, object]:
        return {
            "limit": self.policy.limit,
            "period_seconds": self.policy.period,
            "burst": self.policy.burst,
            "scope": self.kind.value,
        }


@dataclass(slots=True)
class _Caller:
    left: int = 0
    """Requests of the current lease not yet spent."""
    until: float = 0.0
    """Monotonic time the lease stops being good (or the refusal ends)."""
    refused: bool = False
    seen: Seen | None = None
    """The shared key as this replica last knew it."""


class RateLimiter:
    def __init__(
        self,
        policies: dict[Kind, Policy],
        *,
        lease: int,
        lease_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policies = {k: p for k, p in policies.items() if p.limit > 0}
        self.lease = lease
        self.lease_seconds = lease_seconds
        self.monotonic = monotonic
        self.shared: SharedBuckets | None = None
        """Set once the runtime is connected; until then the local buckets decide."""
        self.local = LocalBuckets(monotonic)
        self._callers: dict[str, _Caller] = {}
        self._flights: dict[str, asyncio.Task[None]] = {}
        self.retry_shared = RETRY_SHARED
        RATE_LIMIT_STORE_UP.set(1)  # nothing has failed (limits off, or not connected yet)
        self._shared_down_until = 0.0
        self._swept = 0.0

    def max_age(self) -> float:
        """How long the shared bucket must keep a key (the longest a TAT matters)."""
        return max((p.horizon for p in self.policies.values()), default=60.0) + 5.0

    def limits(self, kind: Kind) -> bool:
        return kind in self.policies

    async def connect(self, shared: SharedBuckets) -> None:
        """Use ``shared`` from now on; create its bucket now if it is missing."""
        self.shared = shared
        try:
            await asyncio.wait_for(shared.ensure(), shared.timeout * 4)
            RATE_LIMIT_STORE_UP.set(1)
        except Exception as exc:
            self._failed(exc)

    async def check(self, kind: Kind, ident: str) -> None:
        """Spend one request of ``ident``'s budget; ``RateLimited`` when there is none."""
        policy = self.policies.get(kind)
        if policy is None:
            return
        key = f"{kind.value}.{ident}"
        while True:
            caller = self._callers.get(key)
            if caller is not None:
                now = self.monotonic()
                if caller.until > now:
                    if caller.refused:
                        RATE_LIMITED.labels(kind.value).inc()
                        raise RateLimited(kind, policy, retry_seconds(caller.until - now))
                    if caller.left > 0:
                        caller.left -= 1
                        return
            flight = self._flights.get(key)
            if flight is None:
                flight = asyncio.create_task(self._take(key, policy))
                self._flights[key] = flight
                flight.add_done_callback(partial(self._landed, key))
            # a request that is cancelled (the client left) does not cancel the others' lease
            await asyncio.shield(flight)

    def _landed(self, key: str, _flight: "asyncio.Task[None]") -> None:
        self._flights.pop(key, None)

    async def _take(self, key: str, policy: Policy) -> None:
        caller = self._callers.get(key) or _Caller()
        want = policy.lease(self.lease)
        taken = None
        if self.shared is not None and self.monotonic() >= self._shared_down_until:
            try:
                taken, caller.seen = await self.shared.take(key, want, policy, caller.seen)
                RATE_LIMIT_LEASES.labels("shared").inc()
                if self._shared_down_until:
                    self._recovered()
            except Contended:
                # the other replicas kept winning: the waiting requests lease again
                RATE_LIMIT_CONTENDED.inc()
                caller.seen = None
                self._callers[key] = caller
                return
            except StoreUnavailable as exc:
                self._failed(exc)
        if taken is None:
            taken = self.local.take(key, want, policy)
            RATE_LIMIT_LEASES.labels("local").inc()
        now = self.monotonic()
        caller.left, caller.refused = taken.granted, not taken.granted
        caller.until = now + (self.lease_seconds if taken.granted else taken.retry_after)
        self._callers[key] = caller
        if now - self._swept >= PRUNE_EVERY:
            self._sweep(now)

    def _failed(self, exc: BaseException) -> None:
        RATE_LIMIT_STORE_FAILURES.inc()
        RATE_LIMIT_STORE_UP.set(0)
        if self._shared_down_until == 0.0 or self.monotonic() >= self._shared_down_until:
            log.warning(
                "rate limits: the shared bucket does not answer (%s); each replica limits on "
                "its own, trying again in %.0f s",
                exc,
                self.retry_shared,
            )
        self._shared_down_until = self.monotonic() + self.retry_shared
        if self.shared is not None:
            self.shared.forget()
        for caller in self._callers.values():
            caller.seen = None

    def _recovered(self) -> None:
        log.info("rate limits: the shared bucket answers again")
        self._shared_down_until = 0.0
        RATE_LIMIT_STORE_UP.set(1)
        self.local.clear()

    def _sweep(self, now: float) -> None:
        self._swept = now
        for key in [k for k, c in self._callers.items() if c.until <= now]:
            del self._callers[key]
        self.local.prune()

    def __len__(self) -> int:
        return len(self._callers)
