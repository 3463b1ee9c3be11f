"""The records attachments belong to, asked of their owners as the caller: a record of another
organization, or one the caller may not see, is the owner's 404."""

from typing import Any
from uuid import UUID

from rivet_contracts import assets, workorders
from rivet_contracts.assets import GetEquipment
from rivet_contracts.attachments import RecordKind
from rivet_contracts.workorders import GetWorkOrder
from rivet_runtime import RequestContext


async def resolve(ctx: RequestContext[Any], kind: RecordKind, ref: str) -> UUID:
    """The id of the work order or asset ``ref`` names (its id or number). Slow (a request to
    another service): call it outside a transaction."""
    if kind is RecordKind.WORK_ORDER:
        order = await ctx.call(workorders.GET, GetWorkOrder(ref=ref))
        return order.id
    asset = await ctx.call(assets.GET, GetEquipment(ref=ref))
    return asset.id
