"""Access tokens that stopped being valid before they expire: those of a session that logged
out (or whose refresh token was stolen) and those of a user whose password, role or account
changed (``user.sessions_revoked``).

Every gateway replica keeps them in memory: loaded from the auth service at start
(``rpc.auth.revocations``), heard as they happen (a plain subscription in every replica), and
loaded again every ``RESYNC`` seconds to make up for any message missed while disconnected.
Entries older than an access token's lifetime refuse nothing and are forgotten.
"""

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from rivet_contracts import auth
from rivet_contracts.auth import ListRevocations, UserSessionsRevoked
from rivet_contracts.envelope import EventEnvelope
from rivet_runtime.client import CallMeta
from rivet_runtime.jobs import JobContext, JobRouter

log = logging.getLogger(__name__)

RESYNC = 30.0


class Revocations:
    """user -> latest revocation of all their tokens; session -> its revocation (ms)."""

    def __init__(self, keep: float, clock: Callable[[], float] = time.time) -> None:
        self.keep = keep
        """Seconds an entry matters: an access token's lifetime, plus leeway."""
        self.clock = clock
        self._users: dict[UUID, float] = {}
        self._sessions: dict[UUID, float] = {}
        self.synced_at: float | None = None

    def add(self, user_id: UUID, session_id: UUID | None, revoked_at: datetime) -> None:
        at = revoked_at.timestamp() * 1000
        table = self._users if session_id is None else self._sessions
        key = user_id if session_id is None else session_id
        if at > table.get(key, 0.0):
            table[key] = at

    def refuses(self, user_id: UUID, session_id: UUID | None, issued_ms: float) -> bool:
        """True for a token issued at or before a revocation of its user or session."""
        if issued_ms <= self._users.get(user_id, -1.0):
            return True
        return session_id is not None and issued_ms <= self._sessions.get(session_id, -1.0)

    def prune(self) -> None:
        oldest = (self.clock() - self.keep) * 1000
        for table in (self._users, self._sessions):
            for key in [k for k, at in table.items() if at < oldest]:
                del table[key]

    def __len__(self) -> int:
        return len(self._users) + len(self._sessions)


def on_revoked(revocations: Revocations) -> Callable[[EventEnvelope[Any]], None]:
    def heard(event: EventEnvelope[Any]) -> None:
        data: UserSessionsRevoked = event.data
        revocations.add(data.user_id, data.session_id, data.revoked_at)

    return heard


jobs: JobRouter[Any] = JobRouter()


@jobs.periodic("revocations-sync", every=RESYNC, per_replica=True)
async def sync(ctx: JobContext[Any]) -> int:
    """Load the revocations of the last token lifetime from the auth service."""
    revocations: Revocations = ctx.state.revocations
    assert ctx.client is not None
    since = datetime.now(UTC) - timedelta(seconds=revocations.keep)
    found = await ctx.client.call(
        auth.REVOCATIONS,
        ListRevocations(since=since),
        CallMeta(None, "gateway:revocations", "gateway"),
        timeout=ctx.rpc_timeout,
    )
    for item in found.items:
        revocations.add(item.user_id, item.session_id, item.revoked_at)
    revocations.prune()
    revocations.synced_at = time.time()
    return len(found.items)
