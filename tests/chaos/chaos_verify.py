"""After the faults: wait until the system converges, then prove nothing was lost or doubled.

The test reads each service's own schema (the run's database is private) and every message
of the JetStream streams:

- **requests**: every acknowledged asset, update, work order and transition is in the
  database; an entity changed no more often than acknowledged plus possibly-applied (5xx or
  unknown) attempts allow; nothing refused with a 4xx was applied;
- **events**: each stream holds exactly one message per change recorded in the database (by
  subject: ``equipment.created`` = assets, ``equipment.updated`` = sum of version bumps,
  ``wo.created`` = work orders, ``wo.status_changed`` = status entries of the timelines,
  ``attachment.added`` = attachments, ``attachment.removed`` = removed ones,
  ``wo.attachment_added``/``_removed`` = the orders' timeline entries of files); no
  event id appears twice; ``wo.overdue`` once for each deadline the work-order service marked
  as announced, none for any other (and the run converges only once every open order past due
  is marked); every durable consumer's inbox holds exactly the event ids of its
  subject (plus its dead letters); the inboxes have no duplicate rows;
- **effects**: the work-order service's equipment replica equals the registry (id, version,
  manufacturer, status, location); its rollups (counts by status and priority, daily flows,
  assets by manufacturer and status, counted versions) equal what the orders and assets say.
Anything short is *lost*, anything over is *duplicated*.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import nats
from chaos_cluster import SCHEMAS, Cluster
from chaos_workload import Workload
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import ServiceUnavailableError

from rivet_devstack.testing.plugin import all_streams

SERVICE_STREAMS = ("USERS", "EQUIPMENT", "WORKORDERS", "NAMEPLATES")
OPTIONAL_SCHEMAS = ("maintenance", "integrations", "attachments")
"""Schemas of services the run may not have (checked where they exist)."""
OPTIONAL_STREAMS = ("MAINTENANCE", "READINGS", "INTEGRATIONS", "ATTACHMENTS")
EXPORTER = "integrations-export-"
"""The exporter's durable consumers keep no inbox: chaos_webhooks checks the organizations'
streams they fill."""


async def schemas_of(db: asyncpg.Connection) -> tuple[str, ...]:
    """The schemas with an outbox in this run: ``SCHEMAS`` and those of the optional
    services that ran."""
    present = [
        schema
        for schema in OPTIONAL_SCHEMAS
        if await db.fetchval("SELECT to_regclass($1)", f"{schema}.outbox") is not None
    ]
    return (*SCHEMAS, *present)


async def streams_of(js: JetStreamContext) -> tuple[str, ...]:
    names = {info.config.name for info in await all_streams(js)}
    return (*SERVICE_STREAMS, *(name for name in OPTIONAL_STREAMS if name in names))


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` one token, ``>`` the rest."""
    want, have = pattern.split("."), subject.split(".")
    for n, token in enumerate(want):
        if token == ">":
            return len(have) > n
        if n >= len(have) or (token != "*" and token != have[n]):
            return False
    return len(want) == len(have)


@dataclass
class Report:
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    converge_seconds: float | None = None
    pending: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    """What was pending while the system converged."""


async def _connect(cluster: Cluster) -> tuple[asyncpg.Connection, Any, JetStreamContext]:
    db = await asyncpg.connect(cluster.database_url, timeout=10)
    nc = await nats.connect(cluster.nats_servers, connect_timeout=5, max_reconnect_attempts=3)
    return db, nc, nc.jetstream()


