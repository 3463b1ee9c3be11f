"""aiogram FSM storage in PostgreSQL (table ``fsm``), so a conversation survives a restart.

A user halfway through ``/wo create`` when the bot is redeployed just carries on with the next
step, on whichever replica gets the next update. One row per aiogram ``StorageKey`` (bot, chat,
user, thread, destiny); a row whose state and data are both empty is removed.
"""

import json
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StateType, StorageKey
from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert

from rivet_runtime.db import Database

from ..tables import fsm

_EMPTY_DATA = text("data = '{}'::jsonb")


class PostgresStorage(BaseStorage):
    def __init__(self, db: Database) -> None:
        self.db = db
        self.keys = DefaultKeyBuilder(
            prefix="fsm", with_bot_id=True, with_business_connection_id=True, with_destiny=True
        )

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._write(key, {"state": value})

    async def get_state(self, key: StorageKey) -> str | None:
        async with self.db.transaction() as conn:
            state: str | None = await conn.scalar(
                select(fsm.c.state).where(fsm.c.key == self.keys.build(key))
            )
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        # Round-trip through JSON now, so a value that cannot be stored fails in the handler
        # that set it rather than later.
        await self._write(key, {"data": json.loads(json.dumps(dict(data)))})

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self.db.transaction() as conn:
            data: dict[str, Any] | None = await conn.scalar(
                select(fsm.c.data).where(fsm.c.key == self.keys.build(key))
            )
        return dict(data or {})

    async def close(self) -> None:
        """Nothing to close: the service runtime owns the connection pool."""

    async def _write(self, key: StorageKey, values: dict[str, Any]) -> None:
        name = self.keys.build(key)
        statement = insert(fsm).values(key=name, **values)
        statement = statement.on_conflict_do_update(
            index_elements=[fsm.c.key], set_={**values, "updated_at": func.now()}
        )
        async with self.db.transaction() as conn:
            await conn.execute(statement)
            await conn.execute(
                delete(fsm).where(fsm.c.key == name, fsm.c.state.is_(None), _EMPTY_DATA)
            )
