"""Plans: what is stored and how it is read.

The rules live elsewhere: when a plan is next due is ``schedule``'s, what a change may touch is
the service's. Here a plan is inserted, read, changed column by column and given the schedule
state the scheduler computed, in the caller's transaction.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import any_, bindparam, insert, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts.workorders import Priority, WorkType

from ..tables import plans
from ..vocabulary import PlanStatus, TriggerKind

DEFINITION_COLUMNS = frozenset(
    {
        "title",
        "instructions",
        "checklist",
        "priority",
        "work_type",
        "estimated_hours",
        "assignee_id",
        "status",
        "trigger_kind",
        "trigger",
        "meter_id",
        "equipment_id",
        "allow_overlap",
        "author_id",
    }
)
"""The columns ``update_plan`` writes; the schedule state has ``store_schedule``."""


@dataclass(frozen=True)
class NewPlan:
    id: UUID
    org_id: UUID
    equipment_id: UUID
    title: str
    trigger_kind: TriggerKind
    trigger: dict[str, Any]
    meter_id: UUID | None = None
    instructions: str | None = None
    checklist: list[Any] | None = None
    priority: Priority = Priority.MEDIUM
    work_type: WorkType = WorkType.PREVENTIVE
    estimated_hours: Decimal | None = None
    assignee_id: UUID | None = None
    status: PlanStatus = PlanStatus.ACTIVE
    author_id: UUID | None = None
    allow_overlap: bool = False


@dataclass(frozen=True)
class ScheduleState:
    """What the scheduler keeps on the plan between passes."""

    next_due_at: datetime | None
    next_opens_at: datetime | None
    meter_base: Decimal | None = None
    last_completed_at: datetime | None = None


@dataclass(frozen=True)
class PlanRecord:
    id: UUID
    org_id: UUID
    equipment_id: UUID
    title: str
    instructions: str | None
    checklist: list[Any]
    priority: Priority
    work_type: WorkType
    estimated_hours: Decimal | None
    assignee_id: UUID | None
    status: PlanStatus
    trigger_kind: TriggerKind
    trigger: dict[str, Any]
    meter_id: UUID | None
    schedule: ScheduleState
    created_at: datetime
    updated_at: datetime
    version: int
    author_id: UUID | None = None
    allow_overlap: bool = False

    @classmethod
    def of_row(cls, row: RowMapping) -> "PlanRecord":
        return cls(
            id=row["id"],
            org_id=row["org_id"],
            equipment_id=row["equipment_id"],
            title=row["title"],
            instructions=row["instructions"],
            checklist=row["checklist"],
            priority=Priority(row["priority"]),
            work_type=WorkType(row["work_type"]),
            estimated_hours=row["estimated_hours"],
            assignee_id=row["assignee_id"],
            status=PlanStatus(row["status"]),
            trigger_kind=TriggerKind(row["trigger_kind"]),
            trigger=row["trigger"],
            meter_id=row["meter_id"],
            schedule=ScheduleState(
                row["next_due_at"],
                row["next_opens_at"],
                row["meter_base"],
                row["last_completed_at"],
            ),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            version=row["version"],
            author_id=row["author_id"],
            allow_overlap=row["allow_overlap"],
        )


async def insert_plan(conn: AsyncConnection, plan: NewPlan, at: datetime) -> PlanRecord:
    statement = (
        insert(plans)
        .values(
            id=plan.id,
            org_id=plan.org_id,
            equipment_id=plan.equipment_id,
            title=plan.title,
            instructions=plan.instructions,
            checklist=plan.checklist if plan.checklist is not None else [],
            priority=plan.priority.value,
            work_type=plan.work_type.value,
            estimated_hours=plan.estimated_hours,
            assignee_id=plan.assignee_id,
            status=plan.status.value,
            trigger_kind=plan.trigger_kind.value,
            trigger=plan.trigger,
            meter_id=plan.meter_id,
            author_id=plan.author_id,
            allow_overlap=plan.allow_overlap,
            created_at=at,
            updated_at=at,
        )
        .returning(*plans.c)
    )
    return PlanRecord.of_row((await conn.execute(statement)).mappings().one())


async def get_plan(
    conn: AsyncConnection, org_id: UUID, plan_id: UUID, *, lock: bool = False
) -> PlanRecord | None:
    """The organization's plan; ``lock`` holds its row (FOR UPDATE) for a change."""
    query = select(plans).where(plans.c.org_id == org_id, plans.c.id == plan_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().one_or_none()
    return PlanRecord.of_row(row) if row is not None else None


async def list_plans(
    conn: AsyncConnection,
    org_id: UUID,
    *,
    equipment_id: UUID | None = None,
    assignee_id: UUID | None = None,
    status: PlanStatus | None = None,
    after: tuple[datetime, UUID] | None = None,
    limit: int = 50,
) -> list[PlanRecord]:
    """The organization's plans, oldest first; ``after`` is the (created_at, id) of the last
    plan of the previous page."""
    query = select(plans).where(plans.c.org_id == org_id)
    if equipment_id is not None:
        query = query.where(plans.c.equipment_id == equipment_id)
    if assignee_id is not None:
        query = query.where(plans.c.assignee_id == assignee_id)
    if status is not None:
        query = query.where(plans.c.status == status.value)
    if after is not None:
        query = query.where(tuple_(plans.c.created_at, plans.c.id) > tuple_(*after))
    query = query.order_by(plans.c.created_at, plans.c.id).limit(limit)
    return [PlanRecord.of_row(row) for row in (await conn.execute(query)).mappings()]


def _stored(value: Any) -> Any:
    """An enum as the text the column holds; anything else as it is."""
    enums = (PlanStatus, TriggerKind, Priority, WorkType)
    return value.value if isinstance(value, enums) else value


async def update_plan(
    conn: AsyncConnection,
    org_id: UUID,
    plan_id: UUID,
    changes: Mapping[str, Any],
    at: datetime,
) -> PlanRecord | None:
    """Write ``changes`` (columns of ``DEFINITION_COLUMNS``) and count a new version; None when
    there is no such plan."""
    unknown = set(changes) - DEFINITION_COLUMNS
    if unknown:
        raise ValueError(f"not a plan definition column: {sorted(unknown)}")
    values = {column: _stored(value) for column, value in changes.items()}
    statement = (
        update(plans)
        .where(plans.c.org_id == org_id, plans.c.id == plan_id)
        .values(**values, updated_at=at, version=plans.c.version + 1)
        .returning(*plans.c)
    )
    row = (await conn.execute(statement)).mappings().one_or_none()
    return PlanRecord.of_row(row) if row is not None else None


async def store_schedule(conn: AsyncConnection, plan_id: UUID, state: ScheduleState) -> None:
    """Keep the schedule state the scheduler computed (no new version: the definition is
    unchanged), and where the plan is in its cycle (``refresh_cycles``), in one row version."""
    await store_schedules(conn, {plan_id: state})


async def store_schedules(conn: AsyncConnection, states: dict[UUID, ScheduleState]) -> None:
    """``store_schedule`` for several plans in one statement."""
    if not states:
        return
    await conn.execute(
        _STORE,
        {
            "ids": list(states),
            "nexts": [state.next_due_at for state in states.values()],
            "opens": [state.next_opens_at for state in states.values()],
            "bases": [state.meter_base for state in states.values()],
            "completed": [state.last_completed_at for state in states.values()],
        },
    )


_ZONE = (
    "coalesce((SELECT z.time_zone FROM maintenance.organizations z WHERE z.org_id = p.org_id), "
    "'UTC')"
)
_STEP = (
    "CASE p.trigger->>'unit' WHEN 'days' THEN make_interval(days => (p.trigger->>'every')::int) "
    "WHEN 'weeks' THEN make_interval(weeks => (p.trigger->>'every')::int) "
    "WHEN 'months' THEN make_interval(months => (p.trigger->>'every')::int) "
    "ELSE make_interval(years => (p.trigger->>'every')::int) END"
)
_ON = (
    "CASE WHEN p.trigger_kind <> 'calendar' THEN NULL "  # noqa: S608 (constants)
    "WHEN {next} IS NOT NULL THEN maintenance.local_date(z.zone, {next}) "
    "ELSE (SELECT CASE WHEN p.trigger->>'mode' = 'floating' "
    f"THEN (maintenance.local_date(z.zone, o.due_at) + {_STEP})::date "
    "ELSE maintenance.local_date(z.zone, o.due_at) + 1 END "
    "FROM maintenance.occurrences o WHERE o.plan_id = p.id AND o.due_at IS NOT NULL "
    "ORDER BY o.created_at DESC LIMIT 1) END"
)
"""The local date of the plan's first occurrence in the forecast: its next; with none stored
(a floating plan whose latest order is open), one interval after that order's due date, as
``calendar.next_due`` counts it (PostgreSQL adds a month to the 31st as ``relativedelta``
does). Dates in the organization's zone, UTC for a zone PostgreSQL does not know (migration
0008's ``local_date``)."""
_SPAN = (
    "CASE f0.unit WHEN 'days' THEN f0.every WHEN 'weeks' THEN 7 * f0.every "
    "WHEN 'months' THEN f0.every ELSE 12 * f0.every END"
)
_CYCLE_SET = (
    "forecast_on = CASE WHEN f.calendar THEN f.forecast_on ELSE p.forecast_on END, "
    "forecast_cycle = CASE WHEN NOT f.calendar THEN p.forecast_cycle "
    "WHEN f.unit IN ('days', 'weeks') THEN f.span ELSE -f.span END, "
    "forecast_phase = CASE WHEN NOT f.calendar THEN p.forecast_phase "
    "WHEN f.unit IN ('days', 'weeks') "
    "THEN (((f.base - date '2000-01-01') % f.span) + f.span) % f.span "
    "ELSE (((extract(year FROM f.base)::int * 12 + extract(month FROM f.base)::int - 1) "
    "% f.span) + f.span) % f.span END, "
    "forecast_dom = CASE WHEN NOT f.calendar THEN p.forecast_dom "
    "WHEN f.unit IN ('days', 'weeks') THEN 0 ELSE extract(day FROM f.base)::int END, "
    "forecast_at = CASE WHEN NOT f.calendar THEN p.forecast_at "
    "WHEN f.forecast_on IS NOT NULL THEN f.at END"
)
_CYCLE_OF = (
    "p.trigger_kind = 'calendar' AS calendar, p.trigger->>'unit' AS unit, "
    "CASE WHEN p.trigger_kind = 'calendar' THEN (p.trigger->>'every')::int END AS every, "
    "p.trigger->>'mode' AS mode, "
    "CASE WHEN p.trigger_kind = 'calendar' THEN (p.trigger->>'anchor')::date END AS anchor, "
    "CASE WHEN p.trigger_kind = 'calendar' THEN (p.trigger->>'at')::time END AS at"
)
_SPAN_BASE = (
    f"{_SPAN} AS span, CASE WHEN f0.mode = 'floating' THEN f0.forecast_on ELSE f0.anchor END "
    "AS base"
)
_STORE = text(
    "UPDATE maintenance.plans p SET next_due_at = f.next_due_at, "  # noqa: S608 (constants)
    "next_opens_at = f.next_opens_at, meter_base = f.meter_base, "
    f"last_completed_at = f.last_completed_at, {_CYCLE_SET} "
    f"FROM (SELECT f0.*, {_SPAN_BASE} FROM (SELECT v.*, {_CYCLE_OF}, "
    + _ON.format(next="v.next_due_at")
    + " AS forecast_on FROM unnest(CAST(:ids AS uuid[]), CAST(:nexts AS timestamptz[]), "
    "CAST(:opens AS timestamptz[]), CAST(:bases AS numeric[]), "
    "CAST(:completed AS timestamptz[])) "
    "AS v(id, next_due_at, next_opens_at, meter_base, last_completed_at) "
    "JOIN maintenance.plans p ON p.id = v.id "
    f"CROSS JOIN LATERAL (SELECT {_ZONE} AS zone) z) f0) f WHERE p.id = f.id"
)
"""The schedule state and where the plan is in its cycle, in one row version."""
_REFRESH = text(
    f"UPDATE maintenance.plans p SET {_CYCLE_SET} "  # noqa: S608 (constants)
    f"FROM (SELECT f0.*, {_SPAN_BASE} FROM (SELECT p.id, {_CYCLE_OF}, "
    + _ON.format(next="p.next_due_at")
    + " AS forecast_on "
    f"FROM maintenance.plans p CROSS JOIN LATERAL (SELECT {_ZONE} AS zone) z "
    "WHERE p.id = ANY(:ids) AND p.trigger_kind = 'calendar') f0) f "
    "WHERE p.id = f.id"
).bindparams(bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True))))


