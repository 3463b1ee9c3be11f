"""Webhooks and the exporter under the chaos: a real HTTP receiver that fails for a while, an
integrations process killed while deliveries are in flight, and the organizations' streams.

``Webhooks`` starts an HTTP server on 127.0.0.1 (aiohttp, in a thread of its own, so it outlives
the test's event loops) and registers, through the gateway as the chaos organization's admin,
three endpoints on it:

- ``assets`` (``equipment.*``, ``webhook.*``) and ``orders`` (``wo.*``): they fail only when the
  receiver does (``outage``: 500s, or the port closed - connections refused - for a few
  seconds), so every event they take must arrive;
- ``dead`` (``wo.created``): always 500, so Rivet disables it once a delivery has used up the
  retry schedule (``ENV``: about 25 seconds) and announces ``webhook.endpoint_disabled``,
  which ``assets`` takes.

Every request is verified with ``standardwebhooks`` and counted by its ``webhook-id``.
``kill_mid_delivery`` holds the receiver's answers until an integrations process has requests
in flight to it, finds that process by its TCP connection, kills it (``kill -9``), lets the
answers go and restarts it: its endpoints' leases expire and another replica (or the restarted
process) goes on from their stored cursors, sending again what it had not stored.

``check`` proves, after convergence:

- *webhooks*: every event of the organization that an endpoint takes (read from the domain
  streams, occurred after the endpoint was registered) reached the receiver at least once with
  a 2xx answer, its delivery row (if a send failed) is ``delivered``; the receiver got nothing
  else; no signature failed;
- *delivery log* (``GET .../deliveries``, every page): each answer the log records was given
  by the receiver (same ``webhook-id``, timestamp and status), and each request the receiver
  got is in the log, except at most as many as the delivery has attempts with no log row
  (claimed by a process killed before it stored the outcome) and the sends from the stream a
  process made shortly before it was killed (``KILL_WINDOW``);
- *disabling*: ``dead`` is disabled with a reason, one ``webhook.endpoint_disabled`` names it,
  and auth queued one mail per active admin for it (its mail outbox: no SMTP server here);
- *exporter*: each organization's stream ``ORG_<hex>`` holds each exported event of that
  organization (every exported stream) exactly once, on ``org.<org_id>.<subject>``, and
  nothing else.

Anything short is *lost*, anything over *duplicated*.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import nats
from aiohttp import web
from chaos_cluster import Cluster
from chaos_jobs import Checked
from chaos_scenario import Fault
from chaos_verify import fetch
from chaos_workload import PASSWORD, Workload
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from standardwebhooks import Webhook, WebhookVerificationError

from rivet_contracts.catalog import EVENTS
from rivet_contracts.streams import EXPORTED_STREAMS, ORG_STREAM_PREFIX, org_subject
from rivet_devstack.testing.plugin import all_streams

SERVICE = "integrations"
ENV = {
    "WEBHOOK_ALLOWED_HOSTS": '["127.0.0.1"]',
    # about 25 s of retries (+-20 %): longer than any outage below, so only `dead` is disabled
    "WEBHOOK_SCHEDULE": "[0.5, 1, 2, 3, 4, 5, 5, 5]",
    "WEBHOOK_TIMEOUT": "3",
    "WEBHOOK_LEASE": "6",
    "WEBHOOK_CONCURRENCY": "16",
    "EXPORT_ACK_WAIT": "5",
}
"""The integrations service's settings in the chaos runs: the receiver on 127.0.0.1 allowed, a
short retry schedule, a killed process's deliveries sent again after 6 s and its exported
batch after 5 s."""
ENDPOINTS = {
    "assets": ["equipment.*", "webhook.*"],
    "orders": ["wo.*"],
    "dead": ["wo.created"],
}
DEAD = "dead"


def running(cluster: Cluster) -> bool:
    return bool(cluster.replicas_of(SERVICE))


# --- the receiver ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    path: str
    webhook_id: str
    timestamp: int
    status: int
    """What the receiver answered (the sender may not have heard it)."""
    verified: bool


class Receiver:
    """An HTTP server on 127.0.0.1 in a thread with its own event loop."""

    def __init__(self) -> None:
        self.port = 0
        self.hits: list[Hit] = []
        self.secrets: dict[str, Webhook] = {}
        self.failing_until = 0.0
        self.refusing = False
        self.in_flight: dict[int, str] = {}
        """Client TCP port -> path of each request being answered."""
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._release: asyncio.Event | None = None

    # lifecycle, from the test's threads

    def start(self) -> Receiver:
        self._thread.start()
        self._call(self._listen())
        return self

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def snapshot(self) -> list[Hit]:
        with self._lock:
            return list(self.hits)

    def fail(self, seconds: float) -> None:
        """Answer 500 to everything for ``seconds``."""
        self.failing_until = time.monotonic() + seconds

    def refuse(self, seconds: float) -> None:
        """Close the port (connections refused, open ones closed) for ``seconds``."""
        asyncio.run_coroutine_threadsafe(self._refuse(seconds), self._loop)

    def hold(self) -> None:
        """Keep every answer back until ``release``."""
        self._call(self._hold())

    def release(self) -> None:
        if self._release is not None:
            self._loop.call_soon_threadsafe(self._release.set)

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    # inside the receiver's loop

    async def _hold(self) -> None:
        self._release = asyncio.Event()

    async def _listen(self) -> None:
        app = web.Application()
        app.router.add_route("POST", "/{path}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        if not self.port:
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _refuse(self, seconds: float) -> None:
        self.refusing = True
        await self._stop()
        await asyncio.sleep(seconds)
        for _ in range(50):  # the port is ours again at once (SO_REUSEADDR)
            try:
                await self._listen()
                break
            except OSError:
                await asyncio.sleep(0.1)
        self.refusing = False

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        path = request.match_info["path"]
        peer = request.transport.get_extra_info("peername") if request.transport else None
        port = int(peer[1]) if peer else 0
        self.in_flight[port] = path
        try:
            if self._release is not None:
                await self._release.wait()
        finally:
            self.in_flight.pop(port, None)
        headers = {k.lower(): v for k, v in request.headers.items()}
        verified = False
        hook = self.secrets.get(path)
        if hook is not None:
            with contextlib.suppress(WebhookVerificationError, ValueError):
                hook.verify(body, headers)
                verified = True
        if not verified:
            status = 400
        elif path == DEAD or time.monotonic() < self.failing_until:
            status = 500
        else:
            status = 200
        try:
            timestamp = int(headers.get("webhook-timestamp", "0"))
        except ValueError:
            timestamp = 0
        with self._lock:
            self.hits.append(Hit(path, headers.get("webhook-id", ""), timestamp, status, verified))
        return web.Response(status=status, text="ok" if status == 200 else "no")


# --- the endpoints and the faults ------------------------------------------------------------


@dataclass
class Endpoint:
    name: str
    id: str
    types: list[str]
    registered_at: datetime


@dataclass
class Webhooks:
    receiver: Receiver = field(default_factory=Receiver)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    org_id: str = ""
    token: str = ""
    gateway: str = ""
    kills: list[str] = field(default_factory=list)
    killed_at: list[float] = field(default_factory=list)
    """Wall-clock times of the kills (``webhook-timestamp`` is in whole seconds)."""

    def start(self) -> Webhooks:
        self.receiver.start()
        return self

    def close(self) -> None:
        self.receiver.close()

    async def setup(self, cluster: Cluster, work: Workload) -> None:
        """The endpoints, registered by the workload's admin (its organization's events)."""
        self.org_id, self.gateway = work.org_id, cluster.gateway_url
        async with httpx.AsyncClient(base_url=self.gateway, timeout=15) as client:
            login = await _retry(
                lambda: client.post(
                    "/api/auth/login", data={"username": work.email, "password": PASSWORD}
                ),
                (200,),
            )
            self.token = login.json()["access_token"]
            for name, types in ENDPOINTS.items():
                body = {"url": self.receiver.url(name), "event_types": types, "description": name}
                answer = await _retry(
                    lambda b=body: client.post(  # type: ignore[misc]
                        "/api/integrations/webhooks", json=b, headers=self._headers()
                    ),
                    (201,),
                )
                created = answer.json()
                self.receiver.secrets[name] = Webhook(created["secret"])
                self.endpoints[name] = Endpoint(name, created["id"], types, datetime.now(UTC))

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def outage(self, kind: str, seconds: float) -> Fault:
        """The receiver answers 500 (``kind`` "500") or refuses connections ("refused") for
        ``seconds``; the fault returns at once, the outage ends by itself."""

        async def act(_: Cluster) -> str:
            (self.receiver.fail if kind == "500" else self.receiver.refuse)(seconds)
            return f"{len(self.receiver.snapshot())} webhook requests received so far"

        what = "answers 500" if kind == "500" else "refuses connections"
        return Fault(0, f"webhook receiver {what} for {seconds:g} s", act)

    def kill_mid_delivery(self, down_for: float = 3.0) -> Fault:
        """Hold the receiver's answers until an integrations process has a request in flight
        to it, ``kill -9`` that process, let the answers go, start it again."""

        async def act(cluster: Cluster) -> str:
            replicas = cluster.replicas_of(SERVICE)
            self.receiver.hold()
            name, why = replicas[-1], " (no request in flight seen within 20 s)"
            try:
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    owners = Counter()
                    for port in list(self.receiver.in_flight):
                        owner = await asyncio.to_thread(cluster.owner_of_connection, port)
                        if owner in replicas:
                            owners[owner] += 1
                    if owners:
                        name, count = owners.most_common(1)[0]
                        why = f" ({count} webhook requests in flight)"
                        break
                    await asyncio.sleep(0.1)
                cluster.services[name].kill()
                self.killed_at.append(time.time())
            finally:
                self.receiver.release()
            self.kills.append(name)
            await asyncio.sleep(down_for)
            cluster.services[name].start()
            took = await asyncio.to_thread(cluster.wait_ready, name, 120)
            return f"killed {name}{why}; down {down_for:g} s, ready {took:.1f} s after restart"

        return Fault(0, "kill -9 an integrations process mid-delivery, restart it", act)

    # --- checking -----------------------------------------------------------------------

    async def check(self, cluster: Cluster) -> Checked:
        checked = Checked()
        events = await _domain_events(cluster)
        strays: list[Stray] = []
        await _check_exporter(cluster, events, checked, strays)
        await self._check_webhooks(cluster, events, checked, strays)
        # Time-driven events (wo.overdue, pm.due) go on after the system converged: a copy
        # read after the first reading of the domain streams is stray only if its event is not
        # in them when read again, now.
        later = await _domain_events(cluster)
        for stray in strays:
            unknown = stray.ids - {e.event_id for e in later if stray.belongs(e)}
            if unknown:
                checked.duplicated.append(stray.message.format(len(unknown)))
        return checked

    async def _check_webhooks(
        self, cluster: Cluster, events: list[Event], checked: Checked, strays: list[Stray]
    ) -> None:
        lost = checked.lost
        hits = self.receiver.snapshot()
        by_path: dict[str, list[Hit]] = defaultdict(list)
        for hit in hits:
            by_path[hit.path].append(hit)
        unverified = sum(not hit.verified for hit in hits)
        if unverified:
            lost.append(f"{unverified} webhook requests failed signature verification")
        ours = [e for e in events if e.org_id == self.org_id]
        disabled_events = [e for e in ours if e.type == "webhook.endpoint_disabled"]
        db = await asyncpg.connect(cluster.database_url, timeout=10)
        try:
            async with httpx.AsyncClient(base_url=self.gateway, timeout=30) as client:
                for endpoint in self.endpoints.values():
                    view = await _retry(
                        lambda e=endpoint: client.get(  # type: ignore[misc]
                            f"/api/integrations/webhooks/{e.id}", headers=self._headers()
                        ),
                        (200,),
                    )
                    log = await self._log(client, endpoint)
                    deliveries = await db.fetch(
                        "SELECT id, event_id::text AS event_id, status, attempts "
                        "FROM integrations.webhook_deliveries WHERE endpoint_id = $1",
                        uuid.UUID(endpoint.id),
                    )
                    figures = _agree(
                        endpoint, by_path[endpoint.name], log, deliveries, checked, self.killed_at
                    )
                    if endpoint.name == DEAD:
                        _check_dead(endpoint, view.json(), by_path[DEAD], disabled_events, checked)
                        figures["disabled"] = not view.json()["enabled"]
                        figures["mails to admins"] = await _mails(
                            db, self.org_id, disabled_events, checked
                        )
                    else:
                        expected = {
                            e.event_id
                            for e in ours
                            if e.occurred_at > endpoint.registered_at
                            and any(_takes(p, e.type) for p in endpoint.types)
                        }
                        taken = {
                            e.event_id
                            for e in ours
                            if any(_takes(p, e.type) for p in endpoint.types)
                        }
                        ok = Counter(h.webhook_id for h in by_path[endpoint.name] if h.status < 300)
                        missing = expected - set(ok)
                        if missing:
                            lost.append(
                                f"webhook {endpoint.name}: {len(missing)} of {len(expected)} "
                                f"events never received, e.g. {sorted(missing)[:3]}"
                            )
                        stray = set(ok) - taken
                        if stray:
                            strays.append(
                                Stray(
                                    f"webhook {endpoint.name}: {{}} events received that "
                                    "it does not take",
                                    stray,
                                    lambda e, types=endpoint.types: (
                                        e.org_id == self.org_id
                                        and any(_takes(p, e.type) for p in types)
                                    ),
                                )
                            )
                        unsettled = Counter(
                            d["status"] for d in deliveries if d["status"] != "delivered"
                        )
                        if unsettled:
                            lost.append(f"webhook {endpoint.name}: deliveries {dict(unsettled)}")
                        if not view.json()["enabled"]:
                            lost.append(f"webhook {endpoint.name} was disabled")
                        figures = {
                            "events": len(expected),
                            "received": len(set(ok) & expected),
                            "received twice or more": sum(1 for n in ok.values() if n > 1),
                            **figures,
                        }
                    checked.figures[f"webhook {endpoint.name}"] = figures
        finally:
            await db.close()
        checked.figures["receiver"] = {
            "requests": len(hits),
            "answered 2xx": sum(h.status < 300 for h in hits),
            "answered 500": sum(h.status == 500 for h in hits),
            "signatures failed": unverified,
            "integrations processes killed mid-delivery": len(self.kills),
        }

    async def _log(self, client: httpx.AsyncClient, endpoint: Endpoint) -> list[dict[str, Any]]:
        """The endpoint's whole delivery log, page by page, through the gateway."""
        items: list[dict[str, Any]] = []
        before: int | None = None
        while True:
            params: dict[str, Any] = {"limit": 200}
            if before is not None:
                params["before"] = before
            page = await _retry(
                lambda p=params: client.get(  # type: ignore[misc]
                    f"/api/integrations/webhooks/{endpoint.id}/deliveries",
                    params=p,
                    headers=self._headers(),
                ),
                (200,),
            )
            body = page.json()
            items += body["items"]
            before = body["next_before"]
            if before is None:
                return items

    def summary(self, checked: Checked) -> list[str]:
        lines = []
        for name, figures in checked.figures.items():
            text = ", ".join(f"{k} {v}" for k, v in figures.items())
            lines.append(f"{name:<18}{text}")
        lines.append(f"  lost {len(checked.lost)}, duplicated {len(checked.duplicated)}")
        lines += [f"  - {item}" for item in (checked.lost + checked.duplicated)[:20]]
        return lines


