"""Queries of the reports: occurrences with their plans, and counts. Store nothing, decide
nothing."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..occurrences.repository import OccurrenceRecord
from ..plans.repository import PlanRecord
from ..tables import occurrences, plans
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


async def active_plans(
    conn: AsyncConnection,
    org_id: UUID,
    *,
    kind: TriggerKind | None = None,
    equipment_id: UUID | None = None,
    assignee_id: UUID | None = None,
) -> list[PlanRecord]:
    query = select(plans).where(plans.c.org_id == org_id, plans.c.status == PlanStatus.ACTIVE.value)
    if kind is not None:
        query = query.where(plans.c.trigger_kind == kind.value)
    query = _filtered(query, equipment_id, assignee_id).order_by(plans.c.created_at, plans.c.id)
    return [PlanRecord.of_row(row) for row in (await conn.execute(query)).mappings()]


async def calendar_plan_order(
    conn: AsyncConnection,
    org_id: UUID,
    *,
    equipment_id: UUID | None = None,
    assignee_id: UUID | None = None,
) -> list[tuple[UUID, datetime | None, datetime | None]]:
    """(id, next opening, next due) of the organization's active calendar plans, the soonest
    opening first and those without one (a floating plan whose order is open) before all."""
    query: Select[tuple[object, ...]] = select(
        plans.c.id, plans.c.next_opens_at, plans.c.next_due_at
    ).where(
        plans.c.org_id == org_id,
        plans.c.status == PlanStatus.ACTIVE.value,
        plans.c.trigger_kind == TriggerKind.CALENDAR.value,
    )
    query = _filtered(query, equipment_id, assignee_id)
    query = query.order_by(plans.c.next_opens_at.asc().nulls_first(), plans.c.id)
    rows = (await conn.execute(query)).all()
    return [(row[0], row[1], row[2]) for row in rows]  # type: ignore[misc]


async def plans_by_id(conn: AsyncConnection, plan_ids: list[UUID]) -> list[PlanRecord]:
    """These plans, in the order given."""
    if not plan_ids:
        return []
    query = select(plans).where(plans.c.id.in_(plan_ids))
    found = {row["id"]: PlanRecord.of_row(row) for row in (await conn.execute(query)).mappings()}
    return [found[plan_id] for plan_id in plan_ids if plan_id in found]


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
