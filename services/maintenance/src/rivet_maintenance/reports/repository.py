"""Queries of the reports: occurrences with their plans, and counts. Store nothing, decide
nothing."""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from uuid import UUID

from sqlalchemy import Select, and_, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from ..occurrences.repository import OccurrenceRecord
from ..plans.repository import PlanRecord
from ..plans.triggers import Trigger, load
from ..tables import meters, occurrences, plans, readings
from ..vocabulary import ACTIVE_OCCURRENCES, OccurrenceStatus, PlanStatus, TriggerKind

ACTIVE = [status.value for status in ACTIVE_OCCURRENCES]


@dataclass(frozen=True)
class PlannedOccurrence:
    occurrence: OccurrenceRecord
    plan: PlanRecord


def _filtered(
    query: Select[tuple[object, ...]], equipment_id: UUID | None, assignee_id: UUID | None
) -> Select[tuple[object, ...]]:
    if equipment_id is not None:
        query = query.where(plans.c.equipment_id == equipment_id)
    if assignee_id is not None:
        query = query.where(plans.c.assignee_id == assignee_id)
    return query


ACTIVE_SQL = ", ".join(f"'{status}'" for status in ACTIVE)
_PLANS = f"{plans.schema}.{plans.name}"
_OCCURRENCES = f"{occurrences.schema}.{occurrences.name}"
_METERS = f"{meters.schema}.{meters.name}"
_READINGS = f"{readings.schema}.{readings.name}"
_CALENDAR = (
    f"p.org_id = :org AND p.status = '{PlanStatus.ACTIVE}' "
    f"AND p.trigger_kind = '{TriggerKind.CALENDAR}'"
)
"""With literals, so the planner matches the partial indexes of migration 0004."""
_SHOWN = (
    "p.id, p.title, p.equipment_id, p.assignee_id, p.trigger_kind, p.estimated_hours, "
    "p.trigger::text AS trigger, p.next_due_at"
)
"""What the forecast shows of a plan and needs to project it (not its checklist)."""
_GAP = (
    "(CASE p.trigger->>'unit' WHEN 'days' THEN 1 WHEN 'weeks' THEN 7 WHEN 'months' THEN 28 "
    "ELSE 365 END * (p.trigger->>'every')::int) * interval '1 day' - interval '2 hours'"
)
"""Less than any time between two occurrences of the plan (a day of 23 hours when the clocks
change, a month of 28 days): as ``service._shortest``."""
_STEP = (
    "CASE p.trigger->>'unit' WHEN 'days' THEN make_interval(days => (p.trigger->>'every')::int) "
    "WHEN 'weeks' THEN make_interval(weeks => (p.trigger->>'every')::int) "
    "WHEN 'months' THEN make_interval(months => (p.trigger->>'every')::int) "
    "ELSE make_interval(years => (p.trigger->>'every')::int) END"
)
"""One interval of the plan, as ``CalendarTrigger.step`` (a month from the 31st ends on the
month's last day in both)."""
DST_SLACK = timedelta(hours=3)
"""More than any change of the clocks: a local time computed by PostgreSQL is within this of
``localtime.local_instant``'s, and the same where the offset does not change within it."""


@dataclass(frozen=True)
class ForecastPlan:
    """A plan as the forecast shows and projects it."""

    id: UUID
    title: str
    equipment_id: UUID
    assignee_id: UUID | None
    trigger_kind: TriggerKind
    estimated_hours: Decimal | None
    trigger: Trigger
    next_due_at: datetime | None
    latest_due: datetime | None = None
    """Calendar plans with no next stored: the due time of their latest occurrence."""
    meter_id: UUID | None = None
    meter_base: Decimal | None = None

    @classmethod
    def of_row(cls, row: Any, **more: Any) -> "ForecastPlan":
        kind = TriggerKind(row["trigger_kind"])
        return cls(
            id=row["id"],
            title=row["title"],
            equipment_id=row["equipment_id"],
            assignee_id=row["assignee_id"],
            trigger_kind=kind,
            estimated_hours=row["estimated_hours"],
            trigger=_trigger(kind, row["trigger"]),
            next_due_at=row["next_due_at"],
            **more,
        )


@lru_cache(maxsize=8192)
def _trigger(kind: TriggerKind, stored: str) -> Trigger:
    """A stored trigger (its JSON text), parsed once for the plans that share it and the
    pages that show them."""
    return load(kind, json.loads(stored))


@dataclass(frozen=True)
class RecordedItem:
    """A recorded occurrence open or being opened, with what the forecast shows of its plan."""

    plan: ForecastPlan
    due_at: datetime
    opens_at: datetime | None
    status: OccurrenceStatus
    work_order_id: UUID | None


