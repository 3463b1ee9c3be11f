"""deploy/postgres/roles.sql on the real PostgreSQL: each service role reaches only its schema.

The script runs in a scratch database created (and dropped) here, with role names suffixed
(``rivet.role_suffix``) so that nothing clashes with other runs or a real deployment.
"""

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import asyncpg
import pytest
from deploy_support import ROLES_SQL, Scratch, apply_roles, drop_roles

from rivet_devstack.servers import drop_database, ensure_database, with_database
from rivet_devstack.services import SERVICES
from rivet_devstack.testing.env import TestEnv

SERVICES_WITH_SCHEMA = ("auth", "assets", "workorders", "ocr")


@pytest.fixture
async def scratch(test_env: TestEnv) -> AsyncIterator[Scratch]:
    suffix = f"_t{uuid.uuid4().hex[:8]}"
    name = f"rivet_roles{suffix}"
    await ensure_database(test_env.admin_url, name)
    url = with_database(test_env.admin_url, name)
    try:
        await apply_roles(url, suffix)
        yield Scratch(url, name, suffix)
    finally:
        await drop_database(test_env.admin_url, name)
        await drop_roles(test_env.admin_url, suffix)


def test_roles_cover_every_service_with_a_schema() -> None:
    sql = ROLES_SQL.read_text()
    listed = sql.split("services CONSTANT text[] := ARRAY[", 1)[1].split("]", 1)[0]
    schemas = {s.strip().strip("'") for s in listed.split(",")}
    registry = {s.name for s in SERVICES if s.build is not None}
    assert registry <= schemas, f"roles.sql lacks roles for {registry - schemas}"
    assert "PASSWORD" not in sql.split("DO $roles$", 1)[1], "no passwords in roles.sql"


async def test_each_role_owns_only_its_schema(scratch: Scratch) -> None:
    admin = await asyncpg.connect(scratch.admin_url)
    try:
        owners = dict(
            await admin.fetch(
                "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace "
                "WHERE nspname = ANY($1::text[])",
                list(SERVICES_WITH_SCHEMA),
            )
        )
        extensions = {r[0] for r in await admin.fetch("SELECT extname FROM pg_extension")}
        # a table in auth's schema, as a previous superuser-run migration would have left it
        await admin.execute("CREATE TABLE auth.legacy (id int)")
        await apply_roles(scratch.admin_url, scratch.suffix)  # idempotent; hands it over
        legacy_owner = await admin.fetchval(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'auth.legacy'::regclass"
        )
    finally:
        await admin.close()
    assert owners == {s: scratch.role(s) for s in SERVICES_WITH_SCHEMA}
    assert {"pg_trgm", "fuzzystrmatch"} <= extensions
    assert legacy_owner == scratch.role("auth")

    auth = await asyncpg.connect(scratch.url_as("auth"))
    try:
        await auth.execute("CREATE TABLE auth.secrets (id int PRIMARY KEY, hash text)")
        await auth.execute("INSERT INTO auth.secrets VALUES (1, 'x')")
        # extensions installed by the administrator are usable from the service's schema
        assert await auth.fetchval("SELECT similarity('pump', 'pumps') > 0.3")
        assert await auth.fetchval("SELECT levenshtein('grundfos', 'grunfos')") == 1
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await auth.execute("CREATE TABLE public.squat (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await auth.execute("CREATE SCHEMA elsewhere")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await auth.execute("CREATE EXTENSION IF NOT EXISTS hstore")
    finally:
        await auth.close()

    workorders = await asyncpg.connect(scratch.url_as("workorders"))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="schema auth"):
            await workorders.fetch("SELECT * FROM auth.secrets")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await workorders.execute("INSERT INTO auth.secrets VALUES (2, 'y')")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await workorders.execute("DROP TABLE auth.secrets")
        # its own schema works
        await workorders.execute("CREATE TABLE workorders.mine (id int)")
    finally:
        await workorders.close()


async def test_roles_cannot_reach_other_databases(scratch: Scratch, test_env: TestEnv) -> None:
    """CONNECT is revoked from PUBLIC on the scratch database: an unrelated role gets nothing,
    and the service roles cannot connect to a database that did not grant them."""
    other = f"{scratch.database}_other"
    await ensure_database(test_env.admin_url, other)
    try:
        conn = await asyncpg.connect(with_database(test_env.admin_url, other))
        try:
            await conn.execute("REVOKE ALL ON DATABASE " + f'"{other}"' + " FROM PUBLIC")
        finally:
            await conn.close()
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await asyncpg.connect(with_database(scratch.url_as("ocr"), other))
    finally:
        await drop_database(test_env.admin_url, other)


async def test_compose_init_script(test_env: TestEnv) -> None:
    """deploy/postgres/init.sh, as the postgres image runs it on first start: roles.sql, then
    each role's password from RIVET_DB_PASSWORD_<SERVICE>."""
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql is not installed: deploy/postgres/init.sh was not run")
    suffix = f"_i{uuid.uuid4().hex[:8]}"
    name = f"rivet_init{suffix}"
    await ensure_database(test_env.admin_url, name)
    admin = urlsplit(test_env.admin_url)
    env = os.environ | {
        "POSTGRES_USER": admin.username or "postgres",
        "POSTGRES_DB": name,
        "PGHOST": admin.hostname or "127.0.0.1",
        "PGPORT": str(admin.port or 5432),
        "RIVET_ROLES_SQL": str(ROLES_SQL),
        "RIVET_ROLE_SUFFIX": suffix,
        "RIVET_DB_PASSWORD_AUTH": "s3cret-auth",
        "RIVET_DB_PASSWORD_INTEGRATIONS": "s3cret-integrations",
        "RIVET_DB_PASSWORD_ATTACHMENTS": "s3cret-attachments",
    }
    if admin.password:
        env["PGPASSWORD"] = admin.password
    try:
        ran = await asyncio.to_thread(
            subprocess.run,
            ["sh", str(ROLES_SQL.parent / "init.sh")],
            env=env,
            capture_output=True,
            text=True,
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
        conn = await asyncpg.connect(with_database(test_env.admin_url, name))
        try:
            passwords = dict(
                await conn.fetch(
                    "SELECT rolname, rolpassword IS NOT NULL FROM pg_authid WHERE rolname LIKE $1",
                    f"rivet\\_%{suffix}",
                )
            )
            owner = await conn.fetchval(
                "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'ocr'"
            )
        finally:
            await conn.close()
        assert passwords[f"rivet_auth{suffix}"] is True
        # every role compose gives a password to gets it (the later services too)
        assert passwords[f"rivet_integrations{suffix}"] is True
        assert passwords[f"rivet_attachments{suffix}"] is True
        assert passwords[f"rivet_ocr{suffix}"] is False  # no password given: none set
        assert owner == f"rivet_ocr{suffix}"
    finally:
        await drop_database(test_env.admin_url, name)
        await drop_roles(test_env.admin_url, suffix)