async def pending(db: asyncpg.Connection, js: JetStreamContext) -> list[str]:
    """What is still in flight; empty once the system has converged."""
    reasons: list[str] = []
    schemas = await schemas_of(db)
    for schema in schemas:
        count = await db.fetchval(f"SELECT count(*) FROM {schema}.outbox")
        if count:
            reasons.append(f"{schema} outbox holds {count}")
    if "maintenance" in schemas:
        waiting = await db.fetchval(
            "SELECT count(*) FROM maintenance.occurrences WHERE status = 'opening'"
        )
        if waiting:
            reasons.append(f"{waiting} occurrences waiting for their work order")
        unrecorded = await db.fetchval(
            "SELECT count(*) FROM maintenance.plans WHERE status = 'active' "
            "AND next_opens_at <= now()"
        )
        if unrecorded:
            reasons.append(f"{unrecorded} plans due, their occurrence not recorded yet")
    if "integrations" in schemas:
        deliveries = await db.fetchval(
            "SELECT count(*) FROM integrations.webhook_deliveries d "
            "JOIN integrations.webhook_endpoints e ON e.id = d.endpoint_id "
            "WHERE d.status = 'pending' AND e.enabled"
        )
        if deliveries:
            reasons.append(f"{deliveries} webhook deliveries pending")
        cursors = await db.fetch(
            "SELECT e.org_id, c.stream_seq FROM integrations.webhook_endpoints e "
            "JOIN integrations.webhook_cursors c ON c.endpoint_id = e.id WHERE e.enabled"
        )
        if cursors:  # each endpoint has read its organization's stream to the end
            names = {info.config.name: info for info in await all_streams(js)}
            behind = 0
            for row in cursors:
                suffix = f"ORG_{row['org_id'].hex.upper()}"
                info = next((i for n, i in names.items() if n.endswith(suffix)), None)
                if info is not None and (row["stream_seq"] or 0) < info.state.last_seq:
                    behind += 1
            if behind:
                reasons.append(f"{behind} webhook endpoints behind their organization's stream")
    if "attachments" in schemas:
        import chaos_attachments  # (it imports chaos_jobs, which imports this module)

        reasons += await chaos_attachments.pending(db)
    for stream in await streams_of(js):
        for consumer in await js.consumers_info(stream):
            waiting = consumer.num_pending + (consumer.num_ack_pending or 0)
            if waiting and consumer.config.durable_name:
                reasons.append(f"{consumer.name} has {waiting} pending")
    unannounced = await db.fetchval(
        "SELECT count(*) FROM workorders.work_orders WHERE status IN ('open', 'in_progress', "
        "'on_hold') AND due_at < now() - interval '5 seconds' "
        "AND overdue_announced_for IS DISTINCT FROM due_at"
    )
    if unannounced:
        reasons.append(f"{unannounced} overdue orders not announced yet")
    replica = await db.fetchval(
        "SELECT count(*) FROM assets.equipment a FULL JOIN workorders.equipment w USING (id) "
        "WHERE a.version IS DISTINCT FROM w.version"
    )
    if replica:
        reasons.append(f"{replica} replica rows differ")
    rollups = await db.fetchval(
        "SELECT count(*) FROM workorders.work_orders o "
        "LEFT JOIN workorders.rollup_state r ON r.work_order_id = o.id "
        "WHERE r.version IS DISTINCT FROM o.version"
    )
    if rollups:
        reasons.append(f"{rollups} orders not yet counted at their version")
    return reasons


async def wait_converged(
    cluster: Cluster, timeout: float, history: list[str] | None = None
) -> tuple[float | None, list[str]]:
    """Seconds until nothing is pending (None if it never got there within ``timeout``);
    ``history`` receives what was pending at the start and every 10 seconds."""
    started = time.monotonic()
    db, nc, js = await _connect(cluster)
    reasons: list[str] = []
    noted = -10.0
    try:
        while time.monotonic() - started < timeout:
            try:
                reasons = await pending(db, js)
                if not reasons and "attachments" in await schemas_of(db):
                    import chaos_attachments

                    reasons = await chaos_attachments.objects_pending(cluster, db)
            except Exception as exc:  # a server still coming back: look again
                reasons = [f"check failed: {exc!r}"]
            if not reasons:
                return time.monotonic() - started, []
            waited = time.monotonic() - started
            if history is not None and waited - noted >= 10:
                noted = waited
                history.append(f"+{waited:4.0f} s: {'; '.join(reasons)}")
            await asyncio.sleep(0.25)
        return None, reasons
    finally:
        await db.close()
        await nc.close()


async def stream_events(js: JetStreamContext, stream: str) -> Counter[tuple[str, str]]:
    """(subject, event id) of every message in ``stream``, counted."""
    info = await js.stream_info(stream)
    total = info.state.messages
    seen: Counter[tuple[str, str]] = Counter()
    if total == 0:
        return seen
    sub = await js.pull_subscribe(
        ">",  # every subject of the stream (MAINTENANCE has three)
        stream=stream,
        config=ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.ALL,
            inactive_threshold=30,
        ),
    )
    try:
        read = 0
        while read < total:
            try:
                batch = await fetch(sub, 500, 5)
            except TimeoutError:  # nats-py's, or asyncio's from a pull of several
                break
            for msg in batch:
                read += 1
                try:
                    event_id = json.loads(msg.data)["event_id"]
                except (ValueError, KeyError):
                    event_id = f"unparseable:{msg.metadata.sequence.stream}"
                seen[(msg.subject, str(event_id))] += 1
    finally:
        await sub.unsubscribe()
    return seen


