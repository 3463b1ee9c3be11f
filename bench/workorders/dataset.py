"""A synthetic CMMS history for the stats benchmark, loaded with COPY into schema ``workorders``.

One large organization (100,000 assets, 1,000,000 work orders over three years, 200 people)
and a small second one as noise. The rollup tables are filled with what the service would have
built event by event: each order's contribution (counts by status and priority, open orders by
due day, daily flows, fault codes, the decayed corrective and downtime sums per asset) and the
health score, computed here by the rules docs/workorders.md documents (``Rollups``, ``score``
below: the benchmark's own copy, no service code). ``rollup_state``, ``timeline`` and the
messaging tables are left empty: no stats read touches them.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from rivet_contracts.assets import Criticality
from rivet_contracts.workorders import OPEN_STATUSES, Priority, WorkOrderStatus, WorkType

BRANDS = ["Baldor", "Siemens", "ABB", "WEG", "Grundfos", "SEW", "Nord", "Danfoss", "Schneider",
          "Yaskawa", "Toshiba", "Leeson", "Marathon", "Lenze", "KSB", "Flowserve", "Atlas Copco",
          "Ingersoll Rand", "Emerson", "Rockwell"]  # fmt: skip
HISTORY = timedelta(days=3 * 365)
S = WorkOrderStatus

# --- the service's documented rules (docs/workorders.md), restated ------------------------

DUE_OFFSETS: dict[Priority, timedelta] = {
    Priority.CRITICAL: timedelta(hours=4),
    Priority.HIGH: timedelta(days=1),
    Priority.MEDIUM: timedelta(days=7),
    Priority.LOW: timedelta(days=30),
}
"""Default due date = creation + this offset."""
DAILY_COLUMNS = ("created", "completed", "cancelled", "reopened", "planned", "reactive",
                 "acknowledged", "ack_seconds", "repaired", "repair_seconds",
                 "downtime_seconds")  # fmt: skip
"""The counters of ``workorders.wo_daily``."""
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
HALF_LIFE = timedelta(days=30)
PRIORITY_WEIGHTS = {Priority.LOW: 2.0, Priority.MEDIUM: 5.0, Priority.HIGH: 10.0,
                    Priority.CRITICAL: 20.0}  # fmt: skip
CRITICALITY_FACTORS = {Criticality.LOW: 0.75, Criticality.MEDIUM: 1.0, Criticality.HIGH: 1.25,
                       Criticality.CRITICAL: 1.5}  # fmt: skip
DOWNTIME_POINTS_PER_HOUR, OPEN_ORDER_POINTS, OVERDUE_ORDER_POINTS = 1.0, 3.0, 7.0
GOOD, FAIR = 80, 50


def growth(at: datetime) -> float:
    """``2^((at - EPOCH) / HALF_LIFE)``: the weight a decaying term is stored with."""
    return float(2.0 ** ((at - EPOCH) / HALF_LIFE))


def score(
    criticality: Criticality, corrective: float, downtime: float, open_orders: int,
    overdue: int, now: datetime,
) -> int:  # fmt: skip
    """100 - criticality factor x (corrective + downtime points + 3 x open + 7 x overdue)."""
    factor = float(2.0 ** (-((now - EPOCH) / HALF_LIFE)))
    penalty = CRITICALITY_FACTORS[criticality] * (
        max(corrective, 0.0) * factor + max(downtime, 0.0) * factor
        + OPEN_ORDER_POINTS * open_orders + OVERDUE_ORDER_POINTS * overdue
    )  # fmt: skip
    return min(100, max(0, math.floor(100.0 - penalty + 0.5)))


def band(value: int) -> str:
    return "good" if value >= GOOD else "fair" if value >= FAIR else "poor"


def day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def seconds(delta: timedelta) -> int:
    return round(delta.total_seconds())


@dataclass(frozen=True)
class Facts:
    """The part of a work order the rollups count."""

    equipment_id: uuid.UUID
    status: WorkOrderStatus
    priority: Priority
    work_type: WorkType
    due_at: datetime
    created_at: datetime
    acknowledged_at: datetime | None
    completed_at: datetime | None
    estimated_minutes: int | None
    downtime_start: datetime | None
    downtime_end: datetime | None
    fault_codes: tuple[str, ...]


@dataclass
class Rollups:
    """The sums of every rollup table, keyed like the tables."""

    counts: defaultdict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0])
    )  # (status, priority) -> [orders, estimated_minutes, unestimated]
    due: Counter[date] = field(default_factory=Counter)  # open orders by UTC due day
    daily: defaultdict[date, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    faults: Counter[str] = field(default_factory=Counter)
    decay: defaultdict[uuid.UUID, list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0.0, 0.0])
    )  # equipment -> [corrective, downtime]

    def add(self, f: Facts) -> None:
        """The contribution of one work order."""
        counts = self.counts[(f.status.value, f.priority.value)]
        counts[0] += 1
        counts[1] += f.estimated_minutes or 0
        counts[2] += f.estimated_minutes is None
        if f.status in OPEN_STATUSES:
            self.due[day(f.due_at)] += 1
        if f.status is S.CANCELLED:
            return  # not work done: no failure, KPI or health effect
        created = self.daily[day(f.created_at)]
        corrective = f.work_type is WorkType.CORRECTIVE
        created["reactive" if corrective else "planned"] += 1
        if f.acknowledged_at is not None:
            created["acknowledged"] += 1
            created["ack_seconds"] += seconds(f.acknowledged_at - f.created_at)
        for code in f.fault_codes:
            self.faults[code] += 1
        decay = self.decay[f.equipment_id]
        if corrective:
            decay[0] += PRIORITY_WEIGHTS[f.priority] * growth(f.created_at)
        if f.downtime_start is not None and f.downtime_end is not None:
            down = seconds(f.downtime_end - f.downtime_start)
            self.daily[day(f.downtime_start)]["downtime_seconds"] += down
            decay[1] += DOWNTIME_POINTS_PER_HOUR * (down / 3600) * growth(f.downtime_start)
            if corrective and f.status is S.COMPLETED and f.completed_at:
                repaired = self.daily[day(f.completed_at)]
                repaired["repaired"] += 1
                repaired["repair_seconds"] += down


@dataclass
class Org:
    id: uuid.UUID
    assets: int
    orders: int
    users: list[uuid.UUID] = field(default_factory=list)
    asset_ids: list[uuid.UUID] = field(default_factory=list)


@dataclass
class Totals:
    """Per-organization state accumulated while orders stream out, for the rollup tables."""

    deltas: Rollups = field(default_factory=Rollups)
    open_by_asset: defaultdict[uuid.UUID, list[datetime]] = field(
        default_factory=lambda: defaultdict(list)
    )
    years: Counter[int] = field(default_factory=Counter)


def pick(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def equipment_rows(org: Org, rng: random.Random) -> list[tuple[Any, ...]]:
    rows = []
    for n in range(org.assets):
        asset = uuid.uuid4()
        org.asset_ids.append(asset)
        brand = BRANDS[min(int(rng.paretovariate(1.2)) - 1, len(BRANDS) - 1)]
        criticality = pick(rng, {"low": 20, "medium": 50, "high": 22, "critical": 8})
        status = pick(rng, {"in_service": 95, "out_of_service": 3, "retired": 2})
        rows.append((asset, org.id, f"EQ-2024-{n + 1:06d}", f"Asset {n + 1}", brand,
                     f"M-{rng.randrange(5000)}", f"SN{rng.randrange(10**9):09d}",
                     f"Plant {rng.randrange(1, 9)} / Line {rng.randrange(1, 30)}", criticality,
                     status, 1))  # fmt: skip
    return rows


def orders(
    org: Org, now: datetime, rng: random.Random, totals: Totals
) -> Iterator[tuple[Any, ...]]:
    """The organization's work orders, oldest first, as ``work_orders`` COPY records."""
    start = now - HISTORY
    span = HISTORY.total_seconds()
    codes = [f"F{n:04d}" for n in range(400)]
    # Sorted creation times so numbers follow time, as the service assigns them.
    moments = sorted(rng.random() ** 0.8 for _ in range(org.orders))  # busier lately
    for position in moments:
        created = start + timedelta(seconds=position * span)
        totals.years[created.year] += 1
        yield order(org, rng, created, now, codes, totals)


