"""Queries of attachments and usage: stores and loads, decides nothing."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import attachments, usage

LIVE = attachments.c.deleted_at.is_(None)


async def insert_attachment(conn: AsyncConnection, values: dict[str, Any]) -> RowMapping:
    result = await conn.execute(insert(attachments).values(**values).returning(attachments))
    row: RowMapping = result.mappings().one()
    return row


async def get(
    conn: AsyncConnection, org_id: UUID, attachment_id: UUID, *, lock: bool = False
) -> RowMapping | None:
    """A live attachment of the organization."""
    query = select(attachments).where(
        attachments.c.id == attachment_id, attachments.c.org_id == org_id, LIVE
    )
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).mappings().first()


async def same_file(
    conn: AsyncConnection, org_id: UUID, record_kind: str, record_id: UUID, sha256: str
) -> RowMapping | None:
    """A live attachment of the record whose original is these bytes (by SHA-256)."""
    query = select(attachments).where(
        attachments.c.org_id == org_id,
        attachments.c.record_kind == record_kind,
        attachments.c.record_id == record_id,
        attachments.c.sha256 == sha256,
        LIVE,
    )
    return (await conn.execute(query.limit(1))).mappings().first()


async def page(
    conn: AsyncConnection,
    org_id: UUID,
    record_kind: str,
    record_id: UUID,
    after: UUID | None,
    limit: int,
) -> Sequence[RowMapping]:
    query = (
        select(attachments)
        .where(
            attachments.c.org_id == org_id,
            attachments.c.record_kind == record_kind,
            attachments.c.record_id == record_id,
            LIVE,
        )
        .order_by(attachments.c.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(attachments.c.id > after)
    return (await conn.execute(query)).mappings().all()


async def set_caption(
    conn: AsyncConnection, attachment_id: UUID, caption: str | None
) -> RowMapping:
    result = await conn.execute(
        update(attachments)
        .where(attachments.c.id == attachment_id)
        .values(caption=caption, updated_at=func.now())
        .returning(attachments)
    )
    row: RowMapping = result.mappings().one()
    return row


async def mark_deleted(conn: AsyncConnection, attachment_id: UUID, by: UUID) -> RowMapping:
    result = await conn.execute(
        update(attachments)
        .where(attachments.c.id == attachment_id)
        .values(deleted_at=func.now(), deleted_by=by, updated_at=func.now())
        .returning(attachments)
    )
    row: RowMapping = result.mappings().one()
    return row


# --- usage ------------------------------------------------------------------------------------


async def lock_usage(conn: AsyncConnection, org_id: UUID) -> RowMapping:
    """The organization's usage row, created if missing, locked until the transaction ends:
    adds and removals of one organization take their turns."""
    await conn.execute(insert(usage).values(org_id=org_id).on_conflict_do_nothing())
    query = select(usage).where(usage.c.org_id == org_id).with_for_update()
    return (await conn.execute(query)).mappings().one()


async def change_usage(conn: AsyncConnection, org_id: UUID, bytes_: int, files: int) -> None:
    await conn.execute(
        update(usage)
        .where(usage.c.org_id == org_id)
        .values(
            bytes_used=func.greatest(usage.c.bytes_used + bytes_, 0),
            files=func.greatest(usage.c.files + files, 0),
            updated_at=func.now(),
        )
    )


async def usage_of(conn: AsyncConnection, org_id: UUID) -> RowMapping | None:
    return (await conn.execute(select(usage).where(usage.c.org_id == org_id))).mappings().first()


# --- deleting objects -------------------------------------------------------------------------


async def claim_to_purge(conn: AsyncConnection, limit: int) -> Sequence[RowMapping]:
    """Removed attachments whose objects are still stored, locked (SKIP LOCKED: replicas take
    different ones) until the transaction ends."""
    query = (
        select(
            attachments.c.id,
            attachments.c.original_key,
            attachments.c.screen_key,
            attachments.c.thumbnail_key,
        )
        .where(attachments.c.deleted_at.is_not(None), attachments.c.purged_at.is_(None))
        .order_by(attachments.c.deleted_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await conn.execute(query)).mappings().all()


async def mark_purged(conn: AsyncConnection, ids: Sequence[UUID]) -> None:
    await conn.execute(
        update(attachments).where(attachments.c.id.in_(ids)).values(purged_at=func.now())
    )


async def live_among(conn: AsyncConnection, ids: Sequence[UUID]) -> set[UUID]:
    """Which of ``ids`` are live attachments (whatever the organization)."""
    if not ids:
        return set()
    query = select(attachments.c.id).where(attachments.c.id.in_(ids), LIVE)
    return set((await conn.execute(query)).scalars().all())
