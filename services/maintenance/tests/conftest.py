"""Helpers for the maintenance tests: a migrated database of this package's own (created for
the test session, dropped after it) and a transaction per test that is rolled back, so every
test starts from empty tables and none sees another's rows; and the running service
(``stack``: see ``maintenance_support``) on a database and NATS namespace of its own, each
test in an organization of its own.

The schedule tests (``test_schedule_*``) use none of this: they are pure.
"""

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_devstack.servers import drop_database, ensure_database, with_database
from rivet_devstack.testing.env import TestEnv
from rivet_maintenance.main import MIGRATIONS
from rivet_maintenance.tables import SCHEMA
from rivet_runtime.db import Database
from rivet_runtime.migrations import migrate

# pytest runs in importlib mode, which does not put test folders on sys.path
sys.path.insert(0, str(Path(__file__).parent))

from maintenance_support import Org, Stack, stack_settings, start_stack, stop_stack


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


@pytest.fixture(scope="session")
async def stack_session(test_env: TestEnv) -> AsyncIterator[Stack]:
    name = f"rivet_maintenance_stack_{uuid4().hex[:8]}"
    await ensure_database(test_env.admin_url, name)
    settings = stack_settings(
        test_env.common()
        | {
            "database_url": with_database(test_env.admin_url, name),
            "nats_namespace": f"{test_env.namespace}m{uuid4().hex[:6]}",
        }
    )
    stack = await start_stack(settings)
    try:
        yield stack
    finally:
        await stop_stack(stack)
        await drop_database(test_env.admin_url, name)


@pytest.fixture
async def stack(stack_session: Stack) -> AsyncIterator[Stack]:
    """The running service; its clock and its peers' faults are reset after each test."""
    yield stack_session
    stack_session.state.clock.freeze(None)
    peers = stack_session.peers
    peers.fail, peers.silent, peers.late = None, False, 0.0


@pytest.fixture
def org(stack: Stack) -> Org:
    return Org()
