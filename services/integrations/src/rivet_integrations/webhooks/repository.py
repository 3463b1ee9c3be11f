"""Webhook queries: store and load, decide nothing."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, delete, func, insert, or_, select, text, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts.integrations import DeliveryStatus

from ..tables import webhook_attempts, webhook_deliveries, webhook_endpoints, webhook_events

E = webhook_endpoints
D = webhook_deliveries
A = webhook_attempts
V = webhook_events

# --- endpoints ------------------------------------------------------------------------------


async def insert_endpoint(conn: AsyncConnection, values: dict[str, Any]) -> RowMapping:
    row: RowMapping = (await conn.execute(insert(E).values(**values).returning(E))).mappings().one()
    return row


async def get_endpoint(
    conn: AsyncConnection, org_id: UUID, endpoint_id: UUID, *, lock: bool = False
) -> RowMapping | None:
    query = select(E).where(E.c.org_id == org_id, E.c.id == endpoint_id)
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).mappings().one_or_none()


async def list_endpoints(
    conn: AsyncConnection, org_id: UUID, after: UUID | None, limit: int
) -> list[RowMapping]:
    query = select(E).where(E.c.org_id == org_id)
    if after is not None:
        mark = select(E.c.created_at).where(E.c.org_id == org_id, E.c.id == after)
        query = query.where(
            or_(
                E.c.created_at > mark.scalar_subquery(),
                and_(E.c.created_at == mark.scalar_subquery(), E.c.id > after),
            )
        )
    query = query.order_by(E.c.created_at, E.c.id).limit(limit)
    return list((await conn.execute(query)).mappings())


async def update_endpoint(
    conn: AsyncConnection, endpoint_id: UUID, values: dict[str, Any]
) -> RowMapping:
    query = (
        update(E).where(E.c.id == endpoint_id).values(**values, updated_at=func.now()).returning(E)
    )
    row: RowMapping = (await conn.execute(query)).mappings().one()
    return row


async def delete_endpoint(conn: AsyncConnection, org_id: UUID, endpoint_id: UUID) -> bool:
    result = await conn.execute(delete(E).where(E.c.org_id == org_id, E.c.id == endpoint_id))
    return bool(result.rowcount)


@dataclass(frozen=True)
class Counts:
    pending: int = 0
    delivered: int = 0
    failed: int = 0


async def counts(conn: AsyncConnection, endpoint_ids: Sequence[UUID]) -> dict[UUID, Counts]:
    if not endpoint_ids:
        return {}
    query = (
        select(D.c.endpoint_id, D.c.status, func.count())
        .where(D.c.endpoint_id.in_(endpoint_ids))
        .group_by(D.c.endpoint_id, D.c.status)
    )
    found: dict[UUID, dict[str, int]] = {}
    for endpoint_id, status, n in await conn.execute(query):
        found.setdefault(endpoint_id, {})[status] = int(n)
    return {k: Counts(**v) for k, v in found.items()}


async def enabled_endpoints(conn: AsyncConnection, org_ids: Sequence[UUID]) -> list[RowMapping]:
    query = select(E.c.id, E.c.org_id, E.c.event_types).where(E.c.org_id.in_(org_ids), E.c.enabled)
    return list((await conn.execute(query)).mappings())


# --- events and deliveries --------------------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    event_id: UUID
    org_id: UUID
    event_type: str
    occurred_at: datetime
    body: bytes


_STORE_EVENTS = text(
    """
    INSERT INTO webhook_events (event_id, org_id, event_type, occurred_at, body)
    SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:orgs AS uuid[]), CAST(:types AS text[]),
                         CAST(:times AS timestamptz[]), CAST(:bodies AS bytea[]))
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
    """
)
_QUEUE = text(
    """
    INSERT INTO webhook_deliveries (id, endpoint_id, event_id, status, next_attempt_at)
    SELECT gen_random_uuid(), v.endpoint_id, v.event_id, 'pending', now()
    FROM unnest(CAST(:endpoints AS uuid[]), CAST(:events AS uuid[])) AS v(endpoint_id, event_id)
    ON CONFLICT (endpoint_id, event_id) DO NOTHING
    """
)
"""One statement of arrays whatever the batch's size: compiled and prepared once (a
multi-row VALUES is a new statement for every number of rows)."""


async def store_events(conn: AsyncConnection, events: Sequence[EventRow]) -> set[UUID]:
    """The events stored now; one stored before (a redelivery) is not returned."""
    if not events:
        return set()
    params = {
        "ids": [e.event_id for e in events],
        "orgs": [e.org_id for e in events],
        "types": [e.event_type for e in events],
        "times": [e.occurred_at for e in events],
        "bodies": [e.body for e in events],
    }
    return set((await conn.execute(_STORE_EVENTS, params)).scalars())


async def queue(conn: AsyncConnection, pairs: Sequence[tuple[UUID, UUID]]) -> int:
    """A pending delivery for each (endpoint, event), due now; one queued before is left."""
    if not pairs:
        return 0
    params = {"endpoints": [p[0] for p in pairs], "events": [p[1] for p in pairs]}
    return int((await conn.execute(_QUEUE, params)).rowcount or 0)


_REQUEUE = {
    "status": DeliveryStatus.PENDING.value,
    "tries": 0,
    "next_attempt_at": func.now(),
    "lease_until": None,
    "queued_at": func.now(),
    "updated_at": func.now(),
}


async def requeue(conn: AsyncConnection, endpoint_id: UUID, delivery_id: UUID) -> bool:
    """Due again now, with the whole retry schedule ahead (a delivery being sent keeps its
    lease: it is not sent twice at once)."""
    query = (
        update(D)
        .where(D.c.endpoint_id == endpoint_id, D.c.id == delivery_id)
        .values({k: v for k, v in _REQUEUE.items() if k != "lease_until"})
    )
    return bool((await conn.execute(query)).rowcount)


_REPLAY = text(
    """
    INSERT INTO webhook_deliveries AS d (id, endpoint_id, event_id, status, next_attempt_at)
    SELECT gen_random_uuid(), :endpoint_id, v.event_id, 'pending', now()
    FROM webhook_events v
    WHERE v.org_id = :org_id AND v.occurred_at >= :since AND v.occurred_at < :until
      AND v.event_type = ANY(:types)
    ON CONFLICT (endpoint_id, event_id) DO UPDATE
       SET status = 'pending', tries = 0, next_attempt_at = now(), queued_at = now(),
           updated_at = now()
    """
)


async def replay(
    conn: AsyncConnection,
    endpoint_id: UUID,
    org_id: UUID,
    types: Sequence[str],
    since: datetime,
    until: datetime,
) -> int:
    params = {
        "endpoint_id": endpoint_id,
        "org_id": org_id,
        "types": list(types),
        "since": since,
        "until": until,
    }
    return int((await conn.execute(_REPLAY, params)).rowcount or 0)


async def event_types_between(
    conn: AsyncConnection, org_id: UUID, since: datetime, until: datetime
) -> list[str]:
    query = (
        select(V.c.event_type)
        .where(V.c.org_id == org_id, V.c.occurred_at >= since, V.c.occurred_at < until)
        .distinct()
    )
    return list((await conn.execute(query)).scalars())


# --- the delivery job ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    delivery_id: UUID
    endpoint_id: UUID
    event_id: UUID
    event_type: str
    body: bytes
    url: str
    keys: tuple[str, ...]
    tries: int
    attempts: int
    queued_at: datetime


_DUE_ENDPOINTS = text(
    """
    SELECT e.id FROM webhook_endpoints e
    CROSS JOIN LATERAL (
        SELECT 1 FROM webhook_deliveries d
        WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.next_attempt_at <= now()
          AND (d.lease_until IS NULL OR d.lease_until <= now())
        LIMIT 1) due
    WHERE e.enabled
    ORDER BY e.id
    LIMIT :limit
    FOR NO KEY UPDATE OF e SKIP LOCKED
    """
)
_IN_FLIGHT = text(
    """
    SELECT endpoint_id, count(*) FROM webhook_deliveries
    WHERE endpoint_id = ANY(:ids) AND status = 'pending' AND lease_until IS NOT NULL
      AND lease_until > now()
    GROUP BY endpoint_id
    """
)
_DUE = text(
    """
    SELECT d.id, d.endpoint_id, d.next_attempt_at
    FROM unnest(CAST(:ids AS uuid[]), CAST(:rooms AS int[])) AS x(endpoint_id, room)
    CROSS JOIN LATERAL (
        SELECT d.id, d.endpoint_id, d.next_attempt_at FROM webhook_deliveries d
        WHERE d.endpoint_id = x.endpoint_id AND d.status = 'pending'
          AND d.next_attempt_at <= now() AND (d.lease_until IS NULL OR d.lease_until <= now())
        ORDER BY d.next_attempt_at  -- the index's order: no sort of the endpoint's backlog
        LIMIT x.room
        FOR NO KEY UPDATE OF d SKIP LOCKED) d
    """
)
"""Each endpoint's due deliveries in order, as many as it has room for: an index range per
endpoint (``webhook_deliveries_endpoint_due``), never the whole backlog."""
_LEASE = text(
    """
    UPDATE webhook_deliveries d
       SET lease_until = now() + make_interval(secs => :lease), attempts = d.attempts + 1
      FROM webhook_events v, webhook_endpoints e
     WHERE d.id = ANY(:ids) AND v.event_id = d.event_id AND e.id = d.endpoint_id
    RETURNING d.id, d.endpoint_id, d.event_id, v.event_type, v.body, e.url, e.secret,
              CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret END
                AS previous_secret,
              d.tries, d.attempts, d.queued_at
    """
)


async def claim(
    conn: AsyncConnection, *, limit: int, per_endpoint: int, lease: float, scan: int | None = None
) -> list[Claimed]:
    """At most ``limit`` due deliveries of enabled endpoints (of the first ``scan`` endpoints
    with due deliveries; default ``limit``), leased to this replica for ``lease`` seconds: at
    most ``per_endpoint`` of an endpoint in flight across replicas (the endpoints' rows are
    locked, skipping those another replica is claiming for, so two claims never count the
    same endpoint's flights at once)."""
    found = await conn.execute(_DUE_ENDPOINTS, {"limit": max(scan or limit, limit)})
    endpoints = list(found.scalars())
    if not endpoints:
        return []
    flying: dict[UUID, int] = {
        endpoint_id: int(n) for endpoint_id, n in await conn.execute(_IN_FLIGHT, {"ids": endpoints})
    }
    room = {e: per_endpoint - int(flying.get(e, 0)) for e in endpoints}
    open_ = [e for e in endpoints if room[e] > 0]
    if not open_:
        return []
    due = list(await conn.execute(_DUE, {"ids": open_, "rooms": [room[e] for e in open_]}))
    due.sort(key=lambda r: (r.next_attempt_at, r.id))  # the longest waiting first
    picked = [r.id for r in due[:limit]]
    if not picked:
        return []
    rows = await conn.execute(_LEASE, {"ids": picked, "lease": lease})
    return [
        Claimed(
            r.id,
            r.endpoint_id,
            r.event_id,
            r.event_type,
            bytes(r.body),
            r.url,
            (r.secret, r.previous_secret) if r.previous_secret else (r.secret,),
            r.tries,
            r.attempts,
            r.queued_at,
        )
        for r in rows.mappings()
    ]


@dataclass(frozen=True)
class Outcome:
    """What an attempt changes in its delivery: ``status`` and ``tries``; ``delay``: seconds
    until the next attempt (None: ``next_attempt_at`` is left)."""

    delivery_id: UUID
    status: str
    tries: int
    delay: float | None


_SETTLE = text(
    """
    UPDATE webhook_deliveries d
       SET status = v.status, tries = v.tries, lease_until = NULL, updated_at = now(),
           next_attempt_at = CASE WHEN v.delay IS NULL THEN d.next_attempt_at
                                  ELSE now() + make_interval(secs => v.delay) END
      FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[]), CAST(:tries AS int[]),
                  CAST(:delays AS float8[])) AS v(id, status, tries, delay)
     WHERE d.id = v.id
    RETURNING d.id
    """
)
_RECORD_ATTEMPTS = text(
    """
    INSERT INTO webhook_attempts (delivery_id, endpoint_id, attempt, attempted_at, status_code,
                                  duration_ms, error, delivered)
    SELECT * FROM unnest(CAST(:deliveries AS uuid[]), CAST(:endpoints AS uuid[]),
                         CAST(:attempts AS int[]), CAST(:times AS timestamptz[]),
                         CAST(:codes AS int[]), CAST(:durations AS int[]),
                         CAST(:errors AS text[]), CAST(:delivered AS boolean[]))
    """
)
_LOCK_ENDPOINTS = text(
    """
    SELECT id, org_id, url, enabled, last_success_at, failing_since
    FROM webhook_endpoints WHERE id = ANY(:ids) ORDER BY id FOR NO KEY UPDATE
    """
)
_SUCCEEDED = text(
    """
    UPDATE webhook_endpoints SET last_success_at = now(), failing_since = NULL
    WHERE id = ANY(:ids)
    """
)


async def settle_many(conn: AsyncConnection, outcomes: Sequence[Outcome]) -> set[UUID]:
    """Store the deliveries' states after their attempts, in one statement; the ids of those
    still there (one deleted meanwhile, with its endpoint, is not)."""
    if not outcomes:
        return set()
    params = {
        "ids": [o.delivery_id for o in outcomes],
        "statuses": [o.status for o in outcomes],
        "tries": [o.tries for o in outcomes],
        "delays": [o.delay for o in outcomes],
    }
    return set((await conn.execute(_SETTLE, params)).scalars())


async def record_attempts(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """The delivery log's rows (keys: the columns of ``webhook_attempts``), in one statement."""
    if not rows:
        return
    columns = {
        "deliveries": "delivery_id",
        "endpoints": "endpoint_id",
        "attempts": "attempt",
        "times": "attempted_at",
        "codes": "status_code",
        "durations": "duration_ms",
        "errors": "error",
        "delivered": "delivered",
    }
    params = {name: [r[column] for r in rows] for name, column in columns.items()}
    await conn.execute(_RECORD_ATTEMPTS, params)


async def lock_endpoints(
    conn: AsyncConnection, endpoint_ids: Sequence[UUID]
) -> dict[UUID, dict[str, Any]]:
    """The endpoints' rows, locked in the order of their ids (two replicas settling for the
    same endpoints wait for each other instead of deadlocking); a deleted one is missing.
    ``NO KEY UPDATE``, as the claim's: the exporter's inserts of deliveries (their foreign key
    takes a key-share lock on the endpoint) go on beside it instead of waiting or deadlocking."""
    if not endpoint_ids:
        return {}
    rows = await conn.execute(_LOCK_ENDPOINTS, {"ids": sorted(set(endpoint_ids))})
    return {r["id"]: dict(r) for r in rows.mappings()}


async def succeeded(conn: AsyncConnection, endpoint_ids: Sequence[UUID]) -> None:
    """The endpoints answered 2xx: not failing (any more)."""
    if endpoint_ids:
        await conn.execute(_SUCCEEDED, {"ids": sorted(set(endpoint_ids))})


async def mark_endpoint(conn: AsyncConnection, endpoint_id: UUID, values: dict[str, Any]) -> None:
    await conn.execute(update(E).where(E.c.id == endpoint_id).values(**values))


# --- the delivery log -----------------------------------------------------------------------------


async def attempts_page(
    conn: AsyncConnection, endpoint_id: UUID, before: int | None, limit: int
) -> list[RowMapping]:
    query = (
        select(
            A.c.id,
            A.c.delivery_id,
            D.c.event_id,
            V.c.event_type,
            A.c.attempt,
            A.c.attempted_at,
            A.c.status_code,
            A.c.duration_ms,
            A.c.error,
            A.c.delivered,
            D.c.status.label("delivery_status"),
        )
        .join(D, D.c.id == A.c.delivery_id)
        .join(V, V.c.event_id == D.c.event_id)
        .where(A.c.endpoint_id == endpoint_id)
    )
    if before is not None:
        query = query.where(A.c.id < before)
    query = query.order_by(A.c.id.desc()).limit(limit)
    return list((await conn.execute(query)).mappings())


# --- housekeeping and gauges --------------------------------------------------------------------


async def prune(conn: AsyncConnection, days: int) -> int:
    """Events older than ``days`` go with their deliveries and attempts, unless one of their
    deliveries is still pending."""
    query = text(
        """
        DELETE FROM webhook_events v
        WHERE v.received_at < now() - make_interval(days => :days)
          AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                          WHERE d.event_id = v.event_id AND d.status = 'pending')
        """
    )
    return int((await conn.execute(query, {"days": days})).rowcount or 0)


async def backlog(conn: AsyncConnection) -> tuple[int, float]:
    """Pending deliveries of enabled endpoints, and how long the most overdue one has been
    due (seconds; 0 when none is due)."""
    query = text(
        """
        SELECT count(*),
               coalesce(extract(epoch FROM now() - min(d.next_attempt_at)
                                FILTER (WHERE d.next_attempt_at <= now())), 0)
        FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.status = 'pending' AND e.enabled
        """
    )
    pending, overdue = (await conn.execute(query)).one()
    return int(pending), float(overdue)