def _where_filters(
    params: dict[str, Any], equipment_id: UUID | None, assignee_id: UUID | None
) -> str:
    clauses = ""
    if equipment_id is not None:
        clauses += " AND p.equipment_id = :equipment_id"
        params["equipment_id"] = equipment_id
    if assignee_id is not None:
        clauses += " AND p.assignee_id = :assignee_id"
        params["assignee_id"] = assignee_id
    return clauses


async def recorded_from(
    conn: AsyncConnection,
    org_id: UUID,
    *,
    since: datetime,
    until: datetime,
    start: tuple[datetime, UUID] | None,
    limit: int,
    equipment_id: UUID | None = None,
    assignee_id: UUID | None = None,
) -> list[RecordedItem]:
    """Occurrences open or being opened due in ``[since, until)``, by due time and plan, the
    first ``limit`` from ``start`` (due time, plan) on (``occurrences_active_due_idx``)."""
    params: dict[str, Any] = {"org": org_id, "since": since, "until": until, "limit": limit}
    where = _where_filters(params, equipment_id, assignee_id)
    if start is not None:
        where += " AND (o.due_at, o.plan_id) >= (:at, :plan)"
        params |= {"at": start[0], "plan": start[1]}
    query = text(
        f"SELECT {_SHOWN}, o.due_at AS o_due_at, o.opens_at AS o_opens_at, "  # noqa: S608 (constants; values bound)
        "o.status AS o_status, o.work_order_id AS o_work_order_id "
        f"FROM {_OCCURRENCES} o JOIN {_PLANS} p ON p.id = o.plan_id "
        f"WHERE o.org_id = :org AND o.status IN ({ACTIVE_SQL}) "
        f"AND o.due_at >= :since AND o.due_at < :until{where} "
        "ORDER BY o.due_at, o.plan_id LIMIT :limit"
    )
    rows = (await conn.execute(query, params)).mappings()
    return [
        RecordedItem(
            ForecastPlan.of_row(row),
            row["o_due_at"],
            row["o_opens_at"],
            OccurrenceStatus(row["o_status"]),
            row["o_work_order_id"],
        )
        for row in rows
    ]


async def calendar_from(
    conn: AsyncConnection,
    org_id: UUID,
    *,
    since: datetime,
    until: datetime,
    start: tuple[datetime, UUID] | None,
    limit: int,
    equipment_id: UUID | None = None,
    assignee_id: UUID | None = None,
) -> list[ForecastPlan]:
    """Active calendar plans whose next occurrence is in ``[since, until)``, by that and plan,
    the first ``limit`` from ``start`` (due time, plan) on (``plans_calendar_next_idx``, or
    ``plans_calendar_assignee_idx`` for an assignee's)."""
    params: dict[str, Any] = {"org": org_id, "since": since, "until": until, "limit": limit}
    where = _where_filters(params, equipment_id, assignee_id)
    if start is not None:
        where += " AND (p.next_due_at, p.id) >= (:at, :plan)"
        params |= {"at": start[0], "plan": start[1]}
    query = text(
        f"SELECT {_SHOWN} FROM {_PLANS} p WHERE {_CALENDAR} "  # noqa: S608 (constants; values bound)
        f"AND p.next_due_at >= :since AND p.next_due_at < :until{where} "
        "ORDER BY p.next_due_at, p.id LIMIT :limit"
    )
    return [ForecastPlan.of_row(row) for row in (await conn.execute(query, params)).mappings()]


async def calendar_recurring(
    conn: AsyncConnection,
    org_id: UUID,
    *,
    since: datetime,
    bound: datetime,
    min_gap: timedelta,
    equipment_id: UUID | None = None,
    assignee_id: UUID | None = None,
) -> list[ForecastPlan]:
    """Active calendar plans that may have an occurrence after their next one by ``bound``
    (next + the plan's shortest interval <= ``bound``), and those whose next is before
    ``since`` (the scheduler is behind): those whose items past their next a page may need.
    ``min_gap`` is the shortest interval of any plan, for the index range."""
    params: dict[str, Any] = {
        "org": org_id,
        "since": since,
        "bound": bound,
        "upper": max(since, bound - min_gap),
    }
    where = _where_filters(params, equipment_id, assignee_id)
    query = text(
        f"SELECT {_SHOWN} FROM {_PLANS} p WHERE {_CALENDAR} "  # noqa: S608 (constants; values bound)
        f"AND p.next_due_at <= :upper{where} "
        f"AND (p.next_due_at < :since OR p.next_due_at + {_GAP} <= :bound)"
    )
    return [ForecastPlan.of_row(row) for row in (await conn.execute(query, params)).mappings()]


