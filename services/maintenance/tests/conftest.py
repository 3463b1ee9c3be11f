"""Helpers for the maintenance tests: a migrated database of this package's own (created for
the test session, dropped after it) and a transaction per test that is rolled back, so every
test starts from empty tables and none sees another's rows.

The schedule tests (``test_schedule_*``) use none of this: they are pure.
"""

from collections.abc import AsyncIterator
from uuid import uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_devstack.servers import drop_database, ensure_database, with_database
from rivet_devstack.testing.env import TestEnv
from rivet_maintenance.main import MIGRATIONS
from rivet_maintenance.tables import SCHEMA
from rivet_runtime.db import Database
from rivet_runtime.migrations import migrate


@pytest.fixture(scope="session")
async def maintenance_db(test_env: TestEnv) -> AsyncIterator[Database]:
    name = f"rivet_maintenance_test_{uuid4().hex[:8]}"
    await ensure_database(test_env.admin_url, name)
    url = with_database(test_env.admin_url, name)
    try:
        await migrate(url, SCHEMA, MIGRATIONS)
        db = Database(url, SCHEMA, pool_size=2)
        yield db
        await db.dispose()
    finally:
        await drop_database(test_env.admin_url, name)


@pytest.fixture
async def conn(maintenance_db: Database) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction that is rolled back after the test."""
    async with maintenance_db.engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()
