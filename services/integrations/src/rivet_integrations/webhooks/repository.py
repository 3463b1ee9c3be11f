"""Webhook queries: store and load, decide nothing."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, case, delete, func, insert, or_, select, text, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts.integrations import DeliveryStatus

from ..tables import (
    webhook_attempts,
    webhook_cursors,
    webhook_deliveries,
    webhook_endpoints,
    webhook_events,
)
from . import rules

E = webhook_endpoints
D = webhook_deliveries
A = webhook_attempts
V = webhook_events
C = webhook_cursors

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
    """An endpoint's delivery rows by status, what it delivered from the stream, and where
    its cursor is (None: not positioned yet)."""

    pending: int = 0
    delivered: int = 0
    failed: int = 0
    from_stream: int = 0
    stream_seq: int | None = None


async def counts(conn: AsyncConnection, endpoint_ids: Sequence[UUID]) -> dict[UUID, Counts]:
    if not endpoint_ids:
        return {}
    query = (
        select(D.c.endpoint_id, D.c.status, func.count())
        .where(D.c.endpoint_id.in_(endpoint_ids))
        .group_by(D.c.endpoint_id, D.c.status)
    )
    found: dict[UUID, dict[str, Any]] = {}
    for endpoint_id, status, n in await conn.execute(query):
        found.setdefault(endpoint_id, {})[status] = int(n)
    cursors = select(C.c.endpoint_id, C.c.delivered, C.c.stream_seq).where(
        C.c.endpoint_id.in_(endpoint_ids)
    )
    for endpoint_id, delivered, seq in await conn.execute(cursors):
        found.setdefault(endpoint_id, {}).update(from_stream=int(delivered), stream_seq=seq)
    return {k: Counts(**v) for k, v in found.items()}


# --- stream cursors ---------------------------------------------------------------------------


async def insert_cursor(conn: AsyncConnection, endpoint_id: UUID, seq: int | None) -> None:
    await conn.execute(insert(C).values(endpoint_id=endpoint_id, stream_seq=seq))


async def position_cursor(conn: AsyncConnection, endpoint_id: UUID, seq: int | None) -> None:
    """Start the endpoint's cursor after ``seq`` (None: at the stream's end when next owned);
    its owner, if any, lets it go (the owner's next flush finds it is no longer the owner)."""
    await conn.execute(
        update(C)
        .where(C.c.endpoint_id == endpoint_id)
        .values(stream_seq=seq, owner=None, lease_until=None, updated_at=func.now())
    )


@dataclass(frozen=True)
class Owned:
    """An endpoint this replica sends for, as it is now."""

    endpoint_id: UUID
    org_id: UUID
    url: str
    event_types: tuple[str, ...]
    keys: tuple[str, ...]
    stream_seq: int | None
    taken: bool
    """Taken by this statement (not renewed): its cursor is read from the database."""


_OWN = text(
    """
    WITH renewed AS (
        UPDATE webhook_cursors c SET lease_until = now() + make_interval(secs => :lease)
          FROM webhook_endpoints e
         WHERE c.owner = :owner AND c.lease_until > now() AND e.id = c.endpoint_id
           AND e.enabled AND e.id = ANY(:held)
        RETURNING c.endpoint_id
    ), free AS (
        SELECT c.endpoint_id FROM webhook_cursors c
          JOIN webhook_endpoints e ON e.id = c.endpoint_id
         WHERE e.enabled AND (c.owner IS NULL OR c.lease_until IS NULL OR c.lease_until <= now())
           AND NOT c.endpoint_id = ANY(:held)
         ORDER BY c.endpoint_id
         LIMIT :limit
           FOR NO KEY UPDATE OF c SKIP LOCKED
    ), taken AS (
        UPDATE webhook_cursors c
           SET owner = :owner, lease_until = now() + make_interval(secs => :lease),
               updated_at = now()
          FROM free WHERE c.endpoint_id = free.endpoint_id
        RETURNING c.endpoint_id, c.stream_seq
    )
    SELECT e.id, e.org_id, e.url, e.event_types, e.secret,
           CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret END
             AS previous_secret,
           t.stream_seq, t.endpoint_id IS NOT NULL AS taken
      FROM webhook_endpoints e
      LEFT JOIN taken t ON t.endpoint_id = e.id
     WHERE e.id IN (SELECT endpoint_id FROM renewed UNION ALL SELECT endpoint_id FROM taken)
    """
)


async def own(
    conn: AsyncConnection, owner: str, held: Sequence[UUID], lease: float, limit: int
) -> list[Owned]:
    """Renew this replica's lease on the endpoints it sends for (``held``; one disabled,
    deleted or whose lease ran out is not renewed) and take up to ``limit`` enabled endpoints
    nobody holds; answers both, as they are now."""
    params = {"owner": owner, "held": list(held), "lease": lease, "limit": limit}
    rows = await conn.execute(_OWN, params)
    return [
        Owned(
            r.id,
            r.org_id,
            r.url,
            tuple(r.event_types),
            (r.secret, r.previous_secret) if r.previous_secret else (r.secret,),
            r.stream_seq,
            bool(r.taken),
        )
        for r in rows
    ]


_SHARE = text(
    """
    WITH seen AS (
        INSERT INTO webhook_replicas (owner, seen_until)
        VALUES (:owner, now() + make_interval(secs => :lease))
        ON CONFLICT (owner) DO UPDATE SET seen_until = excluded.seen_until
        RETURNING owner
    ), gone AS (
        DELETE FROM webhook_replicas WHERE seen_until < now() - interval '1 hour'
    )
    SELECT (SELECT count(*) FROM webhook_endpoints WHERE enabled),
           (SELECT count(*) FROM webhook_replicas
             WHERE seen_until > now() AND owner <> :owner) + 1
    """
)


async def share(conn: AsyncConnection, owner: str, lease: float) -> int:
    """Record this replica as alive for ``lease`` seconds; answer how many endpoints it should
    hold: the enabled endpoints divided among the live replicas (rounded up)."""
    endpoints, replicas = (await conn.execute(_SHARE, {"owner": owner, "lease": lease})).one()
    return -(-int(endpoints) // max(int(replicas), 1))


async def leave(conn: AsyncConnection, owner: str) -> None:
    """This replica stops: not counted among the live ones any more."""
    await conn.execute(text("DELETE FROM webhook_replicas WHERE owner = :owner"), {"owner": owner})


_ADVANCE = text(
    """
    UPDATE webhook_cursors c
       SET stream_seq = greatest(coalesce(c.stream_seq, 0), v.seq),
           delivered = c.delivered + v.delivered, updated_at = now()
      FROM unnest(CAST(:ids AS uuid[]), CAST(:seqs AS bigint[]), CAST(:delivered AS bigint[]))
           AS v(endpoint_id, seq, delivered)
     WHERE c.endpoint_id = v.endpoint_id AND c.owner = :owner
    RETURNING c.endpoint_id
    """
)


async def advance(
    conn: AsyncConnection, owner: str, cursors: dict[UUID, tuple[int, int]]
) -> set[UUID]:
    """Store the cursors (endpoint: (sequence, delivered since the last flush)) of the
    endpoints this replica still owns; answers those."""
    if not cursors:
        return set()
    ids = sorted(cursors)
    params = {
        "owner": owner,
        "ids": ids,
        "seqs": [cursors[i][0] for i in ids],
        "delivered": [cursors[i][1] for i in ids],
    }
    return set((await conn.execute(_ADVANCE, params)).scalars())


async def release(conn: AsyncConnection, owner: str, endpoint_ids: Sequence[UUID]) -> None:
    """Let other replicas take these endpoints at once."""
    if endpoint_ids:
        await conn.execute(
            update(C)
            .where(C.c.owner == owner, C.c.endpoint_id.in_(endpoint_ids))
            .values(owner=None, lease_until=None)
        )


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
    INSERT INTO webhook_deliveries AS d (id, endpoint_id, event_id, status, tries, attempts,
                                         next_attempt_at)
    SELECT v.id, v.endpoint_id, v.event_id, 'pending', v.tries, v.attempts,
           now() + make_interval(secs => v.delay)
    FROM unnest(CAST(:ids AS uuid[]), CAST(:endpoints AS uuid[]), CAST(:events AS uuid[]),
                CAST(:tries AS int[]), CAST(:attempts AS int[]), CAST(:delays AS float8[]))
         AS v(id, endpoint_id, event_id, tries, attempts, delay)
    ON CONFLICT (endpoint_id, event_id) DO UPDATE
       SET status = 'pending', tries = excluded.tries, attempts = d.attempts + excluded.tries,
           next_attempt_at = excluded.next_attempt_at, queued_at = now(), updated_at = now()
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


@dataclass(frozen=True)
class Queue:
    """A delivery row to write: due in ``delay`` seconds, after ``tries`` failed attempts
    (0: a redelivery or replay, due now) of ``attempts`` made already (the log's numbering)."""

    endpoint_id: UUID
    event_id: UUID
    tries: int = 0
    attempts: int = 0
    delay: float = 0.0


async def queue(conn: AsyncConnection, items: Sequence[Queue]) -> int:
    """A pending delivery for each item (id: ``rules.delivery_id``); one there before is
    pending again, with the whole retry schedule ahead."""
    if not items:
        return 0
    params = {
        "ids": [rules.delivery_id(i.endpoint_id, i.event_id) for i in items],
        "endpoints": [i.endpoint_id for i in items],
        "events": [i.event_id for i in items],
        "tries": [i.tries for i in items],
        "attempts": [i.attempts for i in items],
        "delays": [i.delay for i in items],
    }
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
                                  duration_ms, error, delivered, event_id, event_type,
                                  stream_seq)
    SELECT * FROM unnest(CAST(:deliveries AS uuid[]), CAST(:endpoints AS uuid[]),
                         CAST(:attempts AS int[]), CAST(:times AS timestamptz[]),
                         CAST(:codes AS int[]), CAST(:durations AS int[]),
                         CAST(:errors AS text[]), CAST(:delivered AS boolean[]),
                         CAST(:events AS uuid[]), CAST(:types AS text[]),
                         CAST(:seqs AS bigint[]))
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


_SUCCEEDED_RECENT = text(
    """
    UPDATE webhook_endpoints SET last_success_at = now(), failing_since = NULL
    WHERE id = ANY(:ids) AND (failing_since IS NOT NULL OR last_success_at IS NULL
                              OR last_success_at < now() - interval '1 second')
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
    """The delivery log's rows (keys: the columns of ``webhook_attempts``; ``stream_seq`` may
    be missing), in one statement whatever their number."""
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
        "events": "event_id",
        "types": "event_type",
        "seqs": "stream_seq",
    }
    params = {name: [r.get(column) for r in rows] for name, column in columns.items()}
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


async def succeeded(
    conn: AsyncConnection, endpoint_ids: Sequence[UUID], *, recent: bool = False
) -> None:
    """The endpoints answered 2xx: not failing (any more). ``recent``: leave the rows of those
    not failing whose last success was stored less than a second ago (the stream's flushes:
    a write of the row every flush would be most of their cost)."""
    if not endpoint_ids:
        return
    statement = _SUCCEEDED_RECENT if recent else _SUCCEEDED
    await conn.execute(statement, {"ids": sorted(set(endpoint_ids))})


def failing_since(attempted_at: datetime) -> ColumnElement[Any]:
    """The endpoint's ``failing_since`` after a failed attempt that started at
    ``attempted_at``: now, unless it was failing already, or answered 2xx after this attempt
    started (another replica's, or a later one's outcome stored first)."""
    return case(
        (E.c.last_success_at > attempted_at, E.c.failing_since),
        else_=func.coalesce(E.c.failing_since, func.now()),
    )


async def mark_endpoint(conn: AsyncConnection, endpoint_id: UUID, values: dict[str, Any]) -> None:
    await conn.execute(update(E).where(E.c.id == endpoint_id).values(**values))


# --- the delivery log -----------------------------------------------------------------------------


async def attempts_page(
    conn: AsyncConnection, endpoint_id: UUID, before: int | None, limit: int
) -> list[RowMapping]:
    """An attempt from the stream whose delivery has no row was its delivery's only one, and
    it succeeded (a failed one writes the row in the same transaction)."""
    status = func.coalesce(D.c.status, DeliveryStatus.DELIVERED.value)
    query = (
        select(
            A.c.id,
            A.c.delivery_id,
            A.c.event_id,
            A.c.event_type,
            A.c.attempt,
            A.c.attempted_at,
            A.c.status_code,
            A.c.duration_ms,
            A.c.error,
            A.c.delivered,
            status.label("delivery_status"),
        )
        .outerjoin(D, D.c.id == A.c.delivery_id)
        .where(A.c.endpoint_id == endpoint_id)
    )
    if before is not None:
        query = query.where(A.c.id < before)
    query = query.order_by(A.c.id.desc()).limit(limit)
    return list((await conn.execute(query)).mappings())


async def logged(conn: AsyncConnection, endpoint_id: UUID, delivery_id: UUID) -> RowMapping | None:
    """What the log knows of a delivery: its event, where it is in the organization's stream,
    how many attempts it had."""
    query = (
        select(
            A.c.event_id,
            func.max(A.c.stream_seq).label("stream_seq"),
            func.max(A.c.attempt).label("attempts"),
        )
        .where(A.c.endpoint_id == endpoint_id, A.c.delivery_id == delivery_id)
        .group_by(A.c.event_id)
    )
    return (await conn.execute(query)).mappings().first()


async def has_delivery(conn: AsyncConnection, endpoint_id: UUID, delivery_id: UUID) -> bool:
    query = select(D.c.id).where(D.c.endpoint_id == endpoint_id, D.c.id == delivery_id)
    return (await conn.execute(query)).first() is not None


# --- housekeeping and gauges --------------------------------------------------------------------


async def prune(conn: AsyncConnection, days: int) -> int:
    """Attempts older than ``days``; events older than that go with their deliveries, unless
    one of them is still pending."""
    attempts = text(
        "DELETE FROM webhook_attempts WHERE attempted_at < now() - make_interval(days => :days)"
    )
    events = text(
        """
        DELETE FROM webhook_events v
        WHERE v.received_at < now() - make_interval(days => :days)
          AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                          WHERE d.event_id = v.event_id AND d.status = 'pending')
        """
    )
    pruned = (await conn.execute(attempts, {"days": days})).rowcount or 0
    return int(pruned + ((await conn.execute(events, {"days": days})).rowcount or 0))


_BACKLOG = text(
    """
    SELECT (SELECT count(*) FROM webhook_deliveries d
             WHERE d.status = 'pending'
               AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = d.endpoint_id
                           AND e.enabled)),
           coalesce((SELECT extract(epoch FROM now() - d.next_attempt_at)
                       FROM webhook_deliveries d JOIN webhook_endpoints e
                         ON e.id = d.endpoint_id AND e.enabled
                      WHERE d.status = 'pending' AND d.next_attempt_at <= now()
                        AND (d.lease_until IS NULL OR d.lease_until <= now())
                      ORDER BY d.next_attempt_at LIMIT 1), 0)
    """
)
"""The most overdue delivery by the due index's order (the first few entries), not a scan of
every pending row; the count reads the pending rows only (the partial index), which the stream
cursors keep to the failing ones."""


async def backlog(conn: AsyncConnection) -> tuple[int, float]:
    """Delivery rows of enabled endpoints waiting (due or retrying later), and how long the
    most overdue one has been due (seconds; 0 when none is due)."""
    pending, overdue = (await conn.execute(_BACKLOG)).one()
    return int(pending), float(overdue)
