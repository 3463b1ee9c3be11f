"""Idempotent creation: what makes two creates "the same request" under one key.

Pure rules with no I/O; ``service`` stores the hash with the order and compares it when the
key comes again.
"""

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from rivet_contracts import ErrorCode, ServiceError
from rivet_contracts.workorders import CreateWorkOrder


def _plain(value: Any) -> str:
    """JSON text of what ``json`` does not know: ids, dates, times (the same instant in any
    time zone is the same request)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


def request_hash(req: CreateWorkOrder) -> str:
    """SHA-256 of the request without its key; fields left at their defaults are left out (so
    ``"priority": "medium"`` sent or not is the same request)."""
    body = req.model_dump(exclude={"idempotency_key"}, exclude_defaults=True)
    canonical = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_same_request(
    req: CreateWorkOrder, stored_hash: str | None, order_id: UUID, number: str
) -> None:
    """A key used before must come with the request it was first used with."""
    if stored_hash != request_hash(req):
        raise ServiceError(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            f"this idempotency key opened work order {number} with a different request; send "
            "that same request again to get the order, or use a new key for a new order",
            details={"work_order_id": str(order_id), "number": number},
        )
