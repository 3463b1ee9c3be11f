"""Request handling rules, without servers: roles, validation, error masking, outcomes."""

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from rivet_contracts import (
    ErrorCode,
    ErrorInfo,
    Headers,
    Identity,
    Outcome,
    Role,
    Rpc,
    ServiceError,
    auth,
)
from rivet_contracts.auth import InvitationView, InviteUser, ListUsers, UserList, UserView
from rivet_runtime import Accepted, Created, RequestContext, RpcRouter
from rivet_runtime.identity import identity_headers
from rivet_runtime.rpc import RpcServer


class NoDatabase:
    """Stands in for the pool: these handlers never touch the connection."""

    schema = "none"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        yield None


def _server(router: RpcRouter[None]) -> RpcServer[None]:
    server: RpcServer[None] = RpcServer("test", NoDatabase(), None)  # type: ignore[arg-type]
    server.include(router)
    return server


def _caller(role: Role) -> dict[str, str]:
    return identity_headers(Identity(user_id=uuid.uuid4(), org_id=uuid.uuid4(), role=role))


router: RpcRouter[None] = RpcRouter()
calls: list[str] = []


@router.handler(Rpc.AUTH_INVITE)
async def invite(req: InviteUser, ctx: RequestContext[None]) -> InvitationView:
    calls.append(req.email)
    if req.email.startswith("boom"):
        raise RuntimeError("database password is hunter2")  # must not leak
    if req.email.startswith("taken"):
        raise ServiceError(ErrorCode.CONFLICT, "already invited")
    raise ServiceError(ErrorCode.NOT_FOUND, "stop here")


async def _call(body: dict[str, Any], headers: dict[str, str]) -> tuple[dict[str, Any], str | None]:
    payload, reply_headers = await _server(router).handle(
        Rpc.AUTH_INVITE, json.dumps(body).encode(), headers
    )
    return json.loads(payload), reply_headers.get(Headers.ERROR)


async def test_anonymous_and_underprivileged_callers_are_refused_before_the_handler() -> None:
    calls.clear()
    body = {"email": "x@example.com", "role": "viewer"}
    assert (await _call(body, {}))[1] == ErrorCode.UNAUTHORIZED
    reply, code = await _call(body, _caller(Role.TECHNICIAN))
    assert code == ErrorCode.FORBIDDEN
    assert "admin" in reply["message"]
    assert calls == []


async def test_forged_identity_headers_are_refused() -> None:
    headers = _caller(Role.ADMIN) | {Headers.ROLE: "superuser"}
    assert (await _call({"email": "x@example.com"}, headers))[1] == ErrorCode.UNAUTHORIZED


async def test_validation_errors_name_fields_but_not_values() -> None:
    reply, code = await _call({"email": "not-mail-SECRET", "bogus": 1}, _caller(Role.ADMIN))
    assert code == ErrorCode.VALIDATION
    locations = {tuple(d["loc"]) for d in reply["details"]}
    assert ("email",) in locations
    assert ("bogus",) in locations
    assert "SECRET" not in json.dumps(reply)


async def test_service_errors_pass_through_and_crashes_are_masked() -> None:
    reply, code = await _call({"email": "taken@example.com"}, _caller(Role.ADMIN))
    assert (code, reply["message"]) == (ErrorCode.CONFLICT, "already invited")
    reply, code = await _call({"email": "boom@example.com"}, _caller(Role.ADMIN))
    assert code == ErrorCode.INTERNAL
    assert "hunter2" not in json.dumps(reply)


async def test_malformed_json_is_a_validation_error() -> None:
    _payload, headers = await _server(router).handle(Rpc.AUTH_INVITE, b"{", _caller(Role.ADMIN))
    assert headers[Headers.ERROR] == ErrorCode.VALIDATION


def test_one_handler_per_subject() -> None:
    other: RpcRouter[None] = RpcRouter()

    @other.handler(Rpc.AUTH_INVITE)
    async def again(req: InviteUser, ctx: RequestContext[None]) -> UserView:
        raise AssertionError

    with pytest.raises(ValueError, match="two handlers"):
        _server(router).include(other)


# What a successful request did: the subject's fixed outcome, or the handler's wrapped reply.

outcomes: RpcRouter[None] = RpcRouter()


@outcomes.handler(Rpc.AUTH_INVITE)  # its spec: every success is `created`
async def invite_with_outcome(
    req: InviteUser, ctx: RequestContext[None]
) -> InvitationView | Accepted[InvitationView] | ErrorInfo:
    if req.email.startswith("taken"):
        raise ServiceError(ErrorCode.CONFLICT, "already invited")
    if req.email.startswith("kept"):
        return ErrorInfo(code=ErrorCode.RATE_LIMITED, message="wait")
    view = InvitationView(
        id=uuid.UUID(int=1),
        email=req.email,
        role=req.role,
        expires_at=datetime(2026, 1, 2, tzinfo=UTC),
    )
    return Accepted(view) if req.email.startswith("later") else view


@outcomes.handler(Rpc.AUTH_LIST_USERS)  # no fixed outcome
async def list_users(req: ListUsers, ctx: RequestContext[None]) -> UserList | Created[UserList]:
    return Created(UserList(items=[])) if ctx.channel == "new" else UserList(items=[])


async def _outcome(
    subject: str, body: dict[str, Any], **headers: str
) -> tuple[Any, dict[str, str]]:
    payload, reply_headers = await _server(outcomes).handle(
        subject, json.dumps(body).encode(), _caller(Role.ADMIN) | headers
    )
    return json.loads(payload), reply_headers


def test_outcomes_are_declared_in_the_catalogue() -> None:
    assert auth.INVITE.outcome is Outcome.CREATED
    assert auth.LIST_USERS.outcome is None


async def test_a_subject_s_fixed_outcome_is_set_on_every_success() -> None:
    reply, headers = await _outcome(Rpc.AUTH_INVITE, {"email": "tom@example.com"})
    assert headers == {Headers.OUTCOME: "created"}
    assert reply["email"] == "tom@example.com"


async def test_a_wrapped_reply_sets_its_outcome_and_is_sent_unwrapped() -> None:
    reply, headers = await _outcome(Rpc.AUTH_LIST_USERS, {}, **{Headers.CHANNEL: "new"})
    assert (reply, headers) == ({"items": []}, {Headers.OUTCOME: "created"})
    reply, headers = await _outcome(Rpc.AUTH_INVITE, {"email": "later@example.com"})
    assert headers == {Headers.OUTCOME: "accepted"}  # the handler's word wins over the spec's
    assert reply["email"] == "later@example.com"


async def test_no_outcome_without_one_and_none_on_errors() -> None:
    assert (await _outcome(Rpc.AUTH_LIST_USERS, {}))[1] == {}
    assert (await _outcome(Rpc.AUTH_INVITE, {"email": "taken@example.com"}))[1] == {
        Headers.ERROR: "conflict"
    }
    assert (await _outcome(Rpc.AUTH_INVITE, {"email": "kept@example.com"}))[1] == {
        Headers.ERROR: "rate_limited"
    }
    assert (await _outcome(Rpc.AUTH_INVITE, {"email": "not mail"}))[1] == {
        Headers.ERROR: "validation_error"
    }
