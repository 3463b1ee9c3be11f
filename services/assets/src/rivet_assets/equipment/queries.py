"""Read-side use cases: pages, CSV exports and history."""

from typing import Any
from uuid import UUID

from rivet_contracts.assets import (
    EquipmentCsvPart,
    EquipmentFilters,
    EquipmentHistory,
    EquipmentPage,
    ExportEquipment,
    GetEquipmentHistory,
    HistoryEntry,
    ListEquipment,
)

from .. import sheets
from ..matching import normalize
from . import repository as repo
from .service import Uow, find
from .views import to_view


def _filters(req: EquipmentFilters) -> dict[str, Any]:
    """Column conditions for the filters of a list or an export."""
    filters = req.model_dump(include=set(EquipmentFilters.model_fields) - {"manufacturer"})
    if req.manufacturer:
        filters["manufacturer_key"] = normalize.manufacturer(req.manufacturer)[1]
    for key in ("criticality", "status"):
        if filters.get(key) is not None:
            filters[key] = filters[key].value
    return filters


async def list_page(uow: Uow, org_id: UUID, req: ListEquipment) -> EquipmentPage:
    rows, total = await repo.page(uow.conn, org_id, _filters(req), req.sort, req.limit, req.offset)
    return EquipmentPage(
        items=[to_view(r) for r in rows], total=total, limit=req.limit, offset=req.offset
    )


async def export_part(uow: Uow, org_id: UUID, req: ExportEquipment) -> EquipmentCsvPart:
    after = req.after.upper() if req.after else None
    rows = await repo.export_part(uow.conn, org_id, _filters(req), after, req.limit)
    return EquipmentCsvPart(
        csv=sheets.render(rows, header=after is None),
        rows=len(rows),
        next_after=rows[-1]["number"] if len(rows) == req.limit else None,
    )


async def history(uow: Uow, org_id: UUID, req: GetEquipmentHistory) -> EquipmentHistory:
    row = await find(uow, org_id, req.ref)
    entries = await repo.history(uow.conn, org_id, row["id"], req.limit)
    return EquipmentHistory(items=[HistoryEntry.model_validate(dict(e)) for e in entries])