def order(
    org: Org, rng: random.Random, created: datetime, now: datetime, codes: list[str], totals: Totals
) -> tuple[Any, ...]:
    work_type = pick(rng, {WorkType.CORRECTIVE: 55, WorkType.PREVENTIVE: 30,
                           WorkType.INSPECTION: 10, WorkType.PREDICTIVE: 5})  # fmt: skip
    priority = pick(rng, {Priority.LOW: 30, Priority.MEDIUM: 45, Priority.HIGH: 20,
                          Priority.CRITICAL: 5})  # fmt: skip
    age = now - created
    if age > timedelta(days=60):
        status = pick(rng, {S.COMPLETED: 93, S.CANCELLED: 5, S.OPEN: 1, S.ON_HOLD: 1})
    else:
        status = pick(rng, {S.OPEN: 30, S.IN_PROGRESS: 15, S.ON_HOLD: 5, S.COMPLETED: 45,
                            S.CANCELLED: 5})  # fmt: skip
    ack = done = cancelled = None
    if status in (S.IN_PROGRESS, S.ON_HOLD, S.COMPLETED):
        ack = min(created + timedelta(hours=rng.expovariate(1 / 4)), now)
    if status is S.COMPLETED and ack is not None:
        done = min(ack + timedelta(hours=rng.expovariate(1 / 8)), now)
    if status is S.CANCELLED:
        cancelled = min(created + timedelta(hours=rng.expovariate(1 / 24)), now)
    down_start = down_end = None
    if work_type is WorkType.CORRECTIVE and rng.random() < 0.4:
        down_start = created - timedelta(minutes=rng.randrange(120))
        down_end = done
    estimate = rng.randrange(30, 480, 15) if rng.random() < 0.7 else None
    faults = rng.sample(codes[: rng.choice([40, 400])], rng.randrange(1, 3)) \
        if work_type is WorkType.CORRECTIVE and rng.random() < 0.6 else []  # fmt: skip
    asset = org.asset_ids[int(len(org.asset_ids) * rng.random() ** 1.5)]  # some assets fail more
    due = created + DUE_OFFSETS[priority]
    facts = Facts(equipment_id=asset, status=status, priority=priority, work_type=work_type,
                  due_at=due, created_at=created, acknowledged_at=ack, completed_at=done,
                  estimated_minutes=estimate, downtime_start=down_start, downtime_end=down_end,
                  fault_codes=tuple(sorted(faults)))  # fmt: skip
    totals.deltas.add(facts)
    flows = totals.deltas.daily
    flows[created.date()]["created"] += 1
    if done is not None:
        flows[done.date()]["completed"] += 1
    if cancelled is not None:
        flows[cancelled.date()]["cancelled"] += 1
    if status in OPEN_STATUSES:
        totals.open_by_asset[asset].append(due)
    number = f"WO-{created.year}-{totals.years[created.year]:06d}"
    last = done or cancelled or ack or created
    return (uuid.uuid4(), org.id, number, asset, f"Job {number}", None, faults, [],
            priority.value, status.value, work_type.value, "api", due,
            rng.choice(org.users) if rng.random() < 0.85 else None, rng.choice(org.users),
            estimate, None, down_start, down_end, created, last, ack,
            ack if status in (S.IN_PROGRESS, S.ON_HOLD, S.COMPLETED) else None,
            last if status is S.ON_HOLD else None, done, cancelled, None, last, 1)  # fmt: skip