async def fetch(sub: Any, batch: int, timeout: float) -> list[Any]:
    """``sub.fetch``, asked again while JetStream answers 503: in a cluster, a consumer just
    created on a stream whose node was restarted may have no leader for a moment."""
    for _ in range(40):
        try:
            msgs: list[Any] = await sub.fetch(batch, timeout=timeout)
        except ServiceUnavailableError:
            await asyncio.sleep(0.5)
            continue
        return msgs
    result: list[Any] = await sub.fetch(batch, timeout=timeout)
    return result


def _compare(report: Report, what: str, expected: int, actual: int) -> None:
    if actual < expected:
        report.lost.append(f"{what}: {actual} of {expected}")
    elif actual > expected:
        report.duplicated.append(f"{what}: {actual}, expected {expected}")


async def verify(cluster: Cluster, work: Workload) -> Report:
    report = Report()
    db, nc, js = await _connect(cluster)
    try:
        await _requests(db, work, report)
        subjects = await _events(db, js, report)
        await _consumers(db, js, subjects, report)
        await _effects(db, report)
    finally:
        await db.close()
        await nc.close()
    return report


async def _requests(db: asyncpg.Connection, work: Workload, report: Report) -> None:
    org = work.org_id
    assets = {
        str(r["id"]): r
        for r in await db.fetch(
            "SELECT id, serial, version FROM assets.equipment WHERE org_id = $1", org
        )
    }
    history = Counter(
        str(r["equipment_id"])
        for r in await db.fetch(
            "SELECT equipment_id FROM assets.equipment_history "
            "WHERE org_id = $1 AND action = 'updated'",
            org,
        )
    )
    for asset in work.assets.values():
        row = assets.get(asset.id)
        if row is None:
            report.lost.append(f"asset {asset.serial}: created (acknowledged), not in the database")
            continue
        if row["version"] < asset.acked_version:
            report.lost.append(
                f"asset {asset.serial}: at version {row['version']}, "
                f"acknowledged {asset.acked_version}"
            )
        applied = row["version"] - 1
        if applied < asset.acked_updates:
            report.lost.append(f"asset {asset.serial}: {applied} updates, {asset.acked_updates} ok")
        if applied > asset.acked_updates + asset.maybe_updates:
            report.duplicated.append(
                f"asset {asset.serial}: {applied} updates applied, at most "
                f"{asset.acked_updates + asset.maybe_updates} possible"
            )
        _compare(report, f"asset {asset.serial}: history entries", applied, history[asset.id])
    serials = Counter(r["serial"] for r in assets.values())
    known = {a.serial for a in work.assets.values()}
    for serial, count in serials.items():
        if count > 1:
            report.duplicated.append(f"asset {serial} exists {count} times")
        if serial not in known and serial not in work.asset_creates_maybe:
            report.duplicated.append(f"asset {serial} exists although its create was refused")

    orders = {
        str(r["id"]): r
        for r in await db.fetch(
            "SELECT id, title, status, version FROM workorders.work_orders WHERE org_id = $1", org
        )
    }
    moves: dict[str, list[tuple[str, str]]] = {}
    for r in await db.fetch(
        "SELECT work_order_id, from_status, to_status FROM workorders.timeline "
        "WHERE org_id = $1 AND kind = 'status_changed' ORDER BY id",
        org,
    ):
        moves.setdefault(str(r["work_order_id"]), []).append((r["from_status"], r["to_status"]))
    transitions = 0
    for order in work.orders.values():
        row = orders.get(order.id)
        if row is None:
            report.lost.append(f"order {order.title}: created (acknowledged), not in the database")
            continue
        entries = moves.get(order.id, [])
        transitions += len(entries)
        for version, before, after in order.acked:
            # Only status changes touch these orders: version v is the (v-1)th transition.
            if len(entries) < version - 1 or entries[version - 2] != (before, after):
                report.lost.append(
                    f"order {order.title}: acknowledged {before}->{after} (v{version}) "
                    "missing from the timeline"
                )
        if row["version"] - 1 != len(entries):
            report.lost.append(
                f"order {order.title}: version {row['version']}, {len(entries)} transitions"
            )
        if len(entries) > len(order.acked) + order.maybe:
            report.duplicated.append(
                f"order {order.title}: {len(entries)} transitions applied, at most "
                f"{len(order.acked) + order.maybe} possible"
            )
    titles = Counter(r["title"] for r in orders.values())
    for title, count in titles.items():
        if count > 1:
            report.duplicated.append(f"order {title!r} exists {count} times")
        outcome = work.order_titles_sent.get(title)
        if outcome is None or (outcome == "failed" and title not in work.order_creates_maybe):
            report.duplicated.append(f"order {title!r} exists although its create was refused")
    report.figures.update(
        assets=len(assets),
        orders=len(orders),
        transitions=transitions,
        asset_updates=sum(r["version"] - 1 for r in assets.values()),
    )


