"""Rules that need no servers: throttle arithmetic, token secrets, password hashing."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from rivet_auth.security import secrets
from rivet_auth.security.passwords import Passwords
from rivet_auth.sessions.throttle import ThrottlePolicy

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_first_failures_are_free_then_delay_doubles_up_to_a_cap() -> None:
    policy = ThrottlePolicy(free=5, max_delay=900)
    assert [policy.delay(n) for n in range(5)] == [0] * 5
    assert [policy.delay(n) for n in range(5, 10)] == [1, 2, 4, 8, 16]
    assert policy.delay(40) == 900  # bounded: never a permanent lock-out


def test_retry_after_counts_from_the_last_failure() -> None:
    policy = ThrottlePolicy(free=2, max_delay=60)
    last = NOW - timedelta(seconds=1)
    assert policy.retry_after(1, last, NOW) == 0
    assert policy.retry_after(4, last, NOW) == 3  # 4 s after the last failure
    assert policy.retry_after(4, NOW - timedelta(seconds=5), NOW) == 0
    assert policy.retry_after(50, NOW, NOW) == 60


def test_old_failures_are_forgotten() -> None:
    policy = ThrottlePolicy(free=2, max_delay=60)
    assert policy.effective_failures(10, NOW - timedelta(days=2), NOW) == 0
    assert policy.effective_failures(10, NOW - timedelta(hours=1), NOW) == 10


def test_secrets_have_256_bits_and_compose_round_trips() -> None:
    secret = secrets.new_secret()
    assert len(secret) == 43
    token_id = uuid4()
    assert secrets.split(secrets.compose(token_id, secret)) == (token_id, secret)
    assert secrets.split("garbage") is None
    assert secrets.split("nothex.secret") is None
    assert secrets.digest(secret) != secrets.digest(secrets.new_secret())


async def test_password_rehash_when_parameters_change() -> None:
    old = Passwords(time_cost=1, memory_cost=8192, parallelism=1)
    new = Passwords(time_cost=2, memory_cost=8192, parallelism=1)
    stored = await old.hash("hunter22hunter")
    assert stored.startswith("$argon2id$")
    same = await old.verify(stored, "hunter22hunter")
    assert same.ok
    assert same.new_hash is None
    upgraded = await new.verify(stored, "hunter22hunter")
    assert upgraded.ok
    assert upgraded.new_hash is not None
    assert "t=2" in upgraded.new_hash
    assert not (await new.verify(stored, "wrong")).ok
    assert not (await new.verify(None, "hunter22hunter")).ok


@pytest.mark.parametrize("bad", ["", "$argon2id$v=19$garbage"])
async def test_password_verify_tolerates_corrupt_hashes(bad: str) -> None:
    passwords = Passwords(time_cost=1, memory_cost=8192, parallelism=1)
    assert not (await passwords.verify(bad or None, "whatever")).ok