ORDER_COLUMNS = ["id", "org_id", "number", "equipment_id", "title", "description", "fault_codes",
                 "symptoms", "priority", "status", "work_type", "source", "due_at", "assignee_id",
                 "requester_id", "estimated_minutes", "labour_minutes", "downtime_start",
                 "downtime_end", "created_at", "updated_at", "acknowledged_at", "started_at",
                 "on_hold_at", "completed_at", "cancelled_at", "reopened_at", "status_changed_at",
                 "version"]  # fmt: skip


async def load(conn: asyncpg.Connection, spec: list[Org], now: datetime, seed: int) -> None:
    rng = random.Random(seed)
    for org in spec:
        org.users = [uuid.uuid4() for _ in range(200 if org.orders > 100_000 else 10)]
        people = [
            (u, org.id, f"Tech {i}", f"t{i}@{org.id}.test", "technician")
            for i, u in enumerate(org.users)
        ]
        await conn.copy_records_to_table("users", schema_name="workorders", records=people)
        assets = equipment_rows(org, rng)
        totals = Totals()
        batch: list[tuple[Any, ...]] = []
        for record in orders(org, now, rng, totals):
            batch.append(record)
            if len(batch) == 50_000:
                await _copy_orders(conn, batch)
                batch = []
        await _copy_orders(conn, batch)
        await _copy_equipment(conn, org, assets, totals, now)
        await _copy_rollups(conn, org, totals)


