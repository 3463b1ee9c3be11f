"""Idempotent requests: a create sent again with its ``Idempotency-Key`` answers the first reply.

A subject whose ``RpcSpec.idempotent`` is set takes an ``Idempotency-Key`` header (1-255
printable ASCII characters; the gateway forwards the HTTP header of the same name). The
runtime keeps, per organization, subject and key, the hash of the request and the reply it got,
for ``TTL_HOURS`` hours, in the service's ``idempotency_keys`` table
(``tables.add_idempotency_table``):

- the same key with the same request (same caller, same body, the key aside) answers the
  stored reply again, status and body, and runs nothing (with ``Rivet-Replayed: true``);
- the same key with another request is refused: ``idempotency_key_reused`` (HTTP 422);
- a request that fails (any error reply) leaves no key behind, so the client may retry it.

A handler run in the runtime's transaction gets its key row first in that transaction
(``INSERT ... ON CONFLICT``): a concurrent request with the same key waits on the row's unique
index until the first commits (then answers its reply) or rolls back (then runs itself). The
reply is stored before the commit, with the handler's work: both or neither.

A handler with its own transactions (``own_transaction=True``) cannot have the key row in its
work's transaction, whose reply the runtime learns only after it committed. Its key is claimed
first in a short transaction of its own (a *pending* row: no reply yet); the handler runs; the
reply is stored in a second short transaction, or the claim is released when it is refused
(``ServiceError``, an error reply, or a crash before any of its transactions committed). A
concurrent request with the key finds the pending row and waits (up to 60% of the RPC timeout,
then ``conflict`` with ``retry_after``) for the reply. A handler that crashes after committing, or a
process that dies between the handler's commit and storing the reply, leaves the row pending:
the key answers ``conflict`` until it expires, and nothing is created twice.

The key itself is not stored: rows hold its SHA-256, and the reply body is sealed (AES-GCM)
with a key derived from it, so that a reply carrying a secret shown once (an API key, a webhook
secret) is readable only by a client that holds the idempotency key.
"""

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts import ErrorCode, Headers, Identity, ServiceError

from .jobs import JobContext, JobRouter

log = logging.getLogger(__name__)

TTL_HOURS = 24
"""How long a key is remembered."""
PRUNE_JOB = "idempotency-prune"
PRUNE_EVERY = 3600.0
"""Seconds between passes of the job that forgets expired keys."""
KEY = re.compile(r"[ -~]{1,255}")
"""What a key may be: 1-255 printable ASCII characters."""
KEY_RULE = "an Idempotency-Key is 1-255 printable ASCII characters"

Reply = tuple[bytes, dict[str, str]]


def check_key(key: str) -> str:
    """``key``, or ``validation_error`` when it is not 1-255 printable ASCII characters."""
    if KEY.fullmatch(key) is None:
        raise ServiceError(
            ErrorCode.VALIDATION,
            KEY_RULE,
            details=[
                {"loc": ["header", "Idempotency-Key"], "msg": KEY_RULE, "type": "value_error"}
            ],
        )
    return key


def key_hash(key: str) -> str:
    """What identifies the key in the table (the key itself is not stored)."""
    return hashlib.sha256(b"rivet-idempotency-key\0" + key.encode()).hexdigest()


def _cipher(key: str) -> AESGCM:
    return AESGCM(hashlib.sha256(b"rivet-idempotency-seal\0" + key.encode()).digest())


def seal(key: str, body: bytes) -> bytes:
    """``body`` encrypted with a key derived from the idempotency key (nonce first)."""
    nonce = os.urandom(12)
    return nonce + _cipher(key).encrypt(nonce, body, None)


def unseal(key: str, sealed: bytes) -> bytes:
    return _cipher(key).decrypt(sealed[:12], sealed[12:], None)


