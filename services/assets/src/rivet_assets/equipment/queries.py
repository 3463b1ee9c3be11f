"""Read-side use cases: pages and history."""

from uuid import UUID

from rivet_contracts.assets import (
    EquipmentHistory,
    EquipmentPage,
    GetEquipmentHistory,
    HistoryEntry,
    ListEquipment,
)

from ..matching import normalize
from . import repository as repo
from .service import Uow, find
from .views import to_view


async def list_page(uow: Uow, org_id: UUID, req: ListEquipment) -> EquipmentPage:
    filters = req.model_dump(exclude={"limit", "offset", "sort", "manufacturer"})
    if req.manufacturer:
        filters["manufacturer_key"] = normalize.manufacturer(req.manufacturer)[1]
    for key in ("criticality", "status"):
        if filters.get(key) is not None:
            filters[key] = filters[key].value
    rows, total = await repo.page(uow.conn, org_id, filters, req.sort, req.limit, req.offset)
    return EquipmentPage(
        items=[to_view(r) for r in rows], total=total, limit=req.limit, offset=req.offset
    )


async def history(uow: Uow, org_id: UUID, req: GetEquipmentHistory) -> EquipmentHistory:
    row = await find(uow, org_id, req.ref)
    entries = await repo.history(uow.conn, org_id, row["id"], req.limit)
    return EquipmentHistory(items=[HistoryEntry.model_validate(dict(e)) for e in entries])
