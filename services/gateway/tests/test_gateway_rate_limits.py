"""The rate limiter on a real NATS: the rule (GCRA), leases shared by replicas through the
key-value bucket with exact counts under a controlled clock, recovery with time, the client
address behind trusted proxies, and NATS going away and coming back."""

import asyncio
import ipaddress
import uuid
from collections.abc import AsyncIterator, Callable

import nats
import pytest
from nats.aio.client import Client as NatsClient
from prometheus_client import REGISTRY

from rivet_devstack.servers import EmbeddedNats
from rivet_devstack.testing.env import TestEnv
from rivet_gateway.clientaddr import ClientAddress
from rivet_gateway.ratelimit import Kind, Policy, RateLimited, RateLimiter, SharedBuckets
from rivet_gateway.ratelimit.gcra import take


class Clock:
    """Both clocks of a replica (wall and monotonic), moved by the test."""

    def __init__(self, at: float = 1_800_000_000.0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def _limiter(clock: Clock, policy: Policy, lease: int = 10) -> RateLimiter:
    return RateLimiter({Kind.USER: policy}, lease=lease, lease_seconds=2.0, monotonic=clock)


async def _shared(nc: NatsClient, bucket: str, clock: Clock, timeout: float = 2.0) -> SharedBuckets:
    return SharedBuckets(
        nc.jetstream(), bucket, max_age=70.0, replicas=1, timeout=timeout, clock=clock
    )


async def _granted(limiter: RateLimiter, ident: str, tries: int) -> int:
    granted = 0
    for _ in range(tries):
        try:
            await limiter.check(Kind.USER, ident)
            granted += 1
        except RateLimited:
            pass
    return granted


def _metric(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


@pytest.fixture
async def two_connections(test_env: TestEnv) -> AsyncIterator[tuple[NatsClient, NatsClient]]:
    first = await nats.connect(test_env.nats_url)
    second = await nats.connect(test_env.nats_url)
    yield first, second
    await first.close()
    await second.close()


@pytest.fixture
def bucket(test_env: TestEnv) -> str:
    # under the run's namespace: the session's clean-up deletes it
    return f"{test_env.namespace.upper()}_RL{uuid.uuid4().hex[:6].upper()}"


def test_the_rule_allows_the_burst_then_the_average_rate() -> None:
    policy = Policy(limit=60, burst=5)  # one a second, five at once
    now = 1000.0
    first = take(0.0, now, 10, policy)
    assert first.granted == 5
    refused = take(first.tat, now, 1, policy)
    assert (refused.granted, refused.retry_after) == (0, pytest.approx(1.0))
    later = take(first.tat, now + 2.5, 10, policy)
    assert later.granted == 2  # two intervals have passed
    assert policy.lease(10) == 1  # the anonymous-like limits lease one at a time: exact
    assert Policy(600, 100).lease(10) == 10
    assert Policy(1_000_000, 1_000_000).lease(10) == 10


def test_the_client_address_believes_forwarding_only_from_trusted_proxies() -> None:
    plain = ClientAddress()
    assert plain.of("203.0.113.9", ["198.51.100.1"]) == "203.0.113.9"
    proxied = ClientAddress([ipaddress.ip_network("10.0.0.0/8")])
    # the proxy appends the address it saw; what the client wrote itself (left) is ignored
    assert proxied.of("10.0.0.2", ["1.2.3.4, 198.51.100.7"]) == "198.51.100.7"
    assert proxied.of("10.0.0.2", ["1.2.3.4, 198.51.100.7, 10.0.0.3"]) == "198.51.100.7"
    assert proxied.of("10.0.0.2", ["not-an-address"]) == "10.0.0.2"
    assert proxied.of("10.0.0.2", []) == "10.0.0.2"
    # a direct client cannot choose its address by sending the header
    assert proxied.of("203.0.113.9", ["198.51.100.7"]) == "203.0.113.9"
    # IPv6 clients are counted by /64; IPv4-mapped addresses as IPv4
    assert plain.of("2001:db8:1:2::1") == plain.of("2001:db8:1:2:ffff::9")
    assert plain.of("2001:db8:1:2::1") != plain.of("2001:db8:1:3::1")
    assert plain.of("::ffff:192.0.2.1") == "192.0.2.1"
    assert plain.of(None) == "unknown"


async def test_two_replicas_share_one_budget_in_leases(
    two_connections: tuple[NatsClient, NatsClient], bucket: str
) -> None:
    clock = Clock()
    policy = Policy(limit=600, burst=20)  # 10 a second: leases of 10
    a, b = _limiter(clock, policy), _limiter(clock, policy)
    await a.connect(await _shared(two_connections[0], bucket, clock))
    await b.connect(await _shared(two_connections[1], bucket, clock))
    user = uuid.uuid4().hex
    leases = _metric("rivet_gateway_rate_limit_leases_total", {"store": "shared"})
    # one lease of ten on the first replica, one on the second, then both are refused:
    # the burst (20) in all, not 20 a replica
    assert await _granted(a, user, 10) == 10
    assert await _granted(b, user, 15) == 10
    assert await _granted(a, user, 5) + await _granted(b, user, 5) == 0
    # four round trips for 20 requests served and 20 refused (a: 2, b: 2)
    assert _metric("rivet_gateway_rate_limit_leases_total", {"store": "shared"}) - leases == 4
    # a refusal is remembered: refused requests cost no round trip until it ends
    leases = _metric("rivet_gateway_rate_limit_leases_total", {"store": "shared"})
    with pytest.raises(RateLimited) as refused:
        await a.check(Kind.USER, user)
    assert refused.value.retry_after == 1
    assert _metric("rivet_gateway_rate_limit_leases_total", {"store": "shared"}) == leases
    # the budget comes back with time: one second is ten requests, wherever they arrive
    clock.at += 1.0
    assert await _granted(b, user, 15) + await _granted(a, user, 15) == 10
    # another user's budget is untouched
    assert await _granted(a, uuid.uuid4().hex, 25) == 20


async def test_racing_replicas_never_exceed_the_budget(
    two_connections: tuple[NatsClient, NatsClient], bucket: str
) -> None:
    """Many concurrent requests on both replicas: the compare-and-set lets through exactly
    the burst, no more (leases of one)."""
    clock = Clock()
    policy = Policy(limit=30, burst=25)  # leases of one: every request is a write
    a, b = _limiter(clock, policy), _limiter(clock, policy)
    await a.connect(await _shared(two_connections[0], bucket, clock))
    await b.connect(await _shared(two_connections[1], bucket, clock))
    user = uuid.uuid4().hex

    async def one(limiter: RateLimiter) -> bool:
        try:
            await limiter.check(Kind.USER, user)
        except RateLimited:
            return False
        return True

    answers = await asyncio.gather(*(one(a if i % 2 else b) for i in range(60)))
    assert sum(answers) == 25


async def test_without_nats_each_replica_limits_alone_and_the_shared_bucket_comes_back(
    private_nats: EmbeddedNats,
) -> None:
    """Fail open: with the bucket unreachable the replica keeps serving, within the limit
    counted in its own memory, says so in its metrics, and uses the shared bucket again once
    NATS is back (re-creating the bucket, lost with the server's memory)."""
    clock = Clock()
    policy = Policy(limit=60, burst=3)
    limiter = _limiter(clock, policy)
    limiter.retry_shared = 0.0  # try the shared bucket again at once
    nc = await nats.connect(private_nats.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        shared = await _shared(nc, "RATELIMITS", clock, timeout=0.3)
        await limiter.connect(shared)
        assert _metric("rivet_gateway_rate_limit_store_up") == 1
        user = uuid.uuid4().hex
        assert await _granted(limiter, user, 2) == 2
        private_nats.kill()
        failures = _metric("rivet_gateway_rate_limit_store_failures_total")
        local = _metric("rivet_gateway_rate_limit_leases_total", {"store": "local"})
        # a new bucket in memory: the local limit is the whole limit again
        assert await _granted(limiter, user, 5) == 3
        assert _metric("rivet_gateway_rate_limit_store_failures_total") > failures
        assert _metric("rivet_gateway_rate_limit_leases_total", {"store": "local"}) > local
        assert _metric("rivet_gateway_rate_limit_store_up") == 0
        restarted = EmbeddedNats(private_nats.store, port=private_nats.port).start()
        private_nats.proc = restarted.proc
        await _until(lambda: nc.is_connected)
        clock.at += 10.0  # the local refusal has ended
        other = uuid.uuid4().hex
        assert await _granted(limiter, other, 5) == 3
        assert _metric("rivet_gateway_rate_limit_store_up") == 1
        kv = await nc.jetstream().key_value("RATELIMITS")
        assert float((await kv.get(f"user.{other}")).value or b"0") > clock.at
    finally:
        await nc.close()


async def _until(ready: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not ready():
        assert asyncio.get_running_loop().time() < deadline, "NATS did not come back"
        await asyncio.sleep(0.1)
