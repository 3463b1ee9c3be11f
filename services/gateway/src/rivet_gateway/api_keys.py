"""API keys: machine clients' credentials, checked without asking the auth service.

Every gateway replica keeps a copy of the keys that work (the SHA-256 of each key -> its
organization, role, read-only flag and expiry): loaded from the auth service at start
(``rpc.auth.active_api_keys``), kept current as keys are created and revoked (a plain
subscription in every replica to ``user.api_key_created`` and ``user.api_key_revoked``), and
loaded again every ``RESYNC`` seconds to make up for anything missed while disconnected. A key
revoked while a reload was under way stays refused: revocations heard are remembered until a
reload that started after them.

A request's key is hashed (SHA-256, a microsecond) and looked up; the replica records which
keys it accepted, and tells the auth service every ``USES_EVERY`` seconds (``last_used_at``).
See ADR 0014.
"""

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from rivet_contracts import ActorKind, Identity, Role, auth
from rivet_contracts.auth import API_KEY_FORMAT, API_KEY_PREFIX, ApiKeyCreated, ApiKeyRevoked
from rivet_contracts.envelope import EventEnvelope
from rivet_runtime.client import CallMeta
from rivet_runtime.jobs import JobContext, JobRouter

from .tokens import InvalidToken

log = logging.getLogger(__name__)

RESYNC = 30.0
USES_EVERY = 60.0
_FORMAT = re.compile(API_KEY_FORMAT)


class KeysNotLoaded(Exception):
    """This replica has not loaded the keys yet (just started, auth away): try again soon."""


def looks_like_a_key(credential: str) -> bool:
    return credential.startswith(API_KEY_PREFIX)


@dataclass(frozen=True, slots=True)
class Grant:
    """What a key lets its holder do."""

    key_id: UUID
    org_id: UUID
    role: Role
    read_only: bool
    expires_at: float | None
    """Epoch seconds; None: never."""

    @property
    def identity(self) -> Identity:
        return Identity(
            user_id=self.key_id, org_id=self.org_id, role=self.role, kind=ActorKind.API_KEY
        )


def _epoch(at: datetime | None) -> float | None:
    return at.timestamp() if at is not None else None


class ApiKeys:
    """The keys that work, by the SHA-256 of the whole key."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._grants: dict[bytes, Grant] = {}
        self._heard_at: dict[bytes, float] = {}
        """Keys added by an event, and when (a reload that started earlier keeps them)."""
        self._revoked: dict[UUID, float] = {}
        """Keys revoked by an event, and when (a reload that started earlier drops them)."""
        self.used: set[UUID] = set()
        """Keys accepted since the auth service was last told."""
        self.synced_at: float | None = None

    def verify(self, key: str) -> Grant:
        """What ``key`` grants; ``InvalidToken`` says why it grants nothing."""
        if _FORMAT.fullmatch(key) is None:
            raise InvalidToken("malformed API key: expected rvt_<prefix>_<secret>")
        grant = self._grants.get(hashlib.sha256(key.encode()).digest())
        if grant is None:
            if self.synced_at is None:
                raise KeysNotLoaded
            raise InvalidToken("unknown or revoked API key")
        if grant.expires_at is not None and self.clock() >= grant.expires_at:
            raise InvalidToken("API key expired")
        self.used.add(grant.key_id)
        return grant

    def created(self, digest: bytes, grant: Grant) -> None:
        if grant.key_id in self._revoked:
            return
        self._grants[digest] = grant
        self._heard_at[digest] = self.clock()

    def revoked(self, key_id: UUID) -> None:
        self._revoked[key_id] = self.clock()
        for digest in [d for d, g in self._grants.items() if g.key_id == key_id]:
            del self._grants[digest]
            self._heard_at.pop(digest, None)

    def replace_all(self, active: dict[bytes, Grant], started: float) -> None:
        """Replace the copy by what the auth service said in a reload that began at
        ``started``, keeping what was heard since and refusing what was revoked since."""
        grants = {d: g for d, g in active.items() if g.key_id not in self._revoked}
        for digest, at in self._heard_at.items():
            if at >= started and digest in self._grants:
                grants[digest] = self._grants[digest]
        self._grants = grants
        self._heard_at = {d: at for d, at in self._heard_at.items() if at >= started}
        self._revoked = {k: at for k, at in self._revoked.items() if at >= started}
        self.synced_at = self.clock()

    def __len__(self) -> int:
        return len(self._grants)


def on_created(keys: ApiKeys) -> Callable[[EventEnvelope[Any]], None]:
    def heard(event: EventEnvelope[Any]) -> None:
        data: ApiKeyCreated = event.data
        grant = Grant(data.key_id, data.org_id, data.role, data.read_only, _epoch(data.expires_at))
        keys.created(bytes.fromhex(data.secret_sha256), grant)

    return heard


def on_revoked(keys: ApiKeys) -> Callable[[EventEnvelope[Any]], None]:
    def heard(event: EventEnvelope[Any]) -> None:
        data: ApiKeyRevoked = event.data
        keys.revoked(data.key_id)

    return heard


jobs: JobRouter[Any] = JobRouter()
_META = CallMeta(None, "gateway:api-keys", "gateway")


@jobs.periodic("api-keys-sync", every=RESYNC, per_replica=True)
async def sync(ctx: JobContext[Any]) -> int:
    """Load every key that works from the auth service."""
    keys: ApiKeys = ctx.state.api_keys
    assert ctx.client is not None
    started = keys.clock()
    found = await ctx.client.call(
        auth.ACTIVE_API_KEYS, auth.ListActiveApiKeys(), _META, timeout=ctx.rpc_timeout
    )
    keys.replace_all(
        {
            bytes.fromhex(item.secret_sha256): Grant(
                item.id, item.org_id, item.role, item.read_only, _epoch(item.expires_at)
            )
            for item in found.items
        },
        started,
    )
    return len(found.items)


@jobs.periodic("api-keys-used", every=USES_EVERY, per_replica=True)
async def report_use(ctx: JobContext[Any]) -> int:
    """Tell the auth service which keys were accepted (their ``last_used_at``)."""
    keys: ApiKeys = ctx.state.api_keys
    assert ctx.client is not None
    used, keys.used = keys.used, set()
    if not used:
        return 0
    ids = sorted(used)
    try:
        for start in range(0, len(ids), 10_000):
            await ctx.client.call(
                auth.API_KEYS_USED,
                auth.ApiKeysUsed(key_ids=ids[start : start + 10_000]),
                _META,
                timeout=ctx.rpc_timeout,
            )
    except Exception:
        keys.used |= used  # told next time
        raise
    return len(ids)
