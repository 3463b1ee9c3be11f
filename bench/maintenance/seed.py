"""The planned-maintenance data set, written with COPY in the stored form of docs/maintenance.md
and docs/workorders.md, into the schemas the services' ``migrate`` made.

* one organization (time zone UTC in the ``maintenance.organizations`` replica), its admin in
  the work-order service's members replica (the author of every plan: its orders are requested
  in the admin's name);
* ``assets`` assets in the work-order service's equipment replica (the work-order create reads
  the asset there and asks the assets service only on a miss, which never happens here);
* ``plans`` calendar plans, 5 per asset, with the interval mix of ``MIX`` (daily to yearly,
  fixed and floating, lead times 0-3 days, a three-item checklist). A plan is due in this pass
  with the probability a day's 06:00 pass would find it due: 1 / its interval in days (every
  daily plan, one weekly plan in seven, ...): about 15 % of them. A due plan's due time is the
  start of the current hour (so the first pass after the load records it); the others are due
  on a later day within their interval, their opening time (due - lead) still ahead;
* ``meters`` counters (for the readings part), each watched by one meter plan whose threshold
  is far away (the reading's path looks the plans up, as it would in use, and records nothing).

The schedule state is stored as the service stores it (``next_due_at``, ``next_opens_at``), the
trigger as ``plans/triggers.py`` writes it. Nothing here imports the service.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from dateutil.relativedelta import relativedelta

MIX: tuple[tuple[int, str, float], ...] = (
    (1, "days", 0.10),
    (1, "weeks", 0.25),
    (2, "weeks", 0.05),
    (1, "months", 0.30),
    (3, "months", 0.18),
    (1, "years", 0.12),
)
"""(every, unit, share of the plans)."""
DAYS = {"days": 1, "weeks": 7, "months": 30.44, "years": 365.25}
FLOATING_SHARE = 0.2
CHECKLIST = [
    {"text": "Lock out and tag out", "required": True, "kind": "check"},
    {"text": "Inspect for leaks and noise", "required": True, "kind": "pass_fail"},
    {"text": "Vibration (mm/s)", "required": False, "kind": "number", "low": 0, "high": 7.1,
     "unit": "mm/s"},
]  # fmt: skip
TITLES = ("Lubricate bearings", "Inspect belts", "Check oil level", "Clean filters",
          "Calibrate sensor", "Tighten terminals", "Inspect seals")  # fmt: skip


@dataclass
class DataSet:
    org_id: uuid.UUID = field(default_factory=uuid.uuid4)
    admin_id: uuid.UUID = field(default_factory=uuid.uuid4)
    assets: list[uuid.UUID] = field(default_factory=list)
    plans: int = 0
    due: int = 0
    due_plan_ids: set[uuid.UUID] = field(default_factory=set)
    by_interval: dict[str, list[int]] = field(default_factory=dict)
    """'1 days' -> [plans, due]."""
    meters: list[uuid.UUID] = field(default_factory=list)
    due_at: datetime | None = None


def _step(anchor: date, every: int, unit: str, k: int) -> date:
    if unit == "days":
        return anchor + timedelta(days=every * k)
    if unit == "weeks":
        return anchor + timedelta(weeks=every * k)
    if unit == "months":
        return anchor + relativedelta(months=every * k)
    return anchor + relativedelta(years=every * k)


def _pick(rng: random.Random) -> tuple[int, str]:
    x, acc = rng.random(), 0.0
    for every, unit, share in MIX:
        acc += share
        if x < acc:
            return every, unit
    return MIX[-1][0], MIX[-1][1]


def _cycle(
    every: int, unit: str, mode: str, anchor: date, due: datetime
) -> tuple[date, int, int, int, Any]:
    """Where the plan is in its cycle, as the service stores it (``forecast_*``, UTC)."""
    base = due.date() if mode == "floating" else anchor
    if unit in ("days", "weeks"):
        span = every * (7 if unit == "weeks" else 1)
        return due.date(), span, (base - date(2000, 1, 1)).days % span, 0, due.time()
    span = every * (12 if unit == "years" else 1)
    return due.date(), -span, (base.year * 12 + base.month - 1) % span, base.day, due.time()


async def load(
    conn: asyncpg.Connection,
    plans: int,
    meters: int,
    now: datetime,
    seed: int = 11,
    due_now: bool = True,
) -> DataSet:
    """``due_now`` False: no plan is due in this pass (each is due on a later day)."""
    rng = random.Random(seed)
    data = DataSet()
    hour = (now - timedelta(minutes=1)).replace(minute=0, second=0, microsecond=0)
    today, at = hour.date(), hour.time()
    data.due_at = hour
    assets = max(1, plans // 5)
    await conn.execute(
        "INSERT INTO maintenance.organizations (org_id, time_zone, as_of) VALUES ($1, 'UTC', $2)",
        data.org_id,
        now,
    )
    await conn.execute(
        "INSERT INTO workorders.users (id, org_id, full_name, email, role, active, as_of) "
        "VALUES ($1, $2, 'Bench Admin', 'bench-admin@example.com', 'admin', true, $3)",
        data.admin_id,
        data.org_id,
        now,
    )
    equipment = []
    for n in range(assets):
        asset = uuid.uuid4()
        data.assets.append(asset)
        equipment.append((asset, data.org_id, f"EQ-2026-{n + 1:06d}", f"Pump {n + 1}",
                          "Grundfos", f"CR {n % 90}", f"SN{n:09d}", f"Plant {n % 7}",
                          "medium", "in_service", 1, now))  # fmt: skip
    await conn.copy_records_to_table(
        "equipment", schema_name="workorders", records=equipment,
        columns=["id", "org_id", "number", "name", "manufacturer", "model", "serial", "location",
                 "criticality", "status", "version", "scored_at"],
    )  # fmt: skip
    rows: list[tuple[Any, ...]] = []
    checklist = json.dumps(CHECKLIST)
    for n in range(plans):
        every, unit = _pick(rng)
        span = max(1, round(every * DAYS[unit]))
        label = f"{every} {unit}"
        counts = data.by_interval.setdefault(label, [0, 0])
        counts[0] += 1
        plan_id = uuid.uuid4()
        if rng.random() < 1 / span and due_now:  # due in this pass
            anchor = _step(today, every, unit, -rng.randrange(0, 6))  # fixed: counted from it
            due = datetime.combine(today, at, UTC)
            lead = timedelta(0)
            counts[1] += 1
            data.due += 1
            data.due_plan_ids.add(plan_id)
        else:
            ahead = rng.randrange(1, span) if span > 1 else 1
            anchor = today + timedelta(days=ahead)
            due = datetime.combine(anchor, at, UTC)
            lead = timedelta(hours=rng.choice((0, 0, 24, 72)))
            lead = min(lead, timedelta(days=ahead - 1))
        mode = "floating" if rng.random() < FLOATING_SHARE else "fixed"
        trigger = {"every": every, "unit": unit, "mode": mode, "anchor": anchor.isoformat(),
                   "at": at.isoformat(timespec="minutes"),
                   "lead_seconds": int(lead.total_seconds())}  # fmt: skip
        rows.append((plan_id, data.org_id, data.assets[n % assets], TITLES[n % len(TITLES)],
                     "Follow the manufacturer's manual.", checklist, "medium", "preventive",
                     1.5, "active", "calendar", json.dumps(trigger), due, due - lead, now, now, 1,
                     data.admin_id, False, *_cycle(every, unit, mode, anchor, due)))  # fmt: skip
    data.plans = plans
    for n in range(meters):
        meter = uuid.uuid4()
        data.meters.append(meter)
        await conn.execute(
            "INSERT INTO maintenance.meters (id, org_id, equipment_id, name, kind, unit) "
            "VALUES ($1, $2, $3, $4, 'counter', 'h')",
            meter,
            data.org_id,
            data.assets[n % assets],
            f"Run hours {n + 1}",
        )
        trigger = json.dumps({"every": "1000000", "lead": "0"})
        rows.append((uuid.uuid4(), data.org_id, data.assets[n % assets], "Overhaul", None,
                     checklist, "high", "preventive", 8, "active", "meter", trigger, None, None,
                     now, now, 1, data.admin_id, False, None, None, None, None, None))  # fmt: skip
    columns = ["id", "org_id", "equipment_id", "title", "instructions", "checklist", "priority",
               "work_type", "estimated_hours", "status", "trigger_kind", "trigger", "next_due_at",
               "next_opens_at", "created_at", "updated_at", "version", "author_id",
               "allow_overlap", "forecast_on", "forecast_cycle", "forecast_phase", "forecast_dom",
               "forecast_at"]  # fmt: skip
    await conn.execute("CREATE TEMP TABLE bench_plans (LIKE maintenance.plans) ON COMMIT DROP")
    await conn.copy_records_to_table(
        "bench_plans",
        records=rows,
        columns=columns,
    )
    await conn.execute(
        f"INSERT INTO maintenance.plans ({', '.join(columns)}, meter_id) "  # noqa: S608 - names above
        f"SELECT {', '.join(columns)}, NULL FROM bench_plans WHERE trigger_kind = 'calendar'"
    )
    # meter plans: each watches its meter (n-th meter plan, n-th meter)
    await conn.execute(
        f"INSERT INTO maintenance.plans ({', '.join(columns)}, meter_id) "  # noqa: S608 - names above
        f"SELECT {', '.join(columns)}, (($1::uuid[])[row_number() OVER (ORDER BY id)]) "
        "FROM bench_plans WHERE trigger_kind = 'meter'",
        data.meters,
    )
    return data


async def existing(url: str) -> DataSet | None:
    """The data set an earlier run left in the database at ``url`` (None if there is none):
    the organization, its admin and its assets, in the order they were made."""
    conn = await asyncpg.connect(url)
    try:
        org_id = await conn.fetchval("SELECT org_id FROM maintenance.organizations LIMIT 1")
        if org_id is None:
            return None
        data = DataSet(org_id=org_id)
        data.admin_id = await conn.fetchval(
            "SELECT id FROM workorders.users WHERE org_id = $1 AND role = 'admin'", org_id
        )
        rows = await conn.fetch(
            "SELECT id FROM workorders.equipment WHERE org_id = $1 ORDER BY number", org_id
        )
        data.assets = [row["id"] for row in rows]
        data.plans = await conn.fetchval(
            "SELECT count(*) FROM maintenance.plans WHERE trigger_kind = 'calendar'"
        )
        return data
    finally:
        await conn.close()
