"""Idempotent requests on a real PostgreSQL: a repeated key answers the first reply and runs
nothing, another request with the key is refused, racing requests with one key do the work once,
a refused request keeps no key, keys expire after 24 hours (and the prune job forgets them), and
handlers with their own transactions get the same guarantees."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import create_async_engine

from rivet_contracts import ErrorCode, ErrorInfo, Headers, Identity, Role, Rpc, ServiceError
from rivet_contracts.assets import CreateEquipment
from rivet_contracts.integrations import CreateWebhook
from rivet_contracts.workorders import CommentOnWorkOrder
from rivet_devstack.testing.env import TestEnv
from rivet_runtime import Created, RequestContext, RpcRouter
from rivet_runtime import idempotency as idem
from rivet_runtime.db import Database, async_url
from rivet_runtime.identity import identity_headers
from rivet_runtime.jobs import JobRunner
from rivet_runtime.listener import CommitListener
from rivet_runtime.rpc import RpcServer
from rivet_runtime.settings import ServiceSettings
from rivet_runtime.tables import add_idempotency_table, add_job_table

SCHEMA = "idempotency_test"


class Made(BaseModel):
    id: int
    name: str
    secret: str


@dataclass
class State:
    runs: int = 0
    slow: float = 0.0
    fail_with: ErrorCode | None = None
    crash: bool = False
    keep_and_fail: bool = False
    gate: asyncio.Event = field(default_factory=asyncio.Event)


router: RpcRouter[State] = RpcRouter()
_INSERT = text("INSERT INTO made (name) VALUES (:name) RETURNING id")


async def _make(ctx: RequestContext[State], name: str) -> Made | ErrorInfo:
    ctx.state.runs += 1
    if ctx.state.slow:
        await asyncio.sleep(ctx.state.slow)
    made = await ctx.conn.scalar(_INSERT, {"name": name})
    if ctx.state.fail_with is not None:
        raise ServiceError(ctx.state.fail_with, "refused after writing")
    if ctx.state.crash:
        raise RuntimeError("boom")
    if ctx.state.keep_and_fail:
        return ErrorInfo(code=ErrorCode.CONFLICT, message="kept my writes, failed")
    return Made(id=int(made or 0), name=name, secret=uuid.uuid4().hex)


@router.handler(Rpc.ASSETS_CREATE)
async def create_equipment(req: CreateEquipment, ctx: RequestContext[State]) -> Any:
    made = await _make(ctx, req.model or "?")
    return Created(made) if isinstance(made, Made) else made


@router.handler(Rpc.WORKORDERS_COMMENT)
async def comment(req: CommentOnWorkOrder, ctx: RequestContext[State]) -> Any:
    return await _make(ctx, req.body)


@router.handler(Rpc.INTEGRATIONS_CREATE_WEBHOOK, own_transaction=True)
async def create_webhook(req: CreateWebhook, ctx: RequestContext[State]) -> Any:
    """Like a real own-transaction create: a look first, slow I/O outside, then the write."""
    async with ctx.reading() as conn:
        await conn.execute(text("SELECT 1"))
    ctx.state.runs += 1
    if ctx.state.slow:
        await asyncio.sleep(ctx.state.slow)
    if ctx.state.fail_with is not None:
        raise ServiceError(ctx.state.fail_with, "the endpoint is refused")
    async with ctx.transaction() as conn:
        made = await conn.scalar(_INSERT, {"name": str(req.url)})
    if ctx.state.crash:
        raise RuntimeError("boom after the commit")
    return Created(Made(id=int(made or 0), name=str(req.url), secret=uuid.uuid4().hex))


@dataclass
class Harness:
    db: Database
    server: RpcServer[State]
    state: State
    org: uuid.UUID
    user: uuid.UUID

    def headers(self, key: str | None, *, user: uuid.UUID | None = None) -> dict[str, str]:
        identity = Identity(user_id=user or self.user, org_id=self.org, role=Role.ADMIN)
        headers = identity_headers(identity)
        if key is not None:
            headers[Headers.IDEMPOTENCY_KEY] = key
        return headers

    async def send(
        self, subject: str, body: dict[str, Any], key: str | None, **kw: Any
    ) -> tuple[dict[str, Any], dict[str, str]]:
        payload, headers = await self.server.handle(
            subject, json.dumps(body).encode(), self.headers(key, **kw)
        )
        return json.loads(payload), headers

    async def count(self, query: str = "SELECT count(*) FROM made") -> int:
        async with self.db.transaction() as conn:
            return int(await conn.scalar(text(query)) or 0)


REPLAYED = {Headers.REPLAYED: "true"}


def _one_answer_then_replays(answers: list[tuple[dict[str, Any], dict[str, str]]]) -> None:
    """Racing copies: one body for all; one ran (``created``), the others are replays."""
    assert len({json.dumps(body, sort_keys=True) for body, _ in answers}) == 1
    ran = [headers for _, headers in answers if Headers.REPLAYED not in headers]
    replays = [headers for _, headers in answers if Headers.REPLAYED in headers]
    assert ran == [{Headers.OUTCOME: "created"}]
    assert replays == [{Headers.OUTCOME: "created"} | REPLAYED] * (len(answers) - 1)


EQUIPMENT = {"manufacturer": "ABB", "model": "ACS580", "serial": "S-1"}
WEBHOOK = {"url": "https://example.com/hook", "event_types": ["*"]}


@pytest.fixture
async def harness(isolated_database: str) -> AsyncIterator[Harness]:
    metadata = MetaData(schema=SCHEMA)
    add_idempotency_table(metadata)
    add_job_table(metadata)
    engine = create_async_engine(async_url(isolated_database))
    async with engine.begin() as conn:
        await conn.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")
        await conn.run_sync(metadata.create_all)
        await conn.exec_driver_sql(f"CREATE TABLE {SCHEMA}.made (id serial PRIMARY KEY, name text)")
    await engine.dispose()
    db = Database(isolated_database, SCHEMA, pool_size=5, max_overflow=5)
    state = State()
    server: RpcServer[State] = RpcServer("test", db, state, rpc_timeout=3.0)
    server.include(router)
    try:
        yield Harness(db, server, state, uuid.uuid4(), uuid.uuid4())
    finally:
        await db.dispose()


async def test_a_repeat_answers_the_first_reply_and_runs_nothing(harness: Harness) -> None:
    first, headers = await harness.send(Rpc.ASSETS_CREATE, EQUIPMENT, "key-1")
    assert headers == {Headers.OUTCOME: "created"}
    # the same request: spacing, key order and defaults spelled out do not matter
    same = {"serial": "S-1", "model": "ACS580", "manufacturer": "ABB"}
    for body in (EQUIPMENT, same):
        again, again_headers = await harness.send(Rpc.ASSETS_CREATE, body, "key-1")
        assert (again, again_headers) == (first, headers | REPLAYED)
    assert harness.state.runs == 1
    assert await harness.count() == 1
    # without a key, or with another, it runs again
    await harness.send(Rpc.ASSETS_CREATE, EQUIPMENT, None)
    await harness.send(Rpc.ASSETS_CREATE, EQUIPMENT, "key-2")
    assert await harness.count() == 3
    # the key is scoped to its subject: the same key on another create is another key
    await harness.send(Rpc.WORKORDERS_COMMENT, {"ref": "WO-1", "body": "hello"}, "key-1")
    assert await harness.count() == 4
    # and stored hashed, the reply sealed: neither the key nor the secret is in the table
    async with harness.db.transaction() as conn:
        rows = (await conn.execute(text("SELECT * FROM idempotency_keys"))).mappings().all()
    assert len(rows) == 3
    dumped = repr([dict(r) for r in rows])
    assert "key-1" not in dumped
    assert first["secret"] not in dumped
    assert first["secret"].encode() not in b"".join(bytes(r["reply_body"]) for r in rows)


async def test_the_same_key_with_another_request_is_refused(harness: Harness) -> None:
    first, _ = await harness.send(Rpc.ASSETS_CREATE, EQUIPMENT, "key-1")
    other, headers = await harness.send(Rpc.ASSETS_CREATE, EQUIPMENT | {"serial": "S-2"}, "key-1")
    assert headers[Headers.ERROR] == ErrorCode.IDEMPOTENCY_KEY_REUSED
    assert "different request" in other["message"]
    # another member of the organization with the same key and body is another request too:
    # they never get someone else's reply
    _, headers = await harness.send(Rpc.ASSETS_CREATE, EQUIPMENT, "key-1", user=uuid.uuid4())
    assert headers[Headers.ERROR] == ErrorCode.IDEMPOTENCY_KEY_REUSED
    assert harness.state.runs == 1
    # the first request still gets its answer
    assert (await harness.send(Rpc.ASSETS_CREATE, EQUIPMENT, "key-1"))[0] == first


@pytest.mark.parametrize("key", ["", "k" * 256, "schlüssel", "tab\tkey", "line\nbreak"])
async def test_keys_that_cannot_be_used_are_refused(harness: Harness, key: str) -> None:
    reply, headers = await harness.send(Rpc.ASSETS_CREATE, EQUIPMENT, key)
    assert headers[Headers.ERROR] == ErrorCode.VALIDATION
    assert "1-255 printable ASCII" in reply["message"]
    assert harness.state.runs == 0


async def test_fifty_racing_requests_with_one_key_do_the_work_once(harness: Harness) -> None:
    harness.state.slow = 0.2  # the first holds its transaction open while the others arrive
    answers = await asyncio.gather(
        *(harness.send(Rpc.ASSETS_CREATE, EQUIPMENT, "race") for _ in range(50))
    )
    _one_answer_then_replays(answers)
    assert harness.state.runs == 1
    assert await harness.count() == 1


@pytest.mark.parametrize("failure", ["refused", "crash", "kept"])
async def test_a_failed_request_keeps_no_key(harness: Harness, failure: str) -> None:
    harness.state.fail_with = ErrorCode.CONFLICT if failure == "refused" else None
    harness.state.crash = failure == "crash"
    harness.state.keep_and_fail = failure == "kept"
    _, headers = await harness.send(Rpc.ASSETS_CREATE, EQUIPMENT, "retry-me")
    assert Headers.ERROR in headers
    # a refusal rolls its writes back; an ErrorInfo reply keeps them (as without a key)
    assert await harness.count() == (1 if failure == "kept" else 0)
    assert await harness.count("SELECT count(*) FROM idempotency_keys") == 0
    harness.state.fail_with, harness.state.crash, harness.state.keep_and_fail = None, False, False
    fixed, headers = await harness.send(Rpc.ASSETS_CREATE, EQUIPMENT, "retry-me")
    assert headers == {Headers.OUTCOME: "created"}
    assert (await harness.send(Rpc.ASSETS_CREATE, EQUIPMENT, "retry-me"))[0] == fixed


async def test_a_key_expires_after_24_hours_and_the_prune_job_forgets_it(
    harness: Harness, test_env: TestEnv
) -> None:
    first, _ = await harness.send(Rpc.ASSETS_CREATE, EQUIPMENT, "old")
    await harness.send(Rpc.ASSETS_CREATE, EQUIPMENT, "recent")
    async with harness.db.transaction() as conn:
        await conn.execute(
            text("UPDATE idempotency_keys SET created_at = now() - interval '23 hours 59 minutes'")
        )
    assert (await harness.send(Rpc.ASSETS_CREATE, EQUIPMENT, "old"))[0] == first
    assert harness.state.runs == 2
    async with harness.db.transaction() as conn:
        await conn.execute(
            text("UPDATE idempotency_keys SET created_at = now() - interval '24 hours 1 minute'")
        )
    # an expired key the job has not pruned yet is a new key: the request runs
    again, headers = await harness.send(Rpc.ASSETS_CREATE, EQUIPMENT, "old")
    assert headers == {Headers.OUTCOME: "created"}
    assert again["id"] != first["id"]
    assert harness.state.runs == 3
    listener = CommitListener(harness.db)
    settings = ServiceSettings(**test_env.common() | {"service_name": "idempotency-test"})
    runner: JobRunner[object] = JobRunner(settings, harness.db, object(), idem.jobs.jobs, listener)
    try:
        assert await runner.run_now(idem.PRUNE_JOB) == 1  # "recent" (24 h old); "old" is new
    finally:
        await listener.close()
    assert await harness.count("SELECT count(*) FROM idempotency_keys") == 1


async def test_a_handler_with_its_own_transactions(harness: Harness) -> None:
    first, headers = await harness.send(Rpc.INTEGRATIONS_CREATE_WEBHOOK, WEBHOOK, "hook")
    assert headers == {Headers.OUTCOME: "created"}
    assert (await harness.send(Rpc.INTEGRATIONS_CREATE_WEBHOOK, WEBHOOK, "hook"))[0] == first
    _, headers = await harness.send(
        Rpc.INTEGRATIONS_CREATE_WEBHOOK, WEBHOOK | {"event_types": ["wo.*"]}, "hook"
    )
    assert headers[Headers.ERROR] == ErrorCode.IDEMPOTENCY_KEY_REUSED
    assert harness.state.runs == 1
    assert await harness.count() == 1


async def test_racing_requests_to_a_handler_with_its_own_transactions(harness: Harness) -> None:
    harness.state.slow = 0.3
    answers = await asyncio.gather(
        *(harness.send(Rpc.INTEGRATIONS_CREATE_WEBHOOK, WEBHOOK, "race") for _ in range(20))
    )
    _one_answer_then_replays(answers)
    assert harness.state.runs == 1
    assert await harness.count() == 1


async def test_an_own_transaction_request_that_fails_releases_its_key(harness: Harness) -> None:
    harness.state.fail_with = ErrorCode.VALIDATION
    _, headers = await harness.send(Rpc.INTEGRATIONS_CREATE_WEBHOOK, WEBHOOK, "hook")
    assert headers[Headers.ERROR] == ErrorCode.VALIDATION
    assert await harness.count("SELECT count(*) FROM idempotency_keys") == 0
    harness.state.fail_with = None
    _, headers = await harness.send(Rpc.INTEGRATIONS_CREATE_WEBHOOK, WEBHOOK, "hook")
    assert headers == {Headers.OUTCOME: "created"}
    assert await harness.count() == 1


async def test_an_own_transaction_crash_after_its_commit_keeps_the_key(harness: Harness) -> None:
    """It may have created something: the key is not handed to a repeat, which is told to try
    later (``conflict``) rather than create a second one."""
    harness.state.crash = True
    _, headers = await harness.send(Rpc.INTEGRATIONS_CREATE_WEBHOOK, WEBHOOK, "hook")
    assert headers[Headers.ERROR] == ErrorCode.INTERNAL
    harness.state.crash = False
    harness.server.rpc_timeout = 0.3
    busy, headers = await harness.send(Rpc.INTEGRATIONS_CREATE_WEBHOOK, WEBHOOK, "hook")
    assert headers[Headers.ERROR] == ErrorCode.CONFLICT
    assert "interrupted" in busy["message"]
    assert harness.state.runs == 1
    assert await harness.count() == 1


async def test_a_first_request_still_running_is_waited_for_then_conflict(
    harness: Harness,
) -> None:
    """A repeat that finds the first still running waits for its reply (for 60% of the RPC
    timeout: 1.8 s here), then answers ``conflict`` with ``retry_after``; nothing runs twice."""
    harness.state.slow = 1.0
    first = asyncio.create_task(harness.send(Rpc.INTEGRATIONS_CREATE_WEBHOOK, WEBHOOK, "slow"))
    await asyncio.sleep(0.3)
    waited = await harness.send(Rpc.INTEGRATIONS_CREATE_WEBHOOK, WEBHOOK, "slow")
    answer, headers = await first
    assert waited == (answer, headers | REPLAYED)
    harness.state.slow = 5.0
    second = asyncio.create_task(harness.send(Rpc.INTEGRATIONS_CREATE_WEBHOOK, WEBHOOK, "slower"))
    await asyncio.sleep(0.3)
    busy, headers = await harness.send(Rpc.INTEGRATIONS_CREATE_WEBHOOK, WEBHOOK, "slower")
    assert headers[Headers.ERROR] == ErrorCode.CONFLICT
    assert busy["retry_after"] == 1
    assert (await second)[1] == {Headers.OUTCOME: "created"}
    assert harness.state.runs == 2
    assert await harness.count() == 2
