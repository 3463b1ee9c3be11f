"""Queries of the reports: occurrences with their plans, and counts. Store nothing, decide
nothing."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import DateTime, Select, and_, func, literal, select, text, tuple_
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


PlanKey = tuple[UUID, datetime | None, str]
"""(id, next due, title) of a calendar plan: where the forecast reads it in order."""
_CALENDAR = text(f"status = '{PlanStatus.ACTIVE}' AND trigger_kind = '{TriggerKind.CALENDAR}'")
"""As literals, so the planner matches ``plans_forecast_idx``."""


async def calendar_plans_page(
    conn: AsyncConnection,
    org_id: UUID,
    *,
    before: datetime,
    after: PlanKey | None,
    limit: int,
    equipment_id: UUID | None = None,
    assignee_id: UUID | None = None,
) -> list[PlanKey]:
    """The organization's active calendar plans due before ``before``, in the forecast's order
    of their next occurrence (due time, then title as Python compares text, then id:
    ``plans_forecast_idx``), the ``limit`` after ``after``."""
    title = plans.c.title.collate("C")
    query: Select[tuple[object, ...]] = select(
        plans.c.id, plans.c.next_due_at, plans.c.title
    ).where(plans.c.org_id == org_id, _CALENDAR, plans.c.next_due_at < before)
    if after is not None:
        query = query.where(tuple_(plans.c.next_due_at, title, plans.c.id) > tuple_(
            literal(after[1], DateTime(timezone=True)), literal(after[2]).collate("C"),
            literal(after[0], plans.c.id.type),
        ))  # fmt: skip
    query = _filtered(query, equipment_id, assignee_id)
    query = query.order_by(plans.c.next_due_at, title, plans.c.id).limit(limit)
    rows = (await conn.execute(query)).all()
    return [(row[0], row[1], row[2]) for row in rows]  # type: ignore[misc]


async def calendar_plans_without_next(
    conn: AsyncConnection,
    org_id: UUID,
    *,
    equipment_id: UUID | None = None,
    assignee_id: UUID | None = None,
) -> list[PlanKey]:
    """The organization's active calendar plans with no next occurrence stored (a floating
    plan whose order is open: its next is counted from that one)."""
    query: Select[tuple[object, ...]] = select(
        plans.c.id, plans.c.next_due_at, plans.c.title
    ).where(plans.c.org_id == org_id, _CALENDAR, plans.c.next_due_at.is_(None))
    query = _filtered(query, equipment_id, assignee_id).order_by(plans.c.id)
    rows = (await conn.execute(query)).all()
    return [(row[0], row[1], row[2]) for row in rows]  # type: ignore[misc]


_UNSHOWN = ("checklist", "instructions")
"""Plan columns a forecast neither shows nor needs (the largest ones)."""


async def plans_to_project(conn: AsyncConnection, plan_ids: list[UUID]) -> list[PlanRecord]:
    """These plans, in the order given, as the forecast needs them: without their checklist
    and instructions (empty in the records)."""
    if not plan_ids:
        return []
    columns = [c for c in plans.c if c.name not in _UNSHOWN]
    query = select(*columns).where(plans.c.id.in_(plan_ids))
    found = {
        row["id"]: PlanRecord.of_row({**row, "checklist": [], "instructions": None})  # type: ignore[arg-type]
        for row in (await conn.execute(query)).mappings()
    }
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
