"""Queries of the reports: occurrences with their plans, and counts. Store nothing, decide
nothing."""

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
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
"""With literals, so the planner matches the partial indexes of migrations 0004 and 0007."""
_SHOWN = (
    "p.id, p.title, p.equipment_id, p.assignee_id, p.trigger_kind, p.estimated_hours, "
    "p.trigger::text AS trigger, p.next_due_at, p.forecast_on"
)
"""What the forecast shows of a plan and needs to project it (not its checklist)."""


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
    meter_id: UUID | None = None
    meter_base: Decimal | None = None
    forecast_on: date | None = None
    """Calendar plans: the local date of their first occurrence in the forecast."""

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
            forecast_on=row["forecast_on"],
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


_PHASE_OF_DAY = (
    "CASE WHEN c.v > 0 THEN (((d.day - date '2000-01-01') % c.v) + c.v) % c.v "
    "ELSE (((extract(year FROM d.day)::int * 12 + extract(month FROM d.day)::int - 1) % -c.v) "
    "- c.v) % -c.v END"
)
"""The phase a plan of cycle ``c.v`` has when it has an occurrence on ``d.day`` (as
``plans.repository`` stores it)."""


async def calendar_days(
    conn: AsyncConnection,
    org_id: UUID,
    *,
    days: list[date],
    start: tuple[time, UUID],
    limit: int | None,
    assignee_id: UUID | None = None,
) -> list[tuple[date, ForecastPlan]]:
    """The active calendar plans with an occurrence on each of ``days``, with the day, by
    (day, local time, plan), from (local time, plan) ``start`` on the first day; the first
    ``limit`` (all with None).

    One statement: the cycles of the plans (a loose scan of ``plans_forecast_cycle_idx``,
    ``plans_forecast_assignee_idx`` for an assignee's), then for each day and cycle the plans
    whose phase is the day's, read from the index in the order of the answer: days and weeks
    by the day's number, months and years by the month's and the day of the month (and, from
    the 28th, the plans of a later day of the month: at a month's end; the caller checks
    them)."""
    params: dict[str, Any] = {
        "org": org_id,
        "limit": limit,
        "days": days,
        "ats": [start[0]] + [time(0)] * (len(days) - 1),
        "ids": [start[1]] + [UUID(int=0)] * (len(days) - 1),
    }
    where = _where_filters(params, None, assignee_id)
    scope = f"{_CALENDAR} AND p.forecast_cycle IS NOT NULL{where}"
    lateral = (
        "CROSS JOIN LATERAL (SELECT q.day, p.forecast_at, p.id "  # noqa: S608 (constants)
        f"FROM {_PLANS} p WHERE {scope} AND p.forecast_cycle = q.cycle "
        "AND p.forecast_phase = q.phase AND {dom} AND p.forecast_on <= q.day "
        "AND (p.forecast_at, p.id) >= (q.at, q.id) ORDER BY p.forecast_at, p.id LIMIT :limit) x"
    )
    # the plans' keys from the index alone; their rows for the ``limit`` kept only
    query = text(
        f"WITH RECURSIVE c(v) AS (SELECT min(p.forecast_cycle) FROM {_PLANS} p "  # noqa: S608 (constants; values bound)
        f"WHERE {scope} UNION ALL SELECT (SELECT min(p.forecast_cycle) FROM {_PLANS} p "
        f"WHERE {scope} AND p.forecast_cycle > c.v) FROM c WHERE c.v IS NOT NULL), "
        f"q AS MATERIALIZED (SELECT d.day, c.v AS cycle, {_PHASE_OF_DAY} AS phase, "
        "CASE WHEN c.v > 0 THEN 0 ELSE extract(day FROM d.day)::int END AS dom, d.at, d.id "
        "FROM unnest(CAST(:days AS date[]), CAST(:ats AS time[]), CAST(:ids AS uuid[])) "
        "AS d(day, at, id) CROSS JOIN c WHERE c.v IS NOT NULL), "
        "k AS MATERIALIZED ((SELECT x.* FROM q "
        + lateral.format(dom="p.forecast_dom = q.dom")
        + ") UNION ALL (SELECT x.* FROM q "
        + lateral.format(dom="p.forecast_dom > q.dom")
        + " WHERE q.cycle < 0 AND q.dom >= 28) ORDER BY day, forecast_at, id LIMIT :limit) "  # noqa: S608
        f"SELECT k.day, {_SHOWN} FROM k JOIN {_PLANS} p ON p.id = k.id "
        "ORDER BY k.day, k.forecast_at, k.id"
    )
    rows = (await conn.execute(query, params)).mappings()
    return [(row["day"], ForecastPlan.of_row(row)) for row in rows]


async def calendar_of_equipment(
    conn: AsyncConnection,
    org_id: UUID,
    equipment_id: UUID,
    assignee_id: UUID | None = None,
) -> list[ForecastPlan]:
    """An asset's active calendar plans with a first occurrence (``plans_org_equipment_idx``:
    a few; each is projected over the window)."""
    params: dict[str, Any] = {"org": org_id}
    where = _where_filters(params, equipment_id, assignee_id)
    query = text(
        f"SELECT {_SHOWN} FROM {_PLANS} p WHERE {_CALENDAR} "  # noqa: S608 (constants; values bound)
        f"AND p.forecast_on IS NOT NULL{where}"
    )
    return [ForecastPlan.of_row(row) for row in (await conn.execute(query, params)).mappings()]


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