async def _copy_orders(conn: asyncpg.Connection, batch: list[tuple[Any, ...]]) -> None:
    if batch:
        await conn.copy_records_to_table(
            "work_orders", schema_name="workorders", columns=ORDER_COLUMNS, records=batch
        )


async def _copy_equipment(
    conn: asyncpg.Connection, org: Org, assets: list[tuple[Any, ...]], totals: Totals, now: datetime
) -> None:
    counts: Counter[tuple[str, str]] = Counter()
    scores: list[int] = []
    rows = []
    for row in assets:
        asset, brand, criticality, status = row[0], row[4], row[8], row[9]
        counts[(brand, status)] += 1
        corrective, downtime = totals.deltas.decay.get(asset, [0.0, 0.0])
        dues = totals.open_by_asset.get(asset, [])
        overdue = sum(1 for d in dues if d < now)
        upcoming = [d for d in dues if d >= now]
        value = score(Criticality(criticality), corrective, downtime, len(dues), overdue, now)
        scores.append(value)
        rows.append((*row, corrective, downtime, len(dues), overdue,
                     min(upcoming) if upcoming else None, value, now))  # fmt: skip
    columns = ["id", "org_id", "number", "name", "manufacturer", "model", "serial", "location",
               "criticality", "status", "version", "decay_corrective", "decay_downtime",
               "open_orders", "overdue_orders", "next_due_at", "score", "scored_at"]  # fmt: skip
    await conn.copy_records_to_table("equipment", schema_name="workorders", columns=columns,
                                     records=rows)  # fmt: skip
    await conn.copy_records_to_table(
        "equipment_counts", schema_name="workorders",
        records=[(org.id, b, s, n) for (b, s), n in counts.items()],
    )  # fmt: skip
    bands = Counter(band(s) for s in scores)
    await conn.execute(
        "INSERT INTO workorders.org_health VALUES ($1, $2, $3, $4, $5, $6)",
        org.id, len(scores), sum(scores), bands["good"], bands["fair"], bands["poor"],
    )  # fmt: skip


async def _copy_rollups(conn: asyncpg.Connection, org: Org, totals: Totals) -> None:
    d = totals.deltas
    await conn.copy_records_to_table(
        "wo_counts", schema_name="workorders",
        records=[(org.id, s, p, *v) for (s, p), v in d.counts.items()],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "wo_due", schema_name="workorders", records=[(org.id, k, n) for k, n in d.due.items() if n]
    )
    days = [(org.id, k, *(c.get(col, 0) for col in DAILY_COLUMNS)) for k, c in d.daily.items()]
    await conn.copy_records_to_table(
        "wo_daily",
        schema_name="workorders",
        columns=["org_id", "day", *DAILY_COLUMNS],
        records=days,
    )
    await conn.copy_records_to_table(
        "fault_codes", schema_name="workorders",
        records=[(org.id, k, n) for k, n in d.faults.items() if n],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "counters", schema_name="workorders",
        records=[(org.id, year, n) for year, n in totals.years.items()],
    )  # fmt: skip


def utc_now() -> datetime:
    return datetime.now(UTC)
