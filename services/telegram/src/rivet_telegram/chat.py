"""What the bot remembers about a chat between messages (UI state, never business data).

- The **order in view**: the work order whose card the chat opened (or acted on) last. A photo
  or a file sent within ``TELEGRAM_ORDER_CONTEXT_TTL`` seconds goes on that order; ``/scan``
  and ``/cancel`` end it. It belongs to the Rivet user who opened it: after a re-link to
  another account the chat has none.
- **Files waiting for an order**: a photo scanned as a nameplate, or a file sent with no order
  in view, is kept by its Telegram file id, so "Attach to an order instead" attaches the same
  file (downloaded from Telegram again) without the user sending it twice. Kept a day.
"""

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert

from rivet_runtime.db import Database

from .tables import order_context, pending_files

PENDING_KEPT = timedelta(days=1)


async def show_order(db: Database, chat_id: int, user_id: UUID, number: str) -> None:
    """The chat now looks at ``number``."""
    statement = insert(order_context).values(chat_id=chat_id, user_id=user_id, work_order=number)
    statement = statement.on_conflict_do_update(
        index_elements=[order_context.c.chat_id],
        set_={"user_id": user_id, "work_order": number, "opened_at": func.now()},
    )
    async with db.transaction() as conn:
        await conn.execute(statement)


async def order_in_view(db: Database, chat_id: int, user_id: UUID, ttl: float) -> str | None:
    """The order the chat opened within ``ttl`` seconds (as this user), or None."""
    if ttl <= 0:
        return None
    async with db.read() as conn:
        number: str | None = await conn.scalar(
            select(order_context.c.work_order).where(
                order_context.c.chat_id == chat_id,
                order_context.c.user_id == user_id,
                order_context.c.opened_at > func.now() - timedelta(seconds=ttl),
            )
        )
    return number


async def leave_order(db: Database, chat_id: int) -> str | None:
    """The chat looks at no order any more; the one it looked at (None: none)."""
    async with db.transaction() as conn:
        left: str | None = await conn.scalar(
            delete(order_context)
            .where(order_context.c.chat_id == chat_id)
            .returning(order_context.c.work_order)
        )
    return left


@dataclass(frozen=True)
class PendingFile:
    id: int
    file_id: str
    filename: str
    caption: str | None
    size_bytes: int | None


async def keep_file(
    db: Database,
    chat_id: int,
    user_id: UUID,
    file_id: str,
    filename: str,
    caption: str | None,
    size_bytes: int | None,
) -> int:
    """Keep a file until the user picks its order; its id (for the buttons)."""
    statement = (
        insert(pending_files)
        .values(
            chat_id=chat_id,
            user_id=user_id,
            file_id=file_id,
            filename=filename,
            caption=caption,
            size_bytes=size_bytes,
        )
        .returning(pending_files.c.id)
    )
    async with db.transaction() as conn:
        found = await conn.scalar(statement)
    assert found is not None
    return int(found)


async def pending_file(db: Database, file: int, chat_id: int, user_id: UUID) -> PendingFile | None:
    """The file kept as ``file`` for this chat and user, if it is still kept."""
    async with db.read() as conn:
        row = (
            await conn.execute(
                select(pending_files).where(
                    pending_files.c.id == file,
                    pending_files.c.chat_id == chat_id,
                    pending_files.c.user_id == user_id,
                    pending_files.c.created_at > func.now() - PENDING_KEPT,
                )
            )
        ).first()
    if row is None:
        return None
    return PendingFile(row.id, row.file_id, row.filename, row.caption, row.size_bytes)


async def forget_file(db: Database, file: int) -> None:
    async with db.transaction() as conn:
        await conn.execute(delete(pending_files).where(pending_files.c.id == file))
