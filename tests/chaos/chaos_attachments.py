"""Attachments under the chaos: files added to work orders and assets and removed again through
the gateway, as users do, while the attachments service, the work-order service (its consumer
of ``attachment.added``/``attachment.removed``), NATS and PostgreSQL die.

``Attaching`` gives the workload two more operations (``Workload.more_ops``):

- *add* (``POST /api/work-orders/{id}/attachments``, and one in five on
  ``/api/equipment/{id}/attachments``): a small JPEG, a small PNG or a one-page PDF under a
  file name unique to the add, with an ``Idempotency-Key``. After a 5xx or no answer the same
  request is sent again with the same key (at most twice), as a client that never saw the
  answer does: the key makes a repeat answer the first reply, never a second file;
- *remove* (``DELETE /api/attachments/{id}``) of an acknowledged, not yet removed file, once.

``check`` proves, after convergence (``pending`` waits for the purge, the owners' counts and
the sweep):

- *adds*: every acknowledged add is in the service once, on its record, with the id answered;
  an add that was never acknowledged is there at most once, and only if one of its attempts
  may have been applied (5xx, no answer, a key still pending); nothing else is there;
- *removals*: an acknowledged removal is removed, a refused one is not, nothing else was;
- *counts*: every order's ``attachment_count`` equals its live files in the service, and, for
  the orders the load touched, what the service lists through the gateway (every page) is
  what the order's count says (and assets' when the assets service keeps a count);
- *timeline*: each file ever on an order has exactly one ``attachment_added`` entry, each
  removed one exactly one ``attachment_removed``;
- *objects*: every object of a live file is in the ``ATTACHMENTS`` object store, no object of
  a removed file is (the purge), and no object without a live file is older than the sweep
  allows;
- *usage*: each organization's usage row holds the bytes and the number of its live files.

Anything short is *lost*, anything over *duplicated*.
"""

from __future__ import annotations

import asyncio
import io
import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
import nats
from chaos_workload import PASSWORD
from nats.js.errors import NotFoundError
from PIL import Image

from rivet_contracts.attachments import BUCKET

if TYPE_CHECKING:
    from chaos_cluster import Cluster
    from chaos_scenario import Fault
    from chaos_workload import Op, Workload

SERVICE = "attachments"


@dataclass
class Checked:
    """What ``check`` found (as ``chaos_jobs.Checked``; that module imports the scenario, which
    imports this one)."""

    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)


SWEEP_EVERY, ORPHAN_AGE = 5.0, 30.0
ENV = {
    "ATTACHMENT_SWEEP_EVERY": str(SWEEP_EVERY),
    "ATTACHMENT_ORPHAN_AGE": str(ORPHAN_AGE),
}
"""The attachments service's settings in the chaos runs: the sweep every 5 s, deleting objects
without a live file once they are 30 s old (an hour by default), so that it runs - and could
delete something it must not - during the run."""
SHARE = 0.10
"""Operations that add or remove a file (two adds for each removal)."""
ON_ASSETS = 0.2
RETRIES = 2


def running(cluster: Cluster) -> bool:
    return bool(cluster.replicas_of(SERVICE))


async def counts_files(cluster: Cluster, schema: str) -> bool:
    """Whether ``schema``'s service keeps a count of its records' files (a consumer of
    ``attachment.added``): its records' table has an ``attachment_count`` column."""
    db = await asyncpg.connect(cluster.database_url, timeout=10)
    try:
        table = {"assets": "equipment", "workorders": "work_orders"}[schema]
        return bool(
            await db.fetchval(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = $1 "
                "AND table_name = $2 AND column_name = 'attachment_count'",
                schema,
                table,
            )
        )
    finally:
        await db.close()


RESTARTS: list[str] = []
"""What ``kill_restart`` saw of each restart once it was ready (printed with the figures)."""


def kill_restart(service: str, *, if_it_counts: bool = False) -> Fault:
    """``kill -9`` a service and start it again without waiting for it to be ready: the next
    fault is not held back (a Python service takes 10-15 s to start on a busy machine, longer
    than the rest of the short run's load), so the load keeps running against the service while
    it starts. With ``if_it_counts``, only when the service keeps a count of its records' files
    (the assets service's consumer may not be there: then nothing is killed)."""
    from chaos_scenario import Fault  # (the scenario imports this module)

    async def act(cluster: Cluster) -> str:
        if if_it_counts and not await counts_files(cluster, service):
            return f"skipped: {service} keeps no attachment count"
        await asyncio.to_thread(cluster.kill_service, service, 0.5)

        async def ready() -> None:
            try:
                took = await asyncio.to_thread(cluster.wait_ready, service, 90)
                RESTARTS.append(f"{service} ready {took:.1f} s after its restart")
            except Exception as exc:
                RESTARTS.append(f"{service} not ready: {exc!r}")

        task = asyncio.get_running_loop().create_task(ready())
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)
        return "restarted; the next fault does not wait for it to be ready"

    what = " (a consumer of attachment events)" if if_it_counts else ""
    return Fault(0, f"kill -9 {service}{what}, restart it", act)


