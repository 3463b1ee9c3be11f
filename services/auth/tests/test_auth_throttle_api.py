"""Login throttling through the API: slows guessing, holds across source addresses, and never
locks the real user out of a device they have logged in from before."""

import httpx

from rivet_devstack.testing.helpers import PASSWORD, register
from rivet_devstack.testing.services import ServiceSet


async def _attempt(
    services: ServiceSet, email: str, password: str, ip: str, device: str | None = None
) -> httpx.Response:
    async with services.client(ip=ip) as client:
        headers = {"X-Device-Token": device} if device else {}
        return await client.post(
            "/api/auth/login", data={"username": email, "password": password}, headers=headers
        )


async def test_throttle_holds_across_addresses_and_spares_known_devices(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    victim = await register(api)
    device = victim.tokens["device_token"]
    assert device

    # Five wrong guesses, each from a different address, are answered normally ...
    for i in range(5):
        answer = await _attempt(services, victim.email, f"guess-{i}", f"203.0.113.{i}")
        assert answer.status_code == 401
    # ... the sixth, from yet another address, is throttled, even with the right password.
    throttled = await _attempt(services, victim.email, PASSWORD, "198.51.100.7")
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(throttled.headers["Retry-After"]) <= 900

    # The victim, on the device they used before, is not locked out by the attacker.
    own = await _attempt(services, victim.email, PASSWORD, "192.0.2.10", device=device)
    assert own.status_code == 200
    # A device token of another account does not lift the throttle.
    other = await register(api)
    borrowed = await _attempt(
        services, victim.email, PASSWORD, "198.51.100.8", device=other.tokens["device_token"]
    )
    assert borrowed.status_code == 429
