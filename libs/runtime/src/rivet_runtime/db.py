"""Database access: one async engine per process, one transaction per request or message."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def async_url(url: str) -> str:
    """``postgresql://...`` (what people and tools write) as SQLAlchemy's asyncpg URL."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+asyncpg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


class Database:
    """A service's connection pool, pinned to the service's own schema."""

    def __init__(
        self,
        url: str,
        schema: str,
        *,
        pool_size: int = 10,
        max_overflow: int | None = None,
        app_name: str = "rivet",
    ):
        self.schema = schema
        self.engine: AsyncEngine = create_async_engine(
            async_url(url),
            pool_size=pool_size,
            max_overflow=pool_size if max_overflow is None else max_overflow,
            # No pre-ping: SQLAlchemy's costs three round trips (BEGIN; SELECT; ROLLBACK) on
            # every checkout. A connection the server closed is refused at checkout instead
            # (below); one that breaks mid-transaction fails that transaction, which callers
            # retry as an outage, and SQLAlchemy then discards the pool's stale connections.
            pool_pre_ping=False,
            pool_recycle=1800,
            connect_args={
                # public: where extensions such as pg_trgm live
                "server_settings": {
                    "search_path": f"{schema}, public",
                    "application_name": app_name,
                },
                "timeout": 5,
                "command_timeout": 30,
            },
        )

        event.listen(self.engine.sync_engine, "checkout", _refuse_closed)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        async with self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection without a transaction (autocommit): for a quick look that needs no
        BEGIN and COMMIT round trips. Each statement sees what is committed when it runs."""
        async with self.engine.connect() as conn:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()


def _refuse_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Pool checkout hook: a connection asyncpg already knows is closed (the server restarted
    or ended it) is replaced without a round trip."""
    if dbapi_connection.driver_connection.is_closed():
        raise exc.DisconnectionError("connection closed by the server")