_BACKGROUND: set[asyncio.Task[None]] = set()


# --- the files ------------------------------------------------------------------------------


def _jpeg(seed: int) -> bytes:
    rng = random.Random(seed)
    image = Image.linear_gradient("L").resize((96, 72)).convert("RGB")
    noise = Image.frombytes("RGB", (96, 72), rng.randbytes(96 * 72 * 3))
    out = io.BytesIO()
    Image.blend(image, noise, 0.4).save(out, format="JPEG", quality=85)
    return out.getvalue()


def _png(seed: int) -> bytes:
    rng = random.Random(seed)
    out = io.BytesIO()
    Image.frombytes("RGB", (48, 48), rng.randbytes(48 * 48 * 3)).save(out, format="PNG")
    return out.getvalue()


def _pdf(text: str) -> bytes:
    """A one-page PDF with a line of text (offsets in the xref table computed)."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


FILES = (
    ("jpg", "image/jpeg", _jpeg(1)),
    ("jpg", "image/jpeg", _jpeg(2)),
    ("png", "image/png", _png(3)),
    ("pdf", "application/pdf", _pdf("Rivet chaos: pump P-101 inspection report")),
)


# --- the operations -------------------------------------------------------------------------


@dataclass
class Added:
    name: str
    """The file name, unique to this add."""
    record_kind: str
    record_id: str
    size: int
    outcome: str = "sent"
    """ok (acknowledged), maybe (an attempt may have been applied) or failed (refused)."""
    attempts: list[str] = field(default_factory=list)
    id: str | None = None
    removal: str = ""
    """"" (never sent), ok, maybe or failed (with its status)."""
    busy: bool = False


@dataclass
class Attaching:
    """Adds and removals of files, run by the workload's workers."""

    run: str = ""
    added: dict[str, Added] = field(default_factory=dict)
    numbers: int = 0
    refused_removals: list[str] = field(default_factory=list)

    def bind(self, work: Workload) -> Attaching:
        self.run = work.run
        work.more_ops, work.more_share = self.one, SHARE
        return self

    async def one(self, work: Workload, rng: random.Random) -> Op | None:
        removable = [a for a in self.added.values() if a.outcome == "ok" and not a.removal]
        if removable and rng.random() < 1 / 3:
            return await self._remove(work, rng.choice(removable))
        return await self._add(work, rng)

    async def _add(self, work: Workload, rng: random.Random) -> Op | None:
        on_asset = rng.random() < ON_ASSETS or not work.orders
        records = list(work.assets if on_asset else work.orders)
        if not records:
            return None
        record_id = rng.choice(records)
        self.numbers += 1
        extension, mime, data = FILES[self.numbers % len(FILES)]
        name = f"chaos-{self.run}-{self.numbers:05d}.{extension}"
        kind = "equipment" if on_asset else "work_order"
        item = Added(name, kind, record_id, len(data))
        self.added[name] = item
        path = "equipment" if on_asset else "work-orders"
        key = f"chaos-{self.run}-{uuid.uuid4().hex}"
        op: Op | None = None
        for attempt in range(RETRIES + 1):
            if attempt:
                await asyncio.sleep(0.5 + rng.random())
            op, answer = await work._call(
                "attachment.add",
                "POST",
                f"/api/{path}/{record_id}/attachments",
                files={"file": (name, data, mime)},
                data={"caption": f"chaos {self.numbers}"},
                headers={"Idempotency-Key": key},
            )
            item.attempts.append(op.outcome if op.status is None else str(op.status))
            if op.outcome == "ok" and answer is not None:
                item.outcome, item.id = "ok", answer.json()["id"]
                return op
            if work._maybe_applied(op) or op.status == 409:
                item.outcome = "maybe"  # a key still pending is an add maybe committed
                if attempt < RETRIES:
                    work.ops.append(op)  # each attempt is an operation; the last is returned
                continue
            if item.outcome != "maybe":
                item.outcome = "failed"
            return op
        return op

    async def _remove(self, work: Workload, item: Added) -> Op:
        item.removal = "sent"
        op, _ = await work._call("attachment.remove", "DELETE", f"/api/attachments/{item.id}")
        if op.outcome == "ok":
            item.removal = "ok"
        elif work._maybe_applied(op):
            item.removal = "maybe"
        else:
            item.removal = f"failed {op.status}"
            self.refused_removals.append(f"{item.name}: {op.status} {op.error[:120]}")
        return op

    # --- checking ---------------------------------------------------------------------------

    async def check(self, cluster: Cluster, work: Workload) -> Checked:
        checked = Checked()
        db = await asyncpg.connect(cluster.database_url, timeout=10)
        try:
            rows = await db.fetch(
                "SELECT id, org_id, record_kind, record_id, filename, size_bytes, stored_bytes, "
                "original_key, screen_key, thumbnail_key, deleted_at, purged_at "
                "FROM attachments.attachments"
            )
            ours = [r for r in rows if str(r["org_id"]) == work.org_id]
            self._check_requests(ours, checked)
            await self._check_counts(db, cluster, work, rows, checked)
            await _check_timeline(db, rows, checked)
            await _check_usage(db, rows, checked)
            await _check_objects(cluster, rows, checked)
        finally:
            await db.close()
        outcomes = Counter(a.outcome for a in self.added.values())
        removals = Counter(a.removal.split(" ")[0] for a in self.added.values() if a.removal)
        checked.figures["attachments"] = {
            "adds": dict(outcomes),
            "adds sent again": sum(len(a.attempts) > 1 for a in self.added.values()),
            "removals": dict(removals),
            "in the service": len(rows),
            "live": sum(r["deleted_at"] is None for r in rows),
            "removed and purged": sum(r["purged_at"] is not None for r in rows),
            "restarts": list(RESTARTS),
        }
        return checked

    def _check_requests(self, rows: list[asyncpg.Record], checked: Checked) -> None:
        by_name: dict[str, list[asyncpg.Record]] = defaultdict(list)
        for row in rows:
            by_name[row["filename"]].append(row)
        for name, found in by_name.items():
            item = self.added.get(name)
            if item is None:
                checked.duplicated.append(f"attachment {name}: in the service, never sent")
            elif len(found) > 1:
                checked.duplicated.append(
                    f"attachment {name}: {len(found)} times ({item.attempts})"
                )
        for item in self.added.values():
            found = by_name.get(item.name, [])
            if item.outcome == "ok" and not found:
                checked.lost.append(f"attachment {item.name}: acknowledged, not in the service")
                continue
            if item.outcome == "failed" and found:
                checked.duplicated.append(
                    f"attachment {item.name}: refused ({item.attempts}), yet in the service"
                )
            if not found:
                continue
            row = found[0]
            if item.id is not None and str(row["id"]) != item.id:
                checked.duplicated.append(
                    f"attachment {item.name}: answered {item.id}, stored as {row['id']}"
                )
            if (row["record_kind"], str(row["record_id"])) != (item.record_kind, item.record_id):
                checked.lost.append(f"attachment {item.name}: not on its record")
            removed = row["deleted_at"] is not None
            if item.removal == "ok" and not removed:
                checked.lost.append(f"attachment {item.name}: removal acknowledged, still live")
            if removed and item.removal not in ("ok", "maybe"):
                checked.duplicated.append(
                    f"attachment {item.name}: removed ({item.removal or 'never asked'})"
                )
        for refused in self.refused_removals:
            if " 404 " in f"{refused} ":
                checked.lost.append(f"removal of an acknowledged attachment not found: {refused}")

    async def _check_counts(
        self,
        db: asyncpg.Connection,
        cluster: Cluster,
        work: Workload,
        rows: list[asyncpg.Record],
        checked: Checked,
    ) -> None:
        live: Counter[tuple[str, str]] = Counter(
            (r["record_kind"], str(r["record_id"])) for r in rows if r["deleted_at"] is None
        )
        counts = {
            str(r["id"]): r["attachment_count"]
            for r in await db.fetch("SELECT id, attachment_count FROM workorders.work_orders")
        }
        _compare_counts("order", counts, live, "work_order", checked)
        if await counts_files(cluster, "assets"):
            assets = {
                str(r["id"]): r["attachment_count"]
                for r in await db.fetch("SELECT id, attachment_count FROM assets.equipment")
            }
            _compare_counts("asset", assets, live, "equipment", checked)
            checked.figures["asset counts checked"] = len(assets)
        # through the gateway, as a user sees them
        touched = {(a.record_kind, a.record_id) for a in self.added.values()}
        listed = 0
        async with httpx.AsyncClient(base_url=cluster.gateway_url, timeout=30) as client:
            token = (
                await client.post(
                    "/api/auth/login", data={"username": work.email, "password": PASSWORD}
                )
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            semaphore = asyncio.Semaphore(8)

            async def one(kind: str, record_id: str) -> None:
                nonlocal listed
                path = "work-orders" if kind == "work_order" else "equipment"
                async with semaphore:
                    ids = await _list_all(client, f"/api/{path}/{record_id}/attachments", headers)
                    view = await client.get(f"/api/{path}/{record_id}", headers=headers)
                want = {
                    str(r["id"])
                    for r in rows
                    if r["deleted_at"] is None
                    and (r["record_kind"], str(r["record_id"])) == (kind, record_id)
                }
                listed += len(ids)
                if set(ids) != want or len(ids) != len(set(ids)):
                    checked.lost.append(
                        f"{kind} {record_id}: listed {len(ids)} files, {len(want)} live"
                    )
                count = view.json().get("attachment_count") if view.status_code == 200 else None
                if count is not None and count != len(ids):
                    (checked.lost if count < len(ids) else checked.duplicated).append(
                        f"{kind} {record_id}: attachment_count {count}, {len(ids)} listed"
                    )

            await asyncio.gather(*(one(kind, record) for kind, record in sorted(touched)))
        checked.figures["records listed through the gateway"] = len(touched)
        checked.figures["files listed"] = listed


async def _list_all(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> list[str]:
    ids: list[str] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 50, **({"after": after} if after else {})}
        answer = await client.get(path, params=params, headers=headers)
        answer.raise_for_status()
        page = answer.json()
        ids += [item["id"] for item in page["items"]]
        after = page["next_after"]
        if not after:
            return ids


def _compare_counts(
    what: str,
    counts: dict[str, int],
    live: Counter[tuple[str, str]],
    kind: str,
    checked: Checked,
) -> None:
    for record_id, count in counts.items():
        want = live.get((kind, record_id), 0)
        if count != want:
            (checked.lost if count < want else checked.duplicated).append(
                f"{what} {record_id}: attachment_count {count}, {want} live files"
            )


async def _check_timeline(
    db: asyncpg.Connection, rows: list[asyncpg.Record], checked: Checked
) -> None:
    entries = Counter(
        (r["kind"], r["attachment"])
        for r in await db.fetch(
            "SELECT kind, changes -> 'attachment' ->> 'id' AS attachment FROM workorders.timeline "
            "WHERE kind IN ('attachment_added', 'attachment_removed')"
        )
    )
    orders = {str(r["id"]) for r in await db.fetch("SELECT id FROM workorders.work_orders")}
    for (kind, attachment), count in entries.items():
        if count > 1:
            checked.duplicated.append(f"timeline: {kind} of {attachment} {count} times")
    for row in rows:
        if row["record_kind"] != "work_order" or str(row["record_id"]) not in orders:
            continue
        wanted = ["attachment_added"] + (["attachment_removed"] if row["deleted_at"] else [])
        for kind in wanted:
            if not entries.get((kind, str(row["id"]))):
                checked.lost.append(f"timeline: no {kind} entry for {row['id']}")
    on_orders = {str(r["id"]) for r in rows if r["record_kind"] == "work_order"}
    strays = {a for _, a in entries} - on_orders
    if strays:
        checked.duplicated.append(f"timeline: {len(strays)} entries of files the service lacks")
    checked.figures["timeline entries"] = dict(Counter(kind for kind, _ in entries.elements()))


async def _check_usage(
    db: asyncpg.Connection, rows: list[asyncpg.Record], checked: Checked
) -> None:
    used: Counter[str] = Counter()
    files: Counter[str] = Counter()
    for row in rows:
        if row["deleted_at"] is None:
            used[str(row["org_id"])] += row["stored_bytes"]
            files[str(row["org_id"])] += 1
    recorded = {
        str(r["org_id"]): (r["bytes_used"], r["files"])
        for r in await db.fetch("SELECT org_id, bytes_used, files FROM attachments.usage")
    }
    for org in set(used) | set(recorded):
        have = recorded.get(org, (0, 0))
        if have != (used[org], files[org]):
            (checked.lost if have[0] < used[org] else checked.duplicated).append(
                f"usage of {org}: {have[0]} bytes in {have[1]} files recorded, live files "
                f"take {used[org]} bytes in {files[org]}"
            )
    checked.figures["usage bytes"] = sum(used.values())


async def object_keys(cluster: Cluster) -> dict[str, datetime | None]:
    """Key -> when its attachment's id was made (the time in a UUID version 7, as the sweep
    reads it; None for a key that does not name an attachment) of every object in the
    ``ATTACHMENTS`` object store."""
    nc = await nats.connect(cluster.nats_servers, connect_timeout=5, max_reconnect_attempts=3)
    try:
        store = await nc.jetstream().object_store(BUCKET)
        try:
            found = await store.list(ignore_deletes=True)
        except NotFoundError:  # an empty bucket
            return {}
        return {info.name: _key_time(info.name) for info in found if info.name}
    finally:
        await nc.close()


def _key_time(key: str) -> datetime | None:
    """``<org>/<attachment id>/<rendition>``: the time in the id (UUID version 7)."""
    parts = key.split("/")
    try:
        made = uuid.UUID(parts[1]) if len(parts) == 3 else None
    except ValueError:
        return None
    if made is None or made.version != 7:
        return None
    return datetime.fromtimestamp((made.int >> 80) / 1000, UTC)


def _keys(row: asyncpg.Record) -> list[str]:
    return [k for k in (row["original_key"], row["screen_key"], row["thumbnail_key"]) if k]


async def _check_objects(cluster: Cluster, rows: list[asyncpg.Record], checked: Checked) -> None:
    stored = await object_keys(cluster)
    live_keys = {k for r in rows if r["deleted_at"] is None for k in _keys(r)}
    missing = live_keys - set(stored)
    if missing:
        checked.lost.append(f"objects: {len(missing)} objects of live files not stored")
    left = [k for r in rows if r["deleted_at"] is not None for k in _keys(r) if k in stored]
    if left:
        checked.duplicated.append(f"objects: {len(left)} objects of removed files still stored")
    too_old = datetime.now(UTC) - timedelta(seconds=ORPHAN_AGE + 4 * SWEEP_EVERY + 10)
    orphans = [k for k in set(stored) - live_keys if k not in set(left)]
    old = [k for k in orphans if (at := stored[k]) is not None and at < too_old]
    if old:
        checked.duplicated.append(f"objects: {len(old)} objects without a file left by the sweep")
    checked.figures["objects"] = {
        "stored": len(stored),
        "of live files": len(live_keys),
        "without a file (the sweep's)": len(orphans),
    }


async def pending(db: asyncpg.Connection) -> list[str]:
    """What the attachments still have in flight (for ``chaos_verify.pending``): removals not
    purged, and orders whose count differs from their live files."""
    reasons = []
    unpurged = await db.fetchval(
        "SELECT count(*) FROM attachments.attachments "
        "WHERE deleted_at IS NOT NULL AND purged_at IS NULL"
    )
    if unpurged:
        reasons.append(f"{unpurged} removed attachments not purged")
    differ = await db.fetchval(
        "SELECT count(*) FROM workorders.work_orders o LEFT JOIN (SELECT record_id, count(*) AS n "
        "FROM attachments.attachments WHERE record_kind = 'work_order' AND deleted_at IS NULL "
        "GROUP BY record_id) a ON a.record_id = o.id WHERE o.attachment_count <> coalesce(a.n, 0)"
    )
    if differ:
        reasons.append(f"{differ} orders' attachment counts differ")
    if await db.fetchval(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = 'assets' "
        "AND table_name = 'equipment' AND column_name = 'attachment_count'"
    ):
        differ = await db.fetchval(
            "SELECT count(*) FROM assets.equipment e LEFT JOIN (SELECT record_id, count(*) AS n "
            "FROM attachments.attachments WHERE record_kind = 'equipment' "
            "AND deleted_at IS NULL GROUP BY record_id) a ON a.record_id = e.id "
            "WHERE e.attachment_count <> coalesce(a.n, 0)"
        )
        if differ:
            reasons.append(f"{differ} assets' attachment counts differ")
    return reasons


async def objects_pending(cluster: Cluster, db: asyncpg.Connection) -> list[str]:
    """Objects the sweep should have deleted by now (asked only once all else converged)."""
    rows = await db.fetch(
        "SELECT original_key, screen_key, thumbnail_key, deleted_at FROM attachments.attachments"
    )
    live = {k for r in rows if r["deleted_at"] is None for k in _keys(r)}
    due = datetime.now(UTC) - timedelta(seconds=ORPHAN_AGE + 2 * SWEEP_EVERY)
    stored = await object_keys(cluster)
    waiting = [k for k, at in stored.items() if k not in live and at is not None and at < due]
    return [f"{len(waiting)} objects without a file past the sweep's age"] if waiting else []