async def _events(
    db: asyncpg.Connection, js: JetStreamContext, report: Report
) -> dict[str, Counter[str]]:
    """Stream contents against the database; returns event ids by subject."""
    by_subject: dict[str, Counter[str]] = {}
    for stream in await streams_of(js):
        for (subject, event_id), count in (await stream_events(js, stream)).items():
            by_subject.setdefault(subject, Counter())[event_id] += count
            if count > 1:
                report.duplicated.append(
                    f"event {event_id} ({subject}) is {count} times in {stream}"
                )
    expected = {
        "equipment.created": await db.fetchval("SELECT count(*) FROM assets.equipment"),
        "equipment.updated": await db.fetchval(
            "SELECT coalesce(sum(version - 1), 0) FROM assets.equipment"
        ),
        "wo.created": await db.fetchval("SELECT count(*) FROM workorders.work_orders"),
        "wo.status_changed": await db.fetchval(
            "SELECT count(*) FROM workorders.timeline WHERE kind = 'status_changed'"
        ),
        "user.registered": await db.fetchval("SELECT count(*) FROM auth.organizations"),
        "wo.attachment_added": await db.fetchval(
            "SELECT count(*) FROM workorders.timeline WHERE kind = 'attachment_added'"
        ),
        "wo.attachment_removed": await db.fetchval(
            "SELECT count(*) FROM workorders.timeline WHERE kind = 'attachment_removed'"
        ),
    }
    if "attachments" in await schemas_of(db):
        expected["attachment.added"] = await db.fetchval(
            "SELECT count(*) FROM attachments.attachments"
        )
        expected["attachment.removed"] = await db.fetchval(
            "SELECT count(*) FROM attachments.attachments WHERE deleted_at IS NOT NULL"
        )
    for subject, want in expected.items():
        _compare(
            report, f"{subject} events in the stream", int(want), len(by_subject.get(subject, ()))
        )
    await _overdue(db, js, report)
    report.figures["events"] = {s: sum(c.values()) for s, c in sorted(by_subject.items())}
    return by_subject


async def _overdue(db: asyncpg.Connection, js: JetStreamContext, report: Report) -> None:
    """``wo.overdue``: one event per deadline the service marked as announced, and none for an
    order it did not mark. The marks are read first, then the outbox is let drain, so every
    event of a mark read is in the stream when the stream is read; the job goes on marking
    meanwhile, so the events heard are checked against the marks read after the stream."""
    marked = {
        (str(r["id"]), r["overdue_announced_for"])
        for r in await db.fetch(
            "SELECT id, overdue_announced_for FROM workorders.work_orders "
            "WHERE overdue_announced_for IS NOT NULL"
        )
    }
    for _ in range(120):
        if not await db.fetchval("SELECT count(*) FROM workorders.outbox"):
            break
        await asyncio.sleep(0.25)
    heard: Counter[tuple[str, datetime]] = Counter()
    sub = await js.pull_subscribe(
        "wo.overdue",
        stream="WORKORDERS",
        config=ConsumerConfig(
            ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=30
        ),
    )
    try:
        while True:
            try:
                batch = await fetch(sub, 500, 3)
            except TimeoutError:  # nats-py's, or asyncio's from a pull of several
                break
            for msg in batch:
                data = json.loads(msg.data)["data"]
                heard[(data["work_order_id"], datetime.fromisoformat(data["due_at"]))] += 1
    finally:
        await sub.unsubscribe()
    # orders marked since the marks were read are heard too: read the marks again
    orders = {
        str(r["id"])
        for r in await db.fetch(
            "SELECT id FROM workorders.work_orders WHERE overdue_announced_for IS NOT NULL"
        )
    }
    for (order, due), count in heard.items():
        if count > 1:
            report.duplicated.append(f"order {order}: wo.overdue {count} times for {due}")
        elif order not in orders:  # (an earlier deadline of a marked order may be heard)
            report.duplicated.append(f"order {order}: wo.overdue although never marked")
    missing = [(order, due) for order, due in marked if (order, due) not in heard]
    if missing:
        report.lost.append(f"wo.overdue: {len(missing)} of {len(marked)} marked deadlines unheard")
    report.figures["overdue"] = {"marked": len(marked), "announced": sum(heard.values())}