async def calendar_waiting(
    conn: AsyncConnection,
    org_id: UUID,
    *,
    zone: str,
    bound: tuple[datetime, UUID],
    changes: list[tuple[datetime, datetime]],
    equipment_id: UUID | None = None,
    assignee_id: UUID | None = None,
) -> list[ForecastPlan]:
    """Active calendar plans with no next stored (a floating plan whose latest order is open:
    its next is one interval after that one's due date), with their latest occurrence's due
    time, leaving out those whose next comes after ``bound`` (due time, plan).

    PostgreSQL computes that next in the organization's ``zone``. Where the clocks change it
    may read a local time otherwise than ``localtime`` does (a repeated 02:30 as the later
    one), so near a change (``changes``: the spans, widened by ``DST_SLACK``, in which they
    change) a plan is left out only when even the earliest its next can be is after
    ``bound``."""
    params: dict[str, Any] = {
        "org": org_id,
        "zone": zone,
        "at": bound[0],
        "plan": bound[1],
        "reach": bound[0] + DST_SLACK,
    }
    where = _where_filters(params, equipment_id, assignee_id)
    near = ""
    for n, (start, end) in enumerate(changes):
        near += f" OR approx BETWEEN :change_{n}_start AND :change_{n}_end"
        params |= {f"change_{n}_start": start - DST_SLACK, f"change_{n}_end": end + DST_SLACK}
    local_next = (
        "timezone(CAST(:zone AS text), (timezone(CAST(:zone AS text), o.due_at))::date + "
        f"{_STEP} + (p.trigger->>'at')::time)"
    )
    # OFFSET 0: the next is computed once a plan, not again in each condition on it
    query = text(
        f"SELECT * FROM (SELECT {_SHOWN}, o.due_at AS latest_due, "  # noqa: S608 (constants; values bound)
        f"p.trigger->>'mode' = 'floating' AS floating, {local_next} AS approx "
        f"FROM {_PLANS} p CROSS JOIN LATERAL (SELECT due_at FROM {_OCCURRENCES} o "
        "WHERE o.plan_id = p.id ORDER BY o.created_at DESC LIMIT 1) o "
        f"WHERE {_CALENDAR} AND p.next_due_at IS NULL AND o.due_at IS NOT NULL{where} "
        "OFFSET 0) w "
        f"WHERE NOT floating OR (approx <= :reach AND ((approx, id) <= (:at, :plan){near}))"
    )
    return [
        ForecastPlan.of_row(row, latest_due=row["latest_due"])
        for row in (await conn.execute(query, params)).mappings()
    ]


@dataclass(frozen=True)
class MeteredPlan:
    """A meter plan with what its forecast needs of its meter: the newest reading and the
    oldest of the 30 days before it (where the counter's recent use is measured from)."""

    plan: ForecastPlan
    last_value: Decimal | None
    last_read_at: datetime | None
    earliest_value: Decimal | None
    earliest_at: datetime | None


_BASE = "coalesce(p.meter_base, 0)"
_EVERY = "(p.trigger->>'every')::numeric"
_THRESHOLD = (
    f"CASE WHEN m.last_value < {_BASE} THEN {_BASE} + {_EVERY} "
    f"ELSE {_BASE} + (floor((m.last_value - {_BASE}) / {_EVERY}) + 1) * {_EVERY} END"
)
_EXPECTED = (
    "CASE WHEN m.last_value > e.value AND m.last_read_at > e.read_at "
    f"THEN m.last_read_at + make_interval(secs => least(4e9, (({_THRESHOLD}) - m.last_value) "
    "/ ((m.last_value - e.value) / extract(epoch FROM m.last_read_at - e.read_at))::float8)) "
    "END"
)
"""When the counter is expected at the plan's next threshold at its recent use (as
``usage.expected_at`` of ``usage.next_threshold``, to within rounding); only where the counter
has moved."""


