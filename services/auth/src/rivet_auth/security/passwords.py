"""Password hashing with argon2id; hashes are upgraded on login when parameters change."""

import asyncio
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


@dataclass(frozen=True)
class PasswordCheck:
    ok: bool
    new_hash: str | None = None
    """Set when the password was right but its hash used old parameters."""


class Passwords:
    def __init__(self, *, time_cost: int, memory_cost: int, parallelism: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
        )
        # Verified against when the account does not exist, so both paths cost the same.
        self._dummy = self._hasher.hash("rivet-no-such-account")

    async def hash(self, password: str) -> str:
        # argon2 is deliberately slow: keep it off the event loop.
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> PasswordCheck:
        return await asyncio.to_thread(self._verify, stored_hash, password)

    def _verify(self, stored_hash: str | None, password: str) -> PasswordCheck:
        try:
            self._hasher.verify(stored_hash or self._dummy, password)
        except (VerificationError, InvalidHashError):
            return PasswordCheck(ok=False)
        if stored_hash is None:
            return PasswordCheck(ok=False)
        if self._hasher.check_needs_rehash(stored_hash):
            return PasswordCheck(ok=True, new_hash=self._hasher.hash(password))
        return PasswordCheck(ok=True)
