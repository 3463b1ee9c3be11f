"""Replicating an asset: the version rule, the asset counts and the health score.

The equipment replica also carries the asset counts per manufacturer and status, and every
replicated asset has a health score (100 until its orders say otherwise).
"""

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts import ErrorCode, ServiceError

from ..rollups import scoring
from . import repository as repo
from .repository import EquipmentRecord


async def replicate_equipment(
    conn: AsyncConnection, org_id: UUID, record: EquipmentRecord, now: datetime
) -> bool:
    """Insert the asset, or update it if ``record`` is newer; False when nothing changed.

    Idempotent and order-safe: a repeated or older event (lower ``version``) changes nothing.
    """
    health = scoring.new_deltas()
    if await repo.insert_equipment(conn, org_id, record, now):
        await repo.add_counts(conn, org_id, {(record.manufacturer, record.status): 1})
        scoring.count_new_asset(health, org_id)
        await scoring.apply_org_health(conn, health)
        return True
    old = await repo.lock_equipment(conn, record.id)
    if old["org_id"] != org_id:
        raise ServiceError(ErrorCode.CONFLICT, f"asset {record.id} belongs to another organization")
    if old["version"] >= record.version:
        return False
    await repo.update_equipment(conn, record, now)
    if (old["manufacturer"], old["status"]) != (record.manufacturer, record.status):
        await repo.add_counts(
            conn,
            org_id,
            {(old["manufacturer"], old["status"]): -1, (record.manufacturer, record.status): 1},
        )
    if old["criticality"] != record.criticality:
        await scoring.rescore(conn, [record.id], now, health)
        await scoring.apply_org_health(conn, health)
    return True