async def meter_plans(
    conn: AsyncConnection,
    org_id: UUID,
    *,
    window: timedelta,
    by: datetime | None,
    equipment_id: UUID | None = None,
    assignee_id: UUID | None = None,
) -> list[MeteredPlan]:
    """The active meter plans with their meter's newest reading and the oldest of the
    ``window`` before it (``plans_meter_active_idx``); with ``by``, only those whose counter
    is expected at the next threshold by then (give or take an hour for rounding)."""
    params: dict[str, Any] = {"org": org_id, "window": window}
    where = _where_filters(params, equipment_id, assignee_id)
    if by is not None:
        params["by"] = by + timedelta(hours=1)
        where += (
            f" AND m.last_value > e.value AND m.last_read_at > e.read_at AND {_EXPECTED} <= :by"
        )
    query = text(
        f"SELECT {_SHOWN}, p.meter_id, p.meter_base, m.last_value, m.last_read_at, "  # noqa: S608 (constants; values bound)
        "e.value AS earliest_value, e.read_at AS earliest_at "
        f"FROM {_PLANS} p JOIN {_METERS} m ON m.id = p.meter_id "
        f"LEFT JOIN LATERAL (SELECT r.value, r.read_at FROM {_READINGS} r "
        "WHERE r.meter_id = m.id AND r.read_at >= m.last_read_at - CAST(:window AS interval) "
        "ORDER BY r.read_at, r.id LIMIT 1) e ON true "
        f"WHERE p.org_id = :org AND p.status = '{PlanStatus.ACTIVE}' "
        f"AND p.trigger_kind = '{TriggerKind.METER}'{where} ORDER BY p.id"
    )
    return [
        MeteredPlan(
            ForecastPlan.of_row(row, meter_id=row["meter_id"], meter_base=row["meter_base"]),
            row["last_value"],
            row["last_read_at"],
            row["earliest_value"],
            row["earliest_at"],
        )
        for row in (await conn.execute(query, params)).mappings()
    ]


def _joined(row: dict[str, object]) -> PlannedOccurrence:
    occurrence = {k.removeprefix("o_"): v for k, v in row.items() if k.startswith("o_")}
    plan = {k.removeprefix("p_"): v for k, v in row.items() if k.startswith("p_")}
    return PlannedOccurrence(
        OccurrenceRecord.of_row(occurrence),  # type: ignore[arg-type]
        PlanRecord.of_row(plan),  # type: ignore[arg-type]
    )


def _with_plans() -> Select[tuple[object, ...]]:
    columns = [c.label(f"o_{c.name}") for c in occurrences.c] + [
        c.label(f"p_{c.name}") for c in plans.c
    ]
    return select(*columns).select_from(
        occurrences.join(plans, plans.c.id == occurrences.c.plan_id)
    )


async def active_occurrences(
    conn: AsyncConnection,
    org_id: UUID,
    *,
    due_from: datetime | None = None,
    due_before: datetime | None = None,
    equipment_id: UUID | None = None,
    assignee_id: UUID | None = None,
    limit: int = 5000,
) -> list[PlannedOccurrence]:
    """Occurrences being opened or open, with their plans, by due time (only those due in
    ``[due_from, due_before)`` where given)."""
    query = _with_plans().where(occurrences.c.org_id == org_id, occurrences.c.status.in_(ACTIVE))
    if due_from is not None:
        query = query.where(occurrences.c.due_at >= due_from)
    if due_before is not None:
        query = query.where(occurrences.c.due_at < due_before)
    query = _filtered(query, equipment_id, assignee_id)
    query = query.order_by(occurrences.c.due_at, occurrences.c.key).limit(limit)
    return [_joined(dict(row)) for row in (await conn.execute(query)).mappings()]


async def meter_completions(
    conn: AsyncConnection, org_id: UUID, since: datetime, until: datetime
) -> tuple[int, int]:
    """Meter occurrences completed in ``[since, until)``: how many, how many on time."""
    query = select(func.count(), func.count().filter(occurrences.c.on_time.is_(True))).where(
        occurrences.c.org_id == org_id,
        occurrences.c.threshold.is_not(None),
        occurrences.c.status == OccurrenceStatus.COMPLETED.value,
        occurrences.c.completed_at >= since,
        occurrences.c.completed_at < until,
    )
    done, on_time = (await conn.execute(query)).one()
    return int(done), int(on_time)


async def active_counts(
    conn: AsyncConnection, at: datetime, org_id: UUID | None = None
) -> tuple[int, int, int]:
    """(being opened, open, overdue) occurrences at ``at``, of one organization or all."""
    overdue = and_(occurrences.c.status.in_(ACTIVE), occurrences.c.due_at < at)
    query = select(
        func.count().filter(occurrences.c.status == OccurrenceStatus.OPENING.value),
        func.count().filter(occurrences.c.status == OccurrenceStatus.OPEN.value),
        func.count().filter(overdue),
    ).where(occurrences.c.status.in_(ACTIVE))
    if org_id is not None:
        query = query.where(occurrences.c.org_id == org_id)
    opening, opened, late = (await conn.execute(query)).one()
    return int(opening), int(opened), int(late)