def _takes(pattern: str, event_type: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


KILL_WINDOW = 25.0
"""Seconds before a kill in which the killed process may have sent a request it never logged:
the receiver holds answers up to 20 s until it sees one in flight, and a process stores what
it sent from the stream every fraction of a second."""


def _agree(
    endpoint: Endpoint,
    hits: list[Hit],
    log: list[dict[str, Any]],
    deliveries: list[asyncpg.Record],
    checked: Checked,
    killed_at: list[float],
) -> dict[str, Any]:
    """The delivery log against the receiver, delivery by delivery. A request the log lacks is
    accounted for by a delivery row's attempt without a log row (its process died after the
    claim), or by a send from the stream a process made shortly before it was killed (stored
    with its cursor, which the next holder went on from, sending it again)."""
    claimed = {d["event_id"]: d["attempts"] for d in deliveries}
    logged: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in log:
        logged[item["event_id"]].append(item)
    received: dict[str, list[Hit]] = defaultdict(list)
    for hit in hits:
        received[hit.webhook_id].append(hit)

    def before_a_kill(hit: Hit) -> bool:
        return any(at - KILL_WINDOW <= hit.timestamp <= at + 1 for at in killed_at)

    answered_unseen = unlogged_hits = unaccounted = by_killed = 0
    for event_id in logged.keys() | received.keys():
        rows, left = logged.get(event_id, []), list(received.get(event_id, []))
        for row in rows:
            stamp = int(datetime.fromisoformat(row["attempted_at"]).timestamp())
            match = next(
                (
                    h
                    for h in left
                    if h.timestamp == stamp
                    and (row["status_code"] is None or h.status == row["status_code"])
                ),
                None,
            )
            if match is not None:
                left.remove(match)
            elif row["status_code"] is not None:
                answered_unseen += 1  # an answer the receiver never gave
        # attempts of a delivery row that no log row records (claimed by a killed process)
        no_row = max(0, claimed.get(event_id, 0) - len(rows))
        unlogged_hits += len(left)
        extra = len(left) - no_row
        if extra > 0:
            killed = sum(1 for h in left if before_a_kill(h))
            by_killed += min(extra, killed)
            unaccounted += max(0, extra - killed)
    if answered_unseen:
        checked.lost.append(
            f"webhook {endpoint.name}: {answered_unseen} answers in the log the receiver never gave"
        )
    if unaccounted:
        checked.duplicated.append(
            f"webhook {endpoint.name}: {unaccounted} requests received that the log does not "
            "account for"
        )
    return {
        "attempts logged": len(log),
        "attempts of delivery rows": sum(claimed.values()),
        "requests received": len(hits),
        "received, not logged (process killed)": unlogged_hits,
        "of which sent from the stream just before a kill": by_killed,
    }


def _check_dead(
    endpoint: Endpoint,
    view: dict[str, Any],
    hits: list[Hit],
    disabled_events: list[Event],
    checked: Checked,
) -> None:
    if view["enabled"] or not view["disabled_reason"]:
        checked.lost.append(f"webhook {endpoint.name}: not disabled ({view['disabled_reason']})")
    if any(h.status < 300 for h in hits):
        checked.duplicated.append(f"webhook {endpoint.name}: a request was answered 2xx")
    named = [e for e in disabled_events if e.data.get("webhook_id") == endpoint.id]
    if len(named) != 1:
        (checked.lost if not named else checked.duplicated).append(
            f"webhook {endpoint.name}: {len(named)} webhook.endpoint_disabled events"
        )


async def _mails(
    db: asyncpg.Connection, org_id: str, disabled: list[Event], checked: Checked
) -> int:
    """Auth queued one mail per active admin for each ``webhook.endpoint_disabled`` (the chaos
    cluster has no SMTP server, so the mail outbox keeps them)."""
    if os.environ.get("SMTP_URL"):
        return -1  # sent and deleted: not countable here
    admins = await db.fetchval(
        "SELECT count(*) FROM auth.users WHERE org_id = $1 AND role = 'admin' AND is_active",
        uuid.UUID(org_id),
    )
    queued = 0
    for event in disabled:
        rows = await db.fetchval(
            "SELECT count(*) FROM auth.mail_outbox WHERE key LIKE $1",
            f"webhook-disabled:{event.event_id}:%",
        )
        queued += rows
        if rows != admins:
            (checked.lost if rows < admins else checked.duplicated).append(
                f"webhook.endpoint_disabled {event.event_id}: {rows} mails for {admins} admins"
            )
    return int(queued)


# --- the exporter ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    stream: str
    subject: str
    event_id: str
    type: str
    org_id: str | None
    occurred_at: datetime
    data: dict[str, Any]


async def _read(js: Any, stream: str, total: int) -> list[tuple[str, dict[str, Any]]]:
    """(subject, envelope) of every message of ``stream``."""
    found: list[tuple[str, dict[str, Any]]] = []
    if not total:
        return found
    sub = await js.pull_subscribe(
        ">",
        stream=stream,
        config=ConsumerConfig(
            ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=30
        ),
    )
    try:
        while len(found) < total:
            try:
                batch = await fetch(sub, 500, 5)
            except TimeoutError:  # nats-py's, or asyncio's from a pull of several
                break
            for msg in batch:
                try:
                    found.append((msg.subject, json.loads(msg.data)))
                except ValueError:
                    found.append((msg.subject, {}))
    finally:
        await sub.unsubscribe()
    return found


async def _domain_events(cluster: Cluster) -> list[Event]:
    """Every event of the exported streams."""
    nc = await nats.connect(cluster.nats_servers, connect_timeout=5, max_reconnect_attempts=3)
    events: list[Event] = []
    try:
        js = nc.jetstream()
        infos = {info.config.name: info for info in await all_streams(js)}
        for spec in EXPORTED_STREAMS:
            info = infos.get(spec.name)
            if info is None:
                continue
            for subject, body in await _read(js, spec.name, info.state.messages):
                occurred = datetime.fromisoformat(body.get("occurred_at", "1970-01-01T00:00:00Z"))
                if occurred.tzinfo is None:
                    occurred = occurred.replace(tzinfo=UTC)
                events.append(
                    Event(
                        spec.name,
                        subject,
                        str(body.get("event_id")),
                        subject,
                        body.get("org_id"),
                        occurred,
                        body.get("data") or {},
                    )
                )
    finally:
        await nc.close()
    return events


@dataclass
class Stray:
    """Copies whose events were not found when first read: checked again at the end."""

    message: str
    ids: set[str]
    belongs: Callable[[Event], bool]


async def _check_exporter(
    cluster: Cluster, events: list[Event], checked: Checked, strays: list[Stray]
) -> None:
    expected: dict[str, dict[str, str]] = defaultdict(dict)
    for event in events:
        spec = EVENTS.get(event.subject)
        if spec is not None and spec.exported and event.org_id:
            expected[event.org_id][event.event_id] = event.subject
    nc = await nats.connect(cluster.nats_servers, connect_timeout=5, max_reconnect_attempts=3)
    copies = 0
    try:
        js = nc.jetstream()
        streams = {
            info.config.name: info
            for info in await all_streams(js)
            if info.config.name.startswith(ORG_STREAM_PREFIX)
        }
        for org_id, wanted in expected.items():
            name = f"{ORG_STREAM_PREFIX}{uuid.UUID(org_id).hex.upper()}"
            info = streams.pop(name, None)
            held = await _read(js, name, info.state.messages) if info is not None else []
            copies += len(held)
            counted = Counter(str(body.get("event_id")) for _, body in held)
            missing = set(wanted) - set(counted)
            if missing:
                checked.lost.append(
                    f"{name}: {len(missing)} of {len(wanted)} exported events missing"
                )
            doubled = [event_id for event_id, n in counted.items() if n > 1]
            if doubled:
                checked.duplicated.append(f"{name}: {len(doubled)} events stored more than once")
            stray = set(counted) - set(wanted)
            if stray:
                strays.append(
                    Stray(
                        f"{name}: {{}} events that are not its own",
                        stray,
                        lambda e, org=org_id: (
                            e.org_id == org
                            and (spec := EVENTS.get(e.subject)) is not None
                            and bool(spec.exported)
                        ),
                    )
                )
            misplaced = sum(
                1
                for subject, body in held
                if str(body.get("event_id")) in wanted
                and subject != org_subject(uuid.UUID(org_id), wanted[str(body.get("event_id"))])
            )
            if misplaced:
                checked.duplicated.append(f"{name}: {misplaced} events on the wrong subject")
        for name in streams:  # an organization's stream without any exported event
            if streams[name].state.messages:
                checked.duplicated.append(f"{name}: holds events no exported stream has")
    finally:
        await nc.close()
    exported = sum(len(v) for v in expected.values())
    checked.figures["exporter"] = {
        "organizations": len(expected),
        "exported events": exported,
        "copies in the organizations' streams": copies,
    }


async def _retry(call: Any, ok: tuple[int, ...], tries: int = 60) -> httpx.Response:
    """A request retried while the system recovers (5xx, connection errors)."""
    last: object = None
    for _ in range(tries):
        try:
            answer: httpx.Response = await call()
        except httpx.HTTPError as exc:
            last = exc
        else:
            if answer.status_code in ok:
                return answer
            last = f"{answer.status_code} {answer.text[:200]}"
            if answer.status_code < 500:
                break
        await asyncio.sleep(1)
    raise RuntimeError(f"webhook request failed: {last}")


@contextlib.contextmanager
def receiving() -> Iterator[Webhooks]:
    """A started receiver, stopped afterwards (also after a failure)."""
    hooks = Webhooks().start()
    try:
        yield hooks
    finally:
        hooks.close()