async def refresh_cycles(conn: AsyncConnection, plan_ids: list[UUID]) -> None:
    """Where these calendar plans are in their cycle, from their schedule state, trigger and
    organization's zone (``forecast_*``, migration 0007): the forecast finds the plans with
    an occurrence on a day by them. Plans with no first occurrence get none (NULL)."""
    if plan_ids:
        await conn.execute(_REFRESH, {"ids": plan_ids})


async def refresh_org_cycles(conn: AsyncConnection, org_id: UUID) -> None:
    """``refresh_cycles`` for every calendar plan of the organization (its zone changed)."""
    query = select(plans.c.id).where(
        plans.c.org_id == org_id, plans.c.trigger_kind == TriggerKind.CALENDAR.value
    )
    ids = list((await conn.execute(query)).scalars())
    await refresh_cycles(conn, ids)


async def claim_opening(conn: AsyncConnection, at: datetime, limit: int) -> list[PlanRecord]:
    """Active plans whose next order opens at or before ``at``, soonest first, locked and
    skipped by other scheduler replicas (FOR UPDATE SKIP LOCKED) until the transaction ends."""
    query = (
        select(plans)
        .where(
            plans.c.status == PlanStatus.ACTIVE.value,
            plans.c.next_opens_at.is_not(None),
            plans.c.next_opens_at <= at,
        )
        .order_by(plans.c.next_opens_at, plans.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [PlanRecord.of_row(row) for row in (await conn.execute(query)).mappings()]


async def plans_of_meter(
    conn: AsyncConnection, meter_id: UUID, *, status: PlanStatus | None = None
) -> list[PlanRecord]:
    """The plans that watch the meter (a reading may start their occurrences)."""
    query = select(plans).where(plans.c.meter_id == meter_id)
    if status is not None:
        query = query.where(plans.c.status == status.value)
    query = query.order_by(plans.c.created_at, plans.c.id)
    return [PlanRecord.of_row(row) for row in (await conn.execute(query)).mappings()]


async def active_plans_of_meters(
    conn: AsyncConnection, meter_ids: list[UUID]
) -> dict[UUID, list[PlanRecord]]:
    """The active plans watching each of these meters, oldest first (a batch of readings)."""
    if not meter_ids:
        return {}
    query = (
        select(plans)
        .where(
            plans.c.meter_id == any_(bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True)))),
            plans.c.status == PlanStatus.ACTIVE.value,
        )
        .order_by(plans.c.created_at, plans.c.id)
    )
    found: dict[UUID, list[PlanRecord]] = {}
    for row in (await conn.execute(query, {"ids": meter_ids})).mappings():
        plan = PlanRecord.of_row(row)
        assert plan.meter_id is not None
        found.setdefault(plan.meter_id, []).append(plan)
    return found