async def _consumers(
    db: asyncpg.Connection,
    js: JetStreamContext,
    subjects: dict[str, Counter[str]],
    report: Report,
) -> None:
    schemas = await schemas_of(db)
    for schema in schemas:
        doubled = await db.fetchval(
            f"SELECT count(*) FROM (SELECT 1 FROM {schema}.inbox "
            "GROUP BY consumer, event_id HAVING count(*) > 1) d"
        )
        if doubled:
            report.duplicated.append(f"{schema}.inbox has {doubled} doubled rows")
    checked = 0
    for stream in await streams_of(js):
        for consumer in await js.consumers_info(stream):
            subject = consumer.config.filter_subject or ""
            if not consumer.config.durable_name or consumer.name.startswith(EXPORTER):
                continue
            schema = consumer.name.split("-", 1)[0]
            if schema not in schemas:
                continue
            events = {
                event_id
                for name, ids in subjects.items()
                if subject_matches(subject, name)
                for event_id in ids
            }
            applied = {
                str(r["event_id"])
                for r in await db.fetch(
                    f"SELECT event_id FROM {schema}.inbox WHERE consumer = $1", consumer.name
                )
            }
            dead = {
                r["event_id"]
                for r in await db.fetch(
                    f"SELECT event_id FROM {schema}.dead_letters WHERE consumer = $1",
                    consumer.name,
                )
            }
            missing = events - applied - dead
            extra = applied - events
            if missing:
                report.lost.append(f"{consumer.name}: {len(missing)} events never applied")
            if extra:
                report.duplicated.append(f"{consumer.name}: {len(extra)} unknown events applied")
            if dead:
                report.lost.append(f"{consumer.name}: {len(dead)} events dead-lettered")
            checked += 1
    report.figures["consumers checked"] = checked


async def _effects(db: asyncpg.Connection, report: Report) -> None:
    differ = await db.fetch(
        "SELECT coalesce(a.id, w.id) AS id, a.version AS av, w.version AS wv "
        "FROM assets.equipment a FULL JOIN workorders.equipment w USING (id) "
        "WHERE (a.version, a.manufacturer, a.status, a.location) IS DISTINCT FROM "
        "(w.version, w.manufacturer, w.status, w.location)"
    )
    for row in differ[:20]:
        what = f"replica of {row['id']}: version {row['wv']}, registry {row['av']}"
        (
            report.lost if row["wv"] is None or (row["av"] or 0) > row["wv"] else report.duplicated
        ).append(what)
    truth = {
        (r["status"], r["priority"]): r["n"]
        for r in await db.fetch(
            "SELECT status, priority, count(*) AS n FROM workorders.work_orders GROUP BY 1, 2"
        )
    }
    counted = {
        (r["status"], r["priority"]): r["n"]
        for r in await db.fetch(
            "SELECT status, priority, sum(orders) AS n FROM workorders.wo_counts GROUP BY 1, 2"
        )
    }
    for key in truth.keys() | counted.keys():
        _compare(report, f"wo_counts {key}", int(truth.get(key, 0)), int(counted.get(key, 0)))
    flows = await db.fetchrow(
        "SELECT coalesce(sum(created), 0) AS created, coalesce(sum(completed), 0) AS completed, "
        "coalesce(sum(cancelled), 0) AS cancelled, coalesce(sum(reopened), 0) AS reopened "
        "FROM workorders.wo_daily"
    )
    real = await db.fetchrow(
        "SELECT (SELECT count(*) FROM workorders.work_orders) AS created, "
        "count(*) FILTER (WHERE to_status = 'completed') AS completed, "
        "count(*) FILTER (WHERE to_status = 'cancelled') AS cancelled, "
        "count(*) FILTER (WHERE to_status = 'open' AND from_status IN ('completed', 'cancelled'))"
        " AS reopened FROM workorders.timeline WHERE kind = 'status_changed'"
    )
    for name in ("created", "completed", "cancelled", "reopened"):
        _compare(report, f"wo_daily {name}", int(real[name]), int(flows[name]))
    assets_truth = {
        (r["manufacturer"], r["status"]): r["n"]
        for r in await db.fetch(
            "SELECT manufacturer, status, count(*) AS n FROM assets.equipment GROUP BY 1, 2"
        )
    }
    assets_counted = {
        (r["manufacturer"], r["status"]): r["n"]
        for r in await db.fetch(
            "SELECT manufacturer, status, sum(assets) AS n FROM workorders.equipment_counts "
            "GROUP BY 1, 2"
        )
    }
    for key in assets_truth.keys() | assets_counted.keys():
        _compare(
            report,
            f"equipment_counts {key}",
            int(assets_truth.get(key, 0)),
            int(assets_counted.get(key, 0)),
        )
    stale = await db.fetchval(
        "SELECT count(*) FROM workorders.work_orders o "
        "LEFT JOIN workorders.rollup_state r ON r.work_order_id = o.id "
        "WHERE r.version IS DISTINCT FROM o.version"
    )
    if stale:
        report.lost.append(f"{stale} orders counted at an older version")


