"""Stats and KPIs from the rollups. Formulas are documented in docs/workorders.md and repeated
in each answer, so a number on a dashboard can always be traced to its inputs.

Days are UTC days. A window of N days covers today and the N-1 days before it; "now" is the
service clock's.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta

from rivet_contracts import ErrorCode, ServiceError
from rivet_contracts import workorders as contract
from rivet_contracts.assets import Criticality
from rivet_contracts.workorders import OPEN_STATUSES, Priority, WorkOrderStatus
from rivet_runtime import RequestContext

from ..orders import repository as orders
from ..orders import views
from ..replicas import service as replicas
from ..rollups import health
from ..state import WorkordersState
from . import repository as repo

Ctx = RequestContext[WorkordersState]

TOP = 10
RECENT = timedelta(days=30)
MTTR = (
    "sum(downtime_end - downtime_start) / count, over corrective orders completed in the window "
    "(by completion day) with both downtime times recorded"
)
MTBF = (
    "(assets in service x window hours - downtime hours in the window) / corrective orders "
    "reported in the window (cancelled ones excluded): operating hours per asset between "
    "failures, pooled over the fleet"
)
MTTA = (
    "sum(acknowledged_at - created_at) / count, over orders reported in the window that work "
    "has started on (acknowledged_at: first move to in_progress); cancelled ones excluded"
)
BACKLOG = "sum of estimated hours of open orders (open, in_progress, on_hold), now"
PLANNED = (
    "100 x planned / (planned + corrective), over orders reported in the window; planned = "
    "preventive + predictive + inspection; cancelled ones excluded"
)


def midnight(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def overview(ctx: Ctx, _req: contract.StatsOverviewQuery) -> contract.Overview:
    org, now = ctx.caller.org_id, ctx.state.clock.now()
    assets_by_status: Counter[str] = Counter()
    assets_by_brand: Counter[str] = Counter()
    for row in await repo.equipment_counts(ctx.conn, org):
        assets_by_status[row["status"]] += row["assets"]
        assets_by_brand[row["manufacturer"]] += row["assets"]
    by_status: Counter[WorkOrderStatus] = Counter(dict.fromkeys(WorkOrderStatus, 0))
    by_priority: Counter[Priority] = Counter(dict.fromkeys(Priority, 0))
    for row in await repo.order_counts(ctx.conn, org):
        status = WorkOrderStatus(row["status"])
        by_status[status] += row["orders"]
        if status in OPEN_STATUSES:
            by_priority[Priority(row["priority"])] += row["orders"]
    brands = sorted(((-n, name) for name, n in assets_by_brand.items() if n > 0))[:TOP]
    faults = await repo.top_fault_codes(ctx.conn, org, TOP)
    return contract.Overview(
        as_of=now,
        equipment=contract.EquipmentTotals(
            total=sum(assets_by_status.values()),
            by_status={k: v for k, v in assets_by_status.items() if v},
        ),
        work_orders=contract.WorkOrderTotals(
            total=sum(by_status.values()),
            open=sum(by_status[s] for s in OPEN_STATUSES),
            overdue=await repo.overdue(ctx.conn, org, now, midnight(now)),
            by_status=dict(by_status),
            by_priority=dict(by_priority),
        ),
        top_manufacturers=[contract.CountByName(name=name, count=-n) for n, name in brands],
        top_fault_codes=[contract.CountByName(name=r["code"], count=r["orders"]) for r in faults],
    )


async def equipment_health(
    ctx: Ctx, req: contract.EquipmentHealthQuery
) -> contract.EquipmentHealthReport:
    org = ctx.caller.org_id
    equipment_id = None
    if req.equipment_id is not None:
        found = await replicas.lookup_equipment(ctx, req.equipment_id, field="equipment_id")
        if found is None:
            raise ServiceError(ErrorCode.NOT_FOUND, f"equipment {req.equipment_id} not found")
        equipment_id = found["id"]
    totals = await repo.org_health(ctx.conn, org)
    rows = await repo.worst_assets(ctx.conn, org, req.limit, equipment_id)
    items = []
    for row in rows:
        parts = health.score(
            Criticality(row["criticality"]),
            row["decay_corrective"],
            row["decay_downtime"],
            row["open_orders"],
            row["overdue_orders"],
            row["scored_at"],
        )
        items.append(
            contract.EquipmentHealth(
                equipment_id=row["id"],
                number=row["number"],
                name=row["name"],
                manufacturer=row["manufacturer"],
                model=row["model"],
                criticality=row["criticality"],
                score=row["score"],
                band=health.band(row["score"]),
                corrective_points=round(parts.corrective_points, 3),
                downtime_points=round(parts.downtime_points, 3),
                open_orders=row["open_orders"],
                overdue_orders=row["overdue_orders"],
                criticality_factor=parts.criticality_factor,
                scored_at=row["scored_at"],
                explanation=parts.explain(),
            )
        )
    assets = totals["assets"] if totals else 0
    return contract.EquipmentHealthReport(
        formula=health.FORMULA,
        parameters=contract.HealthParameters(
            half_life_days=health.HALF_LIFE / timedelta(days=1),
            priority_weights=health.PRIORITY_WEIGHTS,
            downtime_points_per_hour=health.DOWNTIME_POINTS_PER_HOUR,
            open_order_points=health.OPEN_ORDER_POINTS,
            overdue_order_points=health.OVERDUE_ORDER_POINTS,
            criticality_factors=health.CRITICALITY_FACTORS,
            bands=health.BANDS,
        ),
        summary=contract.HealthSummary(
            assets=assets,
            average_score=round(totals["score_sum"] / assets, 2) if totals and assets else None,
            good=totals["good"] if totals else 0,
            fair=totals["fair"] if totals else 0,
            poor=totals["poor"] if totals else 0,
        ),
        items=items,
    )


async def trends(ctx: Ctx, req: contract.TrendsQuery) -> contract.Trends:
    org, now = ctx.caller.org_id, ctx.state.clock.now()
    until = midnight(now).date()
    since = until - timedelta(days=req.days - 1)
    backlog = await repo.backlog_before(ctx.conn, org, since)
    rows = {r["day"]: r for r in await repo.days(ctx.conn, org, since, until)}
    items = []
    for offset in range(req.days):
        day = since + timedelta(days=offset)
        row = rows.get(day)
        created, completed, cancelled, reopened = (
            (row["created"], row["completed"], row["cancelled"], row["reopened"])
            if row
            else (0, 0, 0, 0)
        )
        backlog += created + reopened - completed - cancelled
        items.append(
            contract.TrendDay(
                day=day,
                created=created,
                completed=completed,
                cancelled=cancelled,
                reopened=reopened,
                backlog=backlog,
            )
        )
    return contract.Trends(days=req.days, since=since, until=until, items=items)


async def summary(ctx: Ctx, req: contract.SummaryQuery) -> contract.Summary:
    org, me, now = ctx.caller.org_id, ctx.caller.user_id, ctx.state.clock.now()
    counts, sections = await repo.my_work(ctx.conn, org, me, now, now - RECENT, req.limit)
    shown = [row["id"] for rows in sections.values() for row in rows]
    checklists = await orders.checklists(ctx.conn, shown)  # one query for the three sections

    def listed(name: str) -> contract.WorkOrderList:
        items = [
            views.to_view(r, now, checklist=checklists.get(r["id"], ())) for r in sections[name]
        ]
        return contract.WorkOrderList(count=counts[name], items=items)

    return contract.Summary(
        as_of=now,
        assigned_open=listed("assigned"),
        assigned_overdue=counts["overdue"],
        requested_open=listed("requested"),
        completed_recently=listed("completed"),
    )


async def kpis(ctx: Ctx, req: contract.KpiQuery) -> contract.Kpis:
    org, now = ctx.caller.org_id, ctx.state.clock.now()
    today = midnight(now)
    since = today - timedelta(days=req.days - 1)
    w = await repo.window(ctx.conn, org, since.date(), today.date())
    assets = await repo.assets_in_service(ctx.conn, org)
    open_rows = [r for r in await repo.order_counts(ctx.conn, org) if r["status"] in OPEN_STATUSES]
    window_hours = (now - since).total_seconds() / 3600
    downtime_hours = w["downtime_seconds"] / 3600
    repaired, reactive, planned = w["repaired"], w["reactive"], w["planned"]
    acknowledged = w["acknowledged"]
    return contract.Kpis(
        days=req.days,
        since=since,
        until=now,
        mttr=contract.Kpi(
            value=w["repair_seconds"] / 3600 / repaired if repaired else None,
            unit="hours",
            formula=MTTR,
            inputs={"repaired_orders": repaired, "downtime_hours": w["repair_seconds"] / 3600},
        ),
        mtbf=contract.Kpi(
            value=(assets * window_hours - downtime_hours) / reactive if reactive else None,
            unit="hours",
            formula=MTBF,
            inputs={
                "assets_in_service": assets,
                "window_hours": window_hours,
                "downtime_hours": downtime_hours,
                "failures": reactive,
            },
        ),
        mtta=contract.Kpi(
            value=w["ack_seconds"] / 3600 / acknowledged if acknowledged else None,
            unit="hours",
            formula=MTTA,
            inputs={
                "acknowledged_orders": acknowledged,
                "hours_to_acknowledge": w["ack_seconds"] / 3600,
            },
        ),
        backlog_hours=contract.Kpi(
            value=sum(r["estimated_minutes"] for r in open_rows) / 60,
            unit="hours",
            formula=BACKLOG,
            inputs={
                "open_orders": sum(r["orders"] for r in open_rows),
                "open_orders_without_estimate": sum(r["unestimated"] for r in open_rows),
            },
        ),
        planned_share=contract.Kpi(
            value=100 * planned / (planned + reactive) if planned + reactive else None,
            unit="%",
            formula=PLANNED,
            inputs={"planned": planned, "corrective": reactive},
        ),
    )