@dataclass(frozen=True)
class MeterWatch:
    """An active plan watching a meter, as much of it as checking a reading against it
    needs (the machines' readings check hundreds of plans a batch; the whole plan, with its
    checklist, is loaded only for the reading that makes it due)."""

    id: UUID
    org_id: UUID
    meter_id: UUID
    trigger_kind: TriggerKind
    trigger: dict[str, Any]
    meter_base: Decimal | None


async def plans_watching_meters(
    conn: AsyncConnection, meter_ids: list[UUID]
) -> dict[UUID, list[MeterWatch]]:
    """``active_plans_of_meters``, lighter: the trigger and the meter base of each."""
    if not meter_ids:
        return {}
    query = (
        select(
            plans.c.id,
            plans.c.org_id,
            plans.c.meter_id,
            plans.c.trigger_kind,
            plans.c.trigger,
            plans.c.meter_base,
        )
        .where(
            plans.c.meter_id == any_(bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True)))),
            plans.c.status == PlanStatus.ACTIVE.value,
        )
        .order_by(plans.c.created_at, plans.c.id)
    )
    found: dict[UUID, list[MeterWatch]] = {}
    for row in await conn.execute(query, {"ids": meter_ids}):
        watch = MeterWatch(row[0], row[1], row[2], TriggerKind(row[3]), row[4], row[5])
        found.setdefault(watch.meter_id, []).append(watch)
    return found


