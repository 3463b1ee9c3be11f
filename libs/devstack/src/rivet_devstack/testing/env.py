"""Where a test run's servers are and how it is isolated from every other run."""

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..servers import resolve, with_database


@dataclass(frozen=True)
class TestEnv:
    __test__ = False  # not a test class, despite the name
    nats_url: str
    admin_url: str
    """The PostgreSQL server's maintenance database (``postgres``)."""
    run_id: str

    @property
    def database(self) -> str:
        return f"rivet_test_{self.run_id}"

    @property
    def database_url(self) -> str:
        return with_database(self.admin_url, self.database)

    @property
    def namespace(self) -> str:
        return f"t{self.run_id}"

    def common(self) -> dict[str, object]:
        """Settings every service under test shares."""
        return {
            "nats_url": self.nats_url,
            "nats_namespace": self.namespace,
            "database_url": self.database_url,
            "log_json": False,
            # a few connections each: the session's services and a two-replica cluster share
            # one PostgreSQL of 100 connections
            "db_pool_size": 3,
            "db_pool_overflow": 3,
            "outbox_safety_poll": 1.0,
            "consumer_retry_delay": 0.05,
            "shutdown_grace": 3.0,
        }


def discover(state_dir: Path) -> tuple[TestEnv, object]:
    """Servers from the environment (as ``rivet-dev test`` sets them), else resolved here."""
    run_id = uuid.uuid4().hex[:10]
    nats_url, pg_url = os.environ.get("NATS_URL"), os.environ.get("DATABASE_URL")
    if nats_url and pg_url:
        return TestEnv(nats_url, with_database(pg_url, "postgres"), run_id), None
    servers = resolve(state_dir)
    return TestEnv(servers.nats_url, servers.postgres_url, run_id), servers
