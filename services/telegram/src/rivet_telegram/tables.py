"""The ``telegram`` schema. Only this service reads or writes it.

- ``fsm``: aiogram conversation state and data (a ``/wo create`` in progress survives a restart);
- ``updates``: ids of the Telegram updates already handled, so a redelivered one is skipped;
- ``users``: a replica of the users the bot may have to notify (name, organization, Telegram
  id), fed by ``user.registered``, ``user.joined`` and ``user.telegram_linked``;
- ``notifications``: messages waiting to be sent (an outbox towards Telegram), drained by the
  sender loop at Telegram's pace, kept until they are delivered;
- ``order_context``: the work order whose card a chat opened last (a photo or a file sent soon
  after goes on that order);
- ``pending_files``: a photo or file the bot was sent without an order to go on (its Telegram
  file id), until the user picks the order with "Attach to an order instead".
"""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from rivet_runtime.tables import add_job_table, add_messaging_tables

SCHEMA = "telegram"
metadata = MetaData(schema=SCHEMA)


def _tz(name: str, *, nullable: bool = True, now: bool = False) -> Column[object]:
    return Column(
        name,
        DateTime(timezone=True),
        nullable=nullable,
        server_default=func.now() if now else None,
    )


fsm = Table(
    "fsm",
    metadata,
    Column("key", Text, primary_key=True, comment="bot:chat:user:destiny (aiogram StorageKey)"),
    Column("state", Text),
    Column("data", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    _tz("updated_at", nullable=False, now=True),
)

updates = Table(
    "updates",
    metadata,
    Column("bot_id", BigInteger, nullable=False),
    Column("update_id", BigInteger, nullable=False),
    _tz("received_at", nullable=False, now=True),
    PrimaryKeyConstraint("bot_id", "update_id"),
)
Index("updates_received_at", updates.c.received_at)

users = Table(
    "users",
    metadata,
    Column("user_id", UUID(as_uuid=True), primary_key=True),
    Column("org_id", UUID(as_uuid=True)),
    Column("full_name", Text),
    Column("telegram_user_id", BigInteger, unique=True),
    _tz("updated_at", nullable=False, now=True),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("chat_id", BigInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("work_order", Text, comment="WO number for the 'open' button"),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    _tz("next_attempt_at", nullable=False, now=True),
    Column("last_error", Text),
    _tz("failed_at"),
    _tz("created_at", nullable=False, now=True),
    UniqueConstraint("event_id", "user_id", name="notifications_once_per_event_and_user"),
)
Index(
    "notifications_due",
    notifications.c.next_attempt_at,
    postgresql_where=notifications.c.failed_at.is_(None),
)

order_context = Table(
    "order_context",
    metadata,
    Column("chat_id", BigInteger, primary_key=True),
    Column("user_id", UUID(as_uuid=True), nullable=False, comment="the Rivet user who opened it"),
    Column("work_order", Text, nullable=False, comment="WO number"),
    _tz("opened_at", nullable=False, now=True),
)

pending_files = Table(
    "pending_files",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("chat_id", BigInteger, nullable=False),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("file_id", Text, nullable=False, comment="Telegram's file id (downloaded again)"),
    Column("filename", Text, nullable=False),
    Column("caption", Text),
    Column("size_bytes", BigInteger),
    _tz("created_at", nullable=False, now=True),
)
Index("pending_files_created_at", pending_files.c.created_at)

outbox, inbox, dead_letters = add_messaging_tables(metadata)
job_runs = add_job_table(metadata)