def windows(work: Workload, marks: list[tuple[float, str]]) -> list[str]:
    """Outcomes between one fault's start and the next: where failures came from."""
    edges = [(0.0, "before the first fault"), *marks, (float("inf"), "")]
    lines = []
    for (start, name), (end, _) in itertools.pairwise(edges):
        ops = [op for op in work.ops if start <= op.started < end]
        if not ops:
            continue
        statuses = Counter(str(op.status) for op in ops if op.outcome == "failed")
        unknown = sum(op.outcome == "unknown" for op in ops)
        lines.append(
            f"  {name:<34} {len(ops):>6} ops  unknown {unknown:>4}  failed "
            + (", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())) or "0")
        )
    return lines


def summary(
    work: Workload,
    report: Report,
    faults: list[str],
    elapsed: float,
    marks: list[tuple[float, str]] | None = None,
) -> str:
    outcomes = work.outcomes()
    lines = [
        "",
        "===================== chaos summary =====================",
        f"operations        {work.done:>6}  ok {outcomes['ok']}  failed {outcomes['failed']}"
        f"  unknown {outcomes['unknown']}  in {elapsed:.0f} s ({work.done / elapsed:.0f}/s)",
    ]
    for kind, counts in sorted(work.by_kind().items()):
        lines.append(
            f"  {kind:<15} {sum(counts.values()):>6}  ok {counts['ok']}  failed {counts['failed']}"
            f"  unknown {counts['unknown']}"
        )
    statuses = ", ".join(f"{s}: {n}" for s, n in sorted(work.statuses().items()))
    lines.append(f"failed by status  {statuses or '-'}")
    for op in [op for op in work.ops if op.status == 500][:5]:  # never meant: say what it was
        lines.append(f"  500 on {op.kind}: {op.error[:160]}")
    lines.append(f"re-reads          {dict(work.resyncs) or '-'}")
    if marks:
        lines.append("outcomes from each fault to the next:")
        lines += windows(work, marks)
    lines.append("faults:")
    lines += [f"  {fault}" for fault in faults]
    figures = dict(report.figures)
    events = figures.pop("events", {})
    lines.append(f"in the database   {figures}")
    lines.append(f"events            {events}")
    lines.append(f"lost              {len(report.lost)}")
    lines += [f"  - {item}" for item in report.lost[:20]]
    lines.append(f"duplicated        {len(report.duplicated)}")
    lines += [f"  - {item}" for item in report.duplicated[:20]]
    converge = "never" if report.converge_seconds is None else f"{report.converge_seconds:.1f} s"
    lines.append(
        f"time to converge  {converge}"
        + (f" (pending: {report.pending})" if report.pending else "")
    )
    lines.append("=========================================================")
    return "\n".join(lines)
