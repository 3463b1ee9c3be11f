"""A steady stream of changes through the gateway, every outcome recorded.

Operations: asset creations (unique serials), asset updates (location and status, with
``expected_version``), work-order creations against known assets and work-order transitions
(with ``expected_version``). A bounded number of workers run them; each entity is worked by one
worker at a time, so the client always knows which version it expects.

Every operation ends as:
- ``ok``: a 2xx answer; the change must be in the database;
- ``failed``: a 4xx/5xx answer; a 4xx changed nothing, a 5xx may have (a 504 whose handler
  committed after the gateway stopped waiting);
- ``unknown``: a timeout or connection error; it may or may not have happened.
After a 5xx or unknown outcome the entity is re-read before it is used again.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

BRANDS = ("ABB", "Siemens", "Allen-Bradley", "Grundfos", "WEG", "Baldor", "SEW-Eurodrive")
PRIORITIES = ("low", "medium", "high", "critical")
WORK_TYPES = ("corrective", "preventive", "inspection")
OVERDUE_SHARE = 0.3
"""Orders created due within half a minute, so that their deadline passes during the run."""
NEXT = {
    "open": (("in_progress", 0.8), ("cancelled", 0.2)),
    "in_progress": (("on_hold", 0.3), ("completed", 0.7)),
    "on_hold": (("in_progress", 0.6), ("completed", 0.4)),
    "completed": (("open", 1.0),),
    "cancelled": (("open", 1.0),),
}
NEEDS_REASON = {"cancelled", "open"}
PASSWORD = "chaos monkey battery"


@dataclass
class Op:
    kind: str
    outcome: str  # ok | failed | unknown
    status: int | None
    started: float
    elapsed: float
    error: str = ""


@dataclass
class Asset:
    id: str
    serial: str
    version: int
    acked_version: int = 1
    acked_updates: int = 0
    maybe_updates: int = 0
    """5xx or unknown update attempts: they may have been applied."""
    dirty: bool = False


@dataclass
class Order:
    id: str
    title: str
    status: str
    version: int
    acked: list[tuple[int, str, str]] = field(default_factory=list)
    """(version after, from, to) of every acknowledged transition."""
    maybe: int = 0
    dirty: bool = False


@dataclass
class Workload:
    base_url: str
    target: int
    workers: int = 12
    seed: int = 7
    request_timeout: float = 15.0
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    ops: list[Op] = field(default_factory=list)
    assets: dict[str, Asset] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    asset_serials_sent: set[str] = field(default_factory=set)
    asset_creates_maybe: set[str] = field(default_factory=set)
    order_titles_sent: dict[str, str] = field(default_factory=dict)
    """title -> outcome of its create (ok / failed / unknown)."""
    order_creates_maybe: set[str] = field(default_factory=set)
    resyncs: Counter[str] = field(default_factory=Counter)
    email: str = ""
    org_id: str = ""
    _started_ops: int = 0
    _serial: int = 0
    _token: str = ""
    _token_at: float = 0.0
    _idle_assets: list[str] = field(default_factory=list)
    _idle_orders: list[str] = field(default_factory=list)
    _client: httpx.AsyncClient | None = None
    on_op: Callable[[int], Awaitable[None]] | None = None
    more_ops: Callable[[Workload, random.Random], Awaitable[Op | None]] | None = None
    """More operations (files added and removed: ``chaos_attachments``), run for
    ``more_share`` of the operations; None from it: one of the usual operations instead."""
    more_share: float = 0.0

    @property
    def done(self) -> int:
        return len(self.ops)

    # --- session ----------------------------------------------------------------------

    async def setup(self, client: httpx.AsyncClient) -> None:
        """Register an organization (its admin) and log in; retried while the system starts."""
        self._client = client
        self.email = f"chaos-{self.run}@example.com"
        body = {
            "email": self.email,
            "password": PASSWORD,
            "full_name": "Chaos Admin",
            "organization_name": f"Chaos {self.run}",
        }
        for _ in range(60):
            try:
                answer = await client.post("/api/auth/register", json=body)
            except httpx.HTTPError:
                await asyncio.sleep(1)
                continue
            if answer.status_code in (201, 409):
                break
            await asyncio.sleep(1)
        else:
            raise RuntimeError("could not register the chaos organization")
        await self._login()
        me = await client.get("/api/auth/me", headers=self._headers())
        me.raise_for_status()
        self.org_id = me.json()["org_id"]

    async def _login(self) -> None:
        assert self._client is not None
        for _ in range(90):
            try:
                answer = await self._client.post(
                    "/api/auth/login", data={"username": self.email, "password": PASSWORD}
                )
            except httpx.HTTPError:
                await asyncio.sleep(1)
                continue
            if answer.status_code == 200:
                self._token = answer.json()["access_token"]
                self._token_at = time.monotonic()
                return
            await asyncio.sleep(1)
        raise RuntimeError("could not log in")

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    # --- the run ----------------------------------------------------------------------

    async def run_all(self) -> None:
        await asyncio.gather(*(self._worker(i) for i in range(self.workers)))

    async def _worker(self, number: int) -> None:
        rng = random.Random(self.seed * 1000 + number)
        while self._started_ops < self.target:
            if time.monotonic() - self._token_at > 600:  # tokens live 15 minutes
                self._token_at = time.monotonic()
                await self._login()
            self._started_ops += 1
            op = await self._one(rng)
            if op is None:  # the entity could not be re-read: nothing was sent
                self._started_ops -= 1
                await asyncio.sleep(0.3)
                continue
            self.ops.append(op)
            if self.on_op is not None:
                await self.on_op(self.done)
            if op.outcome == "unknown" or (op.status or 0) >= 500:
                await asyncio.sleep(0.2 + rng.random() * 0.3)  # back off like a real client

    async def _one(self, rng: random.Random) -> Op | None:
        if self.more_ops is not None and self.assets and rng.random() < self.more_share:
            op = await self.more_ops(self, rng)
            if op is not None:
                return op
        roll = rng.random()
        if roll < 0.40 and self._idle_orders:
            return await self._transition(rng)
        if roll < 0.50 and self._idle_assets:
            return await self._update_asset(rng)
        if roll < 0.75 and self.assets:
            return await self._create_order(rng)
        return await self._create_asset(rng)

    async def _call(
        self, kind: str, method: str, url: str, **kwargs: Any
    ) -> tuple[Op, httpx.Response | None]:
        assert self._client is not None
        started = time.monotonic()
        headers = self._headers() | kwargs.pop("headers", {})
        try:
            answer = await self._client.request(
                method, url, headers=headers, timeout=self.request_timeout, **kwargs
            )
        except httpx.HTTPError as exc:
            return Op(kind, "unknown", None, started, time.monotonic() - started, repr(exc)), None
        elapsed = time.monotonic() - started
        if answer.status_code < 400:
            return Op(kind, "ok", answer.status_code, started, elapsed), answer
        error = answer.text[:200]
        return Op(kind, "failed", answer.status_code, started, elapsed, error), answer

    @staticmethod
    def _maybe_applied(op: Op) -> bool:
        return op.outcome == "unknown" or (op.status or 0) >= 500

    # --- operations -------------------------------------------------------------------

    async def _create_asset(self, rng: random.Random) -> Op:
        self._serial += 1
        n = self._serial
        serial = f"CH{self.run}-{n:06d}"
        self.asset_serials_sent.add(serial)
        body = {
            "manufacturer": rng.choice(BRANDS),
            "model": f"MX {rng.randint(100, 999)}-{n}",
            "serial": serial,
            "name": f"Chaos asset {n}",
            "location": f"Plant {n % 3} / Line {n % 7}",
            "criticality": rng.choice(PRIORITIES),
        }
        op, answer = await self._call("asset.create", "POST", "/api/equipment", json=body)
        if op.outcome == "ok" and answer is not None:
            result = answer.json()
            if result["outcome"] != "created":
                op.outcome, op.error = "failed", f"outcome {result['outcome']}"
                return op
            view = result["equipment"]
            self.assets[view["id"]] = Asset(view["id"], serial, view["version"])
            self._idle_assets.append(view["id"])
        elif self._maybe_applied(op):
            self.asset_creates_maybe.add(serial)
        return op

    async def _update_asset(self, rng: random.Random) -> Op | None:
        asset = self.assets[self._idle_assets.pop(rng.randrange(len(self._idle_assets)))]
        try:
            if asset.dirty and not await self._resync_asset(asset):
                return None
            status = "out_of_service" if rng.random() < 0.3 else "in_service"
            body = {"location": f"Bay {asset.version + 1}-{rng.randint(0, 99)}", "status": status}
            op, answer = await self._call(
                "asset.update",
                "PATCH",
                f"/api/equipment/{asset.id}",
                params={"expected_version": asset.version},
                json=body,
            )
            if op.outcome == "ok" and answer is not None:
                version = answer.json()["version"]
                if version > asset.version:
                    asset.acked_updates += 1
                asset.version = asset.acked_version = version
            elif self._maybe_applied(op):
                asset.maybe_updates += 1
                asset.dirty = True
            elif op.status == 409:
                asset.dirty = True
            return op
        finally:
            self._idle_assets.append(asset.id)

    async def _resync_asset(self, asset: Asset) -> bool:
        assert self._client is not None
        self.resyncs["asset"] += 1
        try:
            answer = await self._client.get(
                f"/api/equipment/{asset.id}", headers=self._headers(), timeout=10
            )
        except httpx.HTTPError:
            return False
        if answer.status_code != 200:
            return False
        asset.version, asset.dirty = answer.json()["version"], False
        return True

    async def _create_order(self, rng: random.Random) -> Op:
        asset_id = rng.choice(list(self.assets))
        title = f"Chaos {self.run} order {len(self.order_titles_sent) + 1}"
        self.order_titles_sent[title] = "sent"
        body = {
            "equipment_id": asset_id,
            "title": title,
            "priority": rng.choice(PRIORITIES),
            "work_type": rng.choice(WORK_TYPES),
        }
        if rng.random() < OVERDUE_SHARE:  # passes its deadline during the run: wo.overdue
            due = datetime.now(UTC) + timedelta(seconds=rng.uniform(3.0, 30.0))
            body["due_at"] = due.isoformat()
        op, answer = await self._call("wo.create", "POST", "/api/work-orders", json=body)
        self.order_titles_sent[title] = op.outcome
        if op.outcome == "ok" and answer is not None:
            view = answer.json()
            self.orders[view["id"]] = Order(view["id"], title, view["status"], view["version"])
            self._idle_orders.append(view["id"])
        elif self._maybe_applied(op):
            self.order_creates_maybe.add(title)
        return op

    async def _transition(self, rng: random.Random) -> Op | None:
        order = self.orders[self._idle_orders.pop(rng.randrange(len(self._idle_orders)))]
        try:
            if order.dirty and not await self._resync_order(order):
                return None
            choices, weights = zip(*NEXT[order.status], strict=True)
            target = rng.choices(choices, weights)[0]
            body: dict[str, Any] = {"status": target, "expected_version": order.version}
            if target in NEEDS_REASON:
                body["reason"] = "chaos run"
            op, answer = await self._call(
                "wo.transition", "PATCH", f"/api/work-orders/{order.id}", json=body
            )
            if op.outcome == "ok" and answer is not None:
                view = answer.json()
                order.acked.append((view["version"], order.status, view["status"]))
                order.status, order.version = view["status"], view["version"]
            elif self._maybe_applied(op):
                order.maybe += 1
                order.dirty = True
            elif op.status == 409:
                order.dirty = True
            return op
        finally:
            self._idle_orders.append(order.id)

    async def _resync_order(self, order: Order) -> bool:
        assert self._client is not None
        self.resyncs["order"] += 1
        try:
            answer = await self._client.get(
                f"/api/work-orders/{order.id}", headers=self._headers(), timeout=10
            )
        except httpx.HTTPError:
            return False
        if answer.status_code != 200:
            return False
        view = answer.json()
        order.status, order.version, order.dirty = view["status"], view["version"], False
        return True

    # --- figures ----------------------------------------------------------------------

    def outcomes(self) -> Counter[str]:
        return Counter(op.outcome for op in self.ops)

    def by_kind(self) -> dict[str, Counter[str]]:
        table: dict[str, Counter[str]] = {}
        for op in self.ops:
            table.setdefault(op.kind, Counter())[op.outcome] += 1
        return table

    def statuses(self) -> Counter[str]:
        return Counter(str(op.status) for op in self.ops if op.outcome == "failed")
