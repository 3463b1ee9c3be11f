"""Login throttling holds across source addresses and forwarding headers, does not reveal
which accounts exist, and keeps the real user's known device working."""

import httpx
import pytest
from security_support import Tenant

from rivet_devstack.testing.helpers import PASSWORD, register, unique_email
from rivet_devstack.testing.services import ServiceSet

pytestmark = pytest.mark.security


async def _try(
    services: ServiceSet, email: str, password: str, ip: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    async with services.client(ip=ip) as client:
        return await client.post(
            "/api/auth/login",
            data={"username": email, "password": password},
            headers=headers or {},
        )


async def test_guessing_from_many_addresses_is_throttled(
    client: httpx.AsyncClient, services: ServiceSet
) -> None:
    victim = await register(client, "throttled")
    spoofed = [
        {"X-Forwarded-For": f"10.9.{i}.1"} if i % 2 else {"X-Real-IP": f"172.16.0.{i}"}
        for i in range(12)
    ]
    statuses = []
    for i, headers in enumerate(spoofed):
        answer = await _try(services, victim.email, f"guess {i}", f"198.18.{i}.{i + 1}", headers)
        statuses.append(answer.status_code)
    assert statuses[:5] == [401] * 5
    assert set(statuses[5:]) == {429}, statuses
    # Still throttled with the right password, from a fresh address, however it is forwarded.
    late = await _try(
        services, victim.email, PASSWORD, "198.18.200.1", {"X-Forwarded-For": "127.0.0.1"}
    )
    assert late.status_code == 429
    assert int(late.headers["Retry-After"]) >= 1
    # The owner's device from an earlier login still works.
    own = await _try(
        services,
        victim.email,
        PASSWORD,
        "192.0.2.99",
        {"X-Device-Token": victim.tokens["device_token"]},
    )
    assert own.status_code == 200


async def test_unknown_accounts_are_throttled_alike(services: ServiceSet) -> None:
    """Answers for an account that does not exist are the same as for one that does, so the
    throttle cannot be used to find out which e-mail addresses are registered."""
    ghost = unique_email("ghost")
    statuses = [
        (await _try(services, ghost, f"guess {i}", f"198.19.{i}.7")).status_code for i in range(7)
    ]
    assert statuses == [401] * 5 + [429] * 2


async def test_the_throttle_is_per_account(
    client: httpx.AsyncClient, services: ServiceSet, tenants: tuple[Tenant, Tenant]
) -> None:
    """An attack on one account does not lock out another."""
    target = await register(client, "target")
    for i in range(8):
        await _try(services, target.email, f"guess {i}", "198.18.250.1")
    team, _ = tenants
    bystander = await _try(services, team.viewer.email, PASSWORD, "198.18.250.1")
    assert bystander.status_code == 200
