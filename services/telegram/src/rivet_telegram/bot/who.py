"""Who is writing: a Telegram user resolved to a Rivet identity (organization and role).

Every command acts as the linked user, so the bot asks auth (``rpc.auth.telegram_identity``)
who a Telegram id belongs to. The answer is cached for ``TELEGRAM_IDENTITY_TTL`` seconds (a role
change is seen within that time) and dropped at once when ``user.telegram_linked`` says the id
now belongs to someone else. Resolution is lazy: ``/help`` and ``/start`` work, and a message
that needs no identity costs no request, even while auth is down.
"""

import time
from typing import Any
from uuid import UUID

from aiogram.filters import Filter
from aiogram.types import TelegramObject

from rivet_contracts.auth import TelegramIdentity

from ..rivet import Rivet, UserApi

_MAX_ENTRIES = 10_000


class Identities:
    """A small TTL cache of Telegram id -> identity (only linked users are cached)."""

    def __init__(self, rivet: Rivet, ttl: float) -> None:
        self.rivet = rivet
        self.ttl = ttl
        self._cache: dict[int, tuple[float, TelegramIdentity]] = {}

    async def get(self, telegram_user_id: int) -> TelegramIdentity | None:
        now = time.monotonic()
        cached = self._cache.get(telegram_user_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = await self.rivet.telegram_identity(telegram_user_id)
        if found is None:
            self._cache.pop(telegram_user_id, None)
        else:
            self.remember(telegram_user_id, found)
        return found

    def remember(self, telegram_user_id: int, identity: TelegramIdentity) -> None:
        now = time.monotonic()
        if len(self._cache) >= _MAX_ENTRIES:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
        if self.ttl > 0 and len(self._cache) < _MAX_ENTRIES:
            self._cache[telegram_user_id] = (now + self.ttl, identity)

    def forget(self, telegram_user_id: int) -> None:
        self._cache.pop(telegram_user_id, None)

    def forget_user(self, user_id: UUID) -> None:
        """Drop the Rivet user's cached identity (a new role, a deactivated account)."""
        for key in [k for k, (_, found) in self._cache.items() if found.user.id == user_id]:
            del self._cache[key]


class Who:
    """The sender of one update, looked up on first use and then remembered for the update."""

    def __init__(
        self, identities: Identities, telegram_user_id: int | None, correlation_id: str
    ) -> None:
        self.identities = identities
        self.telegram_user_id = telegram_user_id
        self.correlation_id = correlation_id
        self._resolved = False
        self._identity: TelegramIdentity | None = None

    async def get(self) -> TelegramIdentity | None:
        if not self._resolved and self.telegram_user_id is not None:
            self._identity = await self.identities.get(self.telegram_user_id)
            self._resolved = True
        return self._identity

    def set(self, identity: TelegramIdentity) -> None:
        """The user was just linked or registered: use this identity from now on."""
        if self.telegram_user_id is not None:
            self.identities.remember(self.telegram_user_id, identity)
        self._identity, self._resolved = identity, True

    def api(self, identity: TelegramIdentity) -> UserApi:
        return self.identities.rivet.as_user(identity.identity, self.correlation_id)


class Linked(Filter):
    """Passes for linked users and hands the handler ``me`` (the identity) and ``api``."""

    async def __call__(self, event: TelegramObject, who: Who) -> bool | dict[str, Any]:
        me = await who.get()
        if me is None:
            return False
        return {"me": me, "api": who.api(me)}
