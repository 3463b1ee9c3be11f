"""Read-only listings of work orders (pages; organization-scoped like everything else)."""

from typing import Any

from sqlalchemy import Select

from rivet_contracts import ErrorCode, ServiceError
from rivet_contracts import workorders as contract
from rivet_runtime import RequestContext

from ..replicas import service as replicas
from ..state import WorkordersState
from . import repository as repo
from . import views

Ctx = RequestContext[WorkordersState]


async def list_page(ctx: Ctx, req: contract.ListWorkOrders) -> contract.WorkOrderPage:
    now = ctx.state.clock.now()
    equipment_id = None
    if req.equipment_id is not None:
        equipment = await replicas.lookup_equipment(ctx, req.equipment_id, field="equipment_id")
        if equipment is None:
            return contract.WorkOrderPage(
                items=[], limit=req.limit, offset=req.offset, next_offset=None
            )
        equipment_id = equipment["id"]
    query = repo.page_query(
        ctx.caller.org_id,
        now=now,
        statuses=[s.value for s in req.status or ()],
        priorities=[p.value for p in req.priority or ()],
        work_type=req.work_type.value if req.work_type else None,
        assignee_id=req.assignee_id,
        equipment_id=equipment_id,
        overdue=req.overdue,
        sort=req.sort,
    )
    return await _page(ctx, query, req.limit, req.offset)


async def for_equipment(ctx: Ctx, req: contract.ListEquipmentWorkOrders) -> contract.WorkOrderPage:
    """An asset's orders; 404 when neither the replica nor the assets service knows it."""
    equipment = await replicas.lookup_equipment(ctx, req.equipment_id, field="equipment_id")
    if equipment is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"equipment {req.equipment_id} not found")
    query = repo.page_query(
        ctx.caller.org_id,
        now=ctx.state.clock.now(),
        statuses=[s.value for s in req.status or ()],
        equipment_id=equipment["id"],
    )
    return await _page(ctx, query, req.limit, req.offset)


async def equipment_figures(
    ctx: Ctx, req: contract.EquipmentOrderFiguresQuery
) -> contract.EquipmentOrderFiguresReply:
    """Per asset asked about: its orders' count, newest report and last fault code, in one
    query (grouped over the organization's orders of those assets)."""
    ids = list(dict.fromkeys(req.equipment_ids))
    found = await repo.equipment_figures(ctx.conn, ctx.caller.org_id, ids)
    items = []
    for equipment_id in ids:
        row = found.get(equipment_id)
        items.append(
            contract.EquipmentOrderFigures(
                equipment_id=equipment_id,
                work_orders=row["orders"] if row else 0,
                last_reported_at=row["last_at"] if row else None,
                last_fault_code=row["last_fault"] if row else None,
            )
        )
    return contract.EquipmentOrderFiguresReply(items=items)


async def _page(ctx: Ctx, query: Select[Any], limit: int, offset: int) -> contract.WorkOrderPage:
    """A page of orders with their checklists: two queries, whatever the page size."""
    rows = await repo.page(ctx.conn, query, limit, offset)
    shown = rows[:limit]
    checklists = await repo.checklists(ctx.conn, [r["id"] for r in shown])
    now = ctx.state.clock.now()
    return contract.WorkOrderPage(
        items=[views.to_view(r, now, checklist=checklists.get(r["id"], ())) for r in shown],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(rows) > limit else None,
    )