async def lock_plan(conn: AsyncConnection, plan_id: UUID) -> PlanRecord | None:
    """The plan, its row held (FOR UPDATE) for a change of its schedule state."""
    query = select(plans).where(plans.c.id == plan_id).with_for_update()
    row = (await conn.execute(query)).mappings().one_or_none()
    return PlanRecord.of_row(row) if row is not None else None


async def plans_of_kind(
    conn: AsyncConnection, org_id: UUID, kind: TriggerKind, *, lock: bool = False
) -> list[PlanRecord]:
    """The organization's plans with a trigger of ``kind`` (a new time zone moves the calendar
    ones); ``lock`` holds their rows."""
    query = (
        select(plans)
        .where(plans.c.org_id == org_id, plans.c.trigger_kind == kind.value)
        .order_by(plans.c.created_at, plans.c.id)
    )
    if lock:
        query = query.with_for_update()
    return [PlanRecord.of_row(row) for row in (await conn.execute(query)).mappings()]


async def clear_author(conn: AsyncConnection, org_id: UUID, user_id: UUID) -> int:
    """The organization's plans authored by ``user_id`` have no author any more; how many."""
    result = await conn.execute(
        update(plans)
        .where(plans.c.org_id == org_id, plans.c.author_id == user_id)
        .values(author_id=None)
    )
    return int(result.rowcount)
