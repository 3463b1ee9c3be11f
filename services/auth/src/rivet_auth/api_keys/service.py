"""API keys of an organization: created, listed and revoked by its admins (people, never
another key), each change in the security audit log and announced to the gateways
(``user.api_key_created``, ``user.api_key_revoked``). Never commits: the runtime does."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import RowMapping

from rivet_contracts import ErrorCode, Events, ServiceError
from rivet_contracts import auth as contract
from rivet_contracts.base import Done
from rivet_runtime import RequestContext

from ..audit.service import record
from ..members.rules import require_person
from ..state import AuthState
from . import keys
from . import repository as repo

Ctx = RequestContext[AuthState]

USE_RECORDED_EVERY = 60.0
"""Seconds between two records of a key's use (``last_used_at``)."""


def _view(row: RowMapping, **extra: Any) -> contract.ApiKeyView:
    return contract.ApiKeyView.model_validate(dict(row) | extra)


async def create(ctx: Ctx, req: contract.CreateApiKey) -> contract.ApiKeyView:
    caller = ctx.caller
    require_person(caller, "API keys cannot create API keys")
    if not caller.role.at_least(req.role):
        raise ServiceError(ErrorCode.FORBIDDEN, "a key cannot have a role above yours")
    now = datetime.now(UTC)
    if req.expires_at is not None and (req.expires_at.tzinfo is None or req.expires_at <= now):
        raise ServiceError(
            ErrorCode.VALIDATION,
            "expires_at must be a time in the future, with its time zone",
            details=[{"loc": ["expires_at"], "msg": "not in the future", "type": "value_error"}],
        )
    secret, prefix = keys.new_key()
    digest = keys.digest(secret)
    key_id = uuid.uuid4()
    row = await repo.add(
        ctx.conn,
        id=key_id,
        org_id=caller.org_id,
        prefix=prefix,
        secret_hash=digest,
        name=req.name,
        role=req.role.value,
        read_only=req.read_only,
        created_by=caller.user_id,
        created_at=now,
        expires_at=req.expires_at,
    )
    details = {"key_id": str(key_id), "prefix": prefix, "name": req.name, "role": req.role.value}
    await record(
        ctx.conn, caller.org_id, contract.AuditAction.API_KEY_CREATED, actor_id=caller.user_id,
        channel=ctx.channel, details=details | {"read_only": req.read_only},
    )  # fmt: skip
    await ctx.emit(
        Events.API_KEY_CREATED,
        contract.ApiKeyCreated(
            key_id=key_id,
            org_id=caller.org_id,
            prefix=prefix,
            name=req.name,
            role=req.role,
            read_only=req.read_only,
            expires_at=req.expires_at,
            created_by=caller.user_id,
            secret_sha256=digest.hex(),
        ),
        org_id=caller.org_id,
    )
    return _view(row, secret=secret)


async def list_keys(ctx: Ctx, _req: contract.ListApiKeys) -> contract.ApiKeyList:
    caller = ctx.caller
    require_person(caller, "API keys cannot manage API keys")
    return contract.ApiKeyList(items=[_view(r) for r in await repo.of_org(ctx.conn, caller.org_id)])


async def revoke(ctx: Ctx, req: contract.RevokeApiKey) -> contract.ApiKeyView:
    caller = ctx.caller
    require_person(caller, "API keys cannot manage API keys")
    now = datetime.now(UTC)
    row = await repo.revoke(ctx.conn, caller.org_id, req.key_id, caller.user_id, now)
    if row is None:
        found = await repo.find(ctx.conn, caller.org_id, req.key_id)
        if found is None:
            raise ServiceError(ErrorCode.NOT_FOUND, "API key not found")
        return _view(found)  # revoked before: nothing more to do
    await record(
        ctx.conn, caller.org_id, contract.AuditAction.API_KEY_REVOKED, actor_id=caller.user_id,
        channel=ctx.channel,
        details={"key_id": str(req.key_id), "prefix": row["prefix"], "name": row["name"]},
    )  # fmt: skip
    await ctx.emit(
        Events.API_KEY_REVOKED,
        contract.ApiKeyRevoked(
            key_id=req.key_id, org_id=caller.org_id, revoked_by=caller.user_id, revoked_at=now
        ),
        org_id=caller.org_id,
    )
    return _view(row)


async def active(ctx: Ctx, _req: contract.ListActiveApiKeys) -> contract.ActiveApiKeys:
    rows = await repo.active(ctx.conn, datetime.now(UTC))
    return contract.ActiveApiKeys(
        items=[
            contract.ActiveApiKey(
                id=r["id"],
                org_id=r["org_id"],
                role=r["role"],
                read_only=r["read_only"],
                expires_at=r["expires_at"],
                secret_sha256=bytes(r["secret_hash"]).hex(),
            )
            for r in rows
        ]
    )


async def used(ctx: Ctx, req: contract.ApiKeysUsed) -> Done:
    if req.key_ids:
        ids = sorted(set(req.key_ids))
        await repo.touch(ctx.conn, ids, datetime.now(UTC), USE_RECORDED_EVERY)
    return Done()