def request_hash(subject: str, identity: Identity, request: BaseModel) -> str:
    """SHA-256 of what makes two requests the same: the subject, the caller and the request
    as validated, fields left at their defaults left out (``"priority": "medium"`` sent or not
    is the same request; key order and spacing do not matter). Another caller of the same
    organization with the same key is another request: it never gets someone else's reply."""
    canonical = json.dumps(
        {
            "subject": subject,
            "caller": str(identity.user_id),
            "kind": identity.kind.value,
            "body": request.model_dump(mode="json", exclude_defaults=True),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Key:
    """One request's key: where its row is, and what it holds."""

    org_id: UUID
    subject: str
    key: str
    request_hash: str

    @property
    def params(self) -> dict[str, Any]:
        return {"org_id": self.org_id, "subject": self.subject, "key_hash": key_hash(self.key)}


# A row older than the TTL that the prune job has not removed yet counts as absent: the claim
# takes it over (the conflicting row is locked, so two claims of an expired key cannot both win).
_CLAIM = text(
    "INSERT INTO idempotency_keys (org_id, subject, key_hash, request_hash) "
    "VALUES (:org_id, :subject, :key_hash, :request_hash) "
    "ON CONFLICT (org_id, subject, key_hash) DO UPDATE SET request_hash = excluded.request_hash, "
    "reply_headers = NULL, reply_body = NULL, created_at = now() "
    "WHERE idempotency_keys.created_at < now() - make_interval(hours => :ttl) RETURNING 1"
)
_FIND = text(
    "SELECT request_hash, reply_headers, reply_body FROM idempotency_keys "
    "WHERE org_id = :org_id AND subject = :subject AND key_hash = :key_hash"
)
_RECORD = text(
    "UPDATE idempotency_keys SET reply_headers = CAST(:headers AS jsonb), reply_body = :body "
    "WHERE org_id = :org_id AND subject = :subject AND key_hash = :key_hash"
)
_RELEASE = text(
    "DELETE FROM idempotency_keys "
    "WHERE org_id = :org_id AND subject = :subject AND key_hash = :key_hash "
    "AND reply_headers IS NULL"
)
_PRUNE = text(
    "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => :ttl)"
)


class Pending(Exception):
    """The key's first request (a handler with its own transactions) has no reply yet."""


async def claim(conn: AsyncConnection, key: Key) -> bool:
    """Take the key for this request (True), or find it taken (False). Waits while a
    transaction that claimed it is open."""
    found = await conn.execute(
        _CLAIM, key.params | {"request_hash": key.request_hash, "ttl": TTL_HOURS}
    )
    return found.first() is not None


async def stored(conn: AsyncConnection, key: Key) -> Reply | None:
    """The reply the key's first request got; ``idempotency_key_reused`` for another request;
    ``Pending`` while the first has none yet; None when there is no row (it was released)."""
    row = (await conn.execute(_FIND, key.params)).first()
    if row is None:
        return None
    if row.request_hash != key.request_hash:
        raise ServiceError(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "this Idempotency-Key was used with a different request in the last "
            f"{TTL_HOURS} hours; send that same request again to get its answer, or use a new "
            "key for a new request",
        )
    if row.reply_headers is None:
        raise Pending
    replayed = dict(row.reply_headers) | {Headers.REPLAYED: "true"}
    return unseal(key.key, bytes(row.reply_body)), replayed


async def record(conn: AsyncConnection, key: Key, reply: Reply) -> None:
    """Store the reply of the key's request."""
    body, headers = reply
    await conn.execute(
        _RECORD, key.params | {"headers": json.dumps(headers), "body": seal(key.key, body)}
    )


async def release(conn: AsyncConnection, key: Key) -> None:
    """Forget a pending claim (its request failed), so that the key may be used again."""
    await conn.execute(_RELEASE, key.params)


jobs: JobRouter[object] = JobRouter()


@jobs.periodic(PRUNE_JOB, every=PRUNE_EVERY)
async def prune(ctx: JobContext[object]) -> int:
    """Forget keys older than ``TTL_HOURS``."""
    async with ctx.transaction() as conn:
        removed = int((await conn.execute(_PRUNE, {"ttl": TTL_HOURS})).rowcount)
    if removed:
        log.info("forgot %d idempotency keys", removed)
    return removed
