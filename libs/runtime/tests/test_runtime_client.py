"""The runtime's request client against a real NATS: typed replies, remote errors, the bus's
own failures, raw replies for the gateway, and requests no service could accept."""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from prometheus_client import REGISTRY

from rivet_contracts import (
    ErrorCode,
    ErrorInfo,
    Headers,
    Identity,
    Role,
    ServiceError,
    attachments,
    auth,
)
from rivet_contracts.catalog import RpcSpec
from rivet_devstack.testing.env import TestEnv
from rivet_runtime import ServiceRuntime, ServiceSettings
from rivet_runtime.client import CallMeta, RpcClient

CALLER = Identity(user_id=uuid.uuid4(), org_id=uuid.uuid4(), role=Role.ADMIN)
AS_CALLER = CallMeta(CALLER)
ANONYMOUS = CallMeta(None)
ME = auth.UserView(
    id=CALLER.user_id,
    org_id=CALLER.org_id,
    organization_name="Plant 2",
    email="ana@example.com",
    full_name="Ana Lima",
    role=Role.ADMIN,
    created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
)
REFUSAL = ErrorInfo(
    code=ErrorCode.RATE_LIMITED,
    message="too many invitations; wait a minute",
    details=[{"loc": ["email"], "msg": "throttled", "type": "rate_limited"}],
    retry_after=42,
)

Reply = tuple[bytes, dict[str, str]] | None
"""What a fake service answers (body, headers), or None to stay silent."""


@dataclass
class FakeServices:
    """Answers requests on subjects of the catalogue from a plain NATS connection."""

    nc: Client
    namespace: str
    received: list[Msg] = field(default_factory=list)

    async def serve(self, subject: str, answer: Callable[[Msg], Reply]) -> None:
        async def respond(msg: Msg) -> None:
            self.received.append(msg)
            reply = answer(msg)
            if reply is not None:
                await self.nc.publish(msg.reply, reply[0], headers=reply[1])

        await self.nc.subscribe(f"{self.namespace}.{subject}", cb=respond)
        await self.nc.flush()


@pytest.fixture
async def runtime(test_env: TestEnv, namespace: str) -> AsyncIterator[ServiceRuntime[None]]:
    settings = ServiceSettings(
        service_name="client_test", nats_url=test_env.nats_url, nats_namespace=namespace
    )
    started: ServiceRuntime[None] = ServiceRuntime(settings, None)
    await started.start()
    yield started
    await started.stop()


@pytest.fixture
async def fakes(test_env: TestEnv, namespace: str) -> AsyncIterator[FakeServices]:
    nc = await nats.connect(test_env.nats_url)
    yield FakeServices(nc, namespace)
    await nc.close()


def _samples(subject: str, outcome: str) -> float:
    labels = {"service": "client_test", "subject": subject, "outcome": outcome}
    return REGISTRY.get_sample_value("rivet_rpc_client_duration_seconds_count", labels) or 0.0


async def _call_me(client: RpcClient, timeout: float = 5.0) -> auth.UserView:
    meta = CallMeta(CALLER, correlation_id="req-1", channel="telegram")
    return await client.call(auth.ME, auth.GetMe(), meta, timeout=timeout)


async def test_a_typed_call_sends_the_caller_and_returns_the_reply_model(
    runtime: ServiceRuntime[None], fakes: FakeServices
) -> None:
    await fakes.serve(auth.ME.subject, lambda _msg: (ME.model_dump_json().encode(), {}))
    before = _samples(auth.ME.subject, "ok")

    me = await _call_me(runtime.client)

    assert isinstance(me, auth.UserView)
    assert me == ME
    [sent] = fakes.received
    assert sent.headers == {
        Headers.USER_ID: str(CALLER.user_id),
        Headers.ORG_ID: str(CALLER.org_id),
        Headers.ROLE: "admin",
        Headers.CORRELATION_ID: "req-1",
        Headers.CHANNEL: "telegram",
    }
    assert json.loads(sent.data) == {}
    assert _samples(auth.ME.subject, "ok") == before + 1


async def test_an_error_reply_raises_the_remote_service_error(
    runtime: ServiceRuntime[None], fakes: FakeServices
) -> None:
    body = REFUSAL.model_dump_json(exclude_none=True).encode()
    await fakes.serve(auth.INVITE.subject, lambda _msg: (body, {Headers.ERROR: "rate_limited"}))
    request = auth.InviteUser(email="tom@example.com")

    with pytest.raises(ServiceError) as raised:
        await runtime.client.call(auth.INVITE, request, AS_CALLER, timeout=5)

    assert raised.value.info == REFUSAL  # code, message, details and retry_after
    assert json.loads(fakes.received[0].data) == {"email": "tom@example.com"}  # as set
    assert _samples(auth.INVITE.subject, "rate_limited") >= 1


async def test_an_unexpected_reply_is_an_internal_error(
    runtime: ServiceRuntime[None], fakes: FakeServices
) -> None:
    await fakes.serve(auth.ME.subject, lambda _msg: (b'{"id": "not a user"}', {}))
    with pytest.raises(ServiceError) as raised:
        await _call_me(runtime.client)
    assert raised.value.code is ErrorCode.INTERNAL
    assert raised.value.info.message == "the auth service answered with an unexpected reply"


async def test_no_responders_means_the_service_is_unavailable(
    runtime: ServiceRuntime[None],
) -> None:
    before = _samples(auth.ME.subject, "unavailable")
    with pytest.raises(ServiceError) as raised:
        await _call_me(runtime.client)
    assert raised.value.code is ErrorCode.UNAVAILABLE
    assert raised.value.info.message == "the auth service is unavailable; try again shortly"
    assert _samples(auth.ME.subject, "unavailable") == before + 1


async def test_a_silent_service_times_out(
    runtime: ServiceRuntime[None], fakes: FakeServices
) -> None:
    await fakes.serve(auth.ME.subject, lambda _msg: None)
    with pytest.raises(ServiceError) as raised:
        await _call_me(runtime.client, timeout=0.3)
    assert raised.value.code is ErrorCode.TIMEOUT
    assert raised.value.info.message == "the auth service did not answer in 0.3s"
    assert len(fakes.received) == 1


async def test_a_subject_with_its_own_timeout_is_waited_for_past_the_callers(
    runtime: ServiceRuntime[None], fakes: FakeServices
) -> None:
    """``rpc.attachments.add`` says callers wait 30 s: a caller with 0.3 s of its own gets an
    answer that takes 1 s; a subject without one still times out after the caller's 0.3 s."""
    body = b'{"id": "late but there"}'  # the raw call passes any body on

    async def answer_late(msg: Msg) -> None:
        await asyncio.sleep(1.0)
        await fakes.nc.publish(msg.reply, body, headers={Headers.OUTCOME: "created"})

    await fakes.nc.subscribe(f"{fakes.namespace}.{attachments.ADD.subject}", cb=answer_late)
    await fakes.serve(auth.ME.subject, lambda _msg: None)
    add = attachments.AddAttachment(
        record_kind=attachments.RecordKind.WORK_ORDER,
        record_ref="WO-2026-000001",
        upload_key="attachments/k",
        filename="p.jpg",
    )
    assert attachments.ADD.timeout == 30.0

    started = time.monotonic()
    reply = await runtime.client.call_raw(attachments.ADD.subject, add, AS_CALLER, timeout=0.3)
    assert reply.error is None
    assert reply.body == body
    assert time.monotonic() - started >= 1.0

    silent = await runtime.client.call_raw(auth.ME.subject, auth.GetMe(), AS_CALLER, timeout=0.3)
    assert silent.error == ErrorCode.TIMEOUT.value
    assert b"did not answer in 0.3s" in silent.body


async def test_without_a_connection_the_bus_is_unavailable(test_env: TestEnv) -> None:
    settings = ServiceSettings(service_name="client_test", nats_url=test_env.nats_url)
    never_started: ServiceRuntime[None] = ServiceRuntime(settings, None)
    with pytest.raises(ServiceError) as raised:
        await _call_me(never_started.client)
    assert raised.value.code is ErrorCode.UNAVAILABLE
    assert raised.value.info.message == "the message bus is unavailable; try again shortly"

    reply = await never_started.client.call_raw(auth.ME.subject, auth.GetMe(), AS_CALLER, timeout=5)
    assert reply.error == "unavailable"
    assert json.loads(reply.body) == {
        "code": "unavailable",
        "message": "the message bus is unavailable; try again shortly",
    }


async def test_raw_calls_return_the_reply_bytes_untouched(
    runtime: ServiceRuntime[None], fakes: FakeServices
) -> None:
    body = b'{"id":  "as the service wrote it", "extra": [1, 2]}'
    refusal = REFUSAL.model_dump_json().encode()
    await fakes.serve(auth.ME.subject, lambda _msg: (body, {}))
    await fakes.serve(auth.INVITE.subject, lambda _msg: (refusal, {Headers.ERROR: "x_y"}))

    ok = await runtime.client.call_raw(auth.ME.subject, auth.GetMe(), ANONYMOUS, timeout=5)
    assert (ok.body, ok.error) == (body, None)
    refused = await runtime.client.call_raw(
        auth.INVITE.subject, auth.InviteUser(email="tom@example.com"), AS_CALLER, timeout=5
    )
    assert (refused.body, refused.error) == (refusal, "x_y")  # the code as sent, too
    assert fakes.received[0].headers == {Headers.CHANNEL: "api"}  # anonymous
    assert _samples(auth.INVITE.subject, "internal_error") >= 1  # no label per odd code

    logout = auth.LogOut(refresh_token="0" * 16 + ".secret")
    nobody = await runtime.client.call_raw(auth.LOGOUT.subject, logout, ANONYMOUS, timeout=5)
    assert nobody.error == "unavailable"
    unavailable = "the auth service is unavailable; try again shortly"
    assert json.loads(nobody.body) == {"code": "unavailable", "message": unavailable}


async def test_raw_calls_return_the_outcome_and_typed_calls_the_model_alone(
    runtime: ServiceRuntime[None], fakes: FakeServices
) -> None:
    body = ME.model_dump_json().encode()
    await fakes.serve(auth.ME.subject, lambda _msg: (body, {Headers.OUTCOME: "accepted"}))
    await fakes.serve(auth.LIST_USERS.subject, lambda _msg: (b'{"items": []}', {}))

    raw = await runtime.client.call_raw(auth.ME.subject, auth.GetMe(), AS_CALLER, timeout=5)
    assert (raw.body, raw.error, raw.outcome) == (body, None, "accepted")
    plain = await runtime.client.call_raw(
        auth.LIST_USERS.subject, auth.ListUsers(), AS_CALLER, timeout=5
    )
    assert (plain.error, plain.outcome) == (None, None)
    assert await _call_me(runtime.client) == ME  # the body alone is the whole answer


async def test_requests_no_service_could_accept_are_refused_before_sending(
    runtime: ServiceRuntime[None], fakes: FakeServices
) -> None:
    await fakes.serve(auth.ME.subject, lambda _msg: (ME.model_dump_json().encode(), {}))
    client = runtime.client
    login = auth.LogIn(email="ana@example.com", password="correct horse battery")
    refusals: list[Callable[[], Awaitable[Any]]] = [
        # the request model of another subject (mypy refuses it too: hence the ignore)
        lambda: client.call(auth.ME, login, AS_CALLER, timeout=5),  # type: ignore[misc]
        lambda: client.call_raw(auth.ME.subject, login, AS_CALLER, timeout=5),
    ]
    for refused in refusals:
        with pytest.raises(TypeError, match=r"rpc\.auth\.me takes GetMe, not LogIn"):
            await refused()

    stray = RpcSpec("rpc.auth.me", auth.GetMe, auth.UserList, "not the catalogue's")
    with pytest.raises(KeyError, match="not in the contract catalogue"):
        await client.call(stray, auth.GetMe(), AS_CALLER, timeout=5)
    with pytest.raises(KeyError, match="not in the contract catalogue"):
        await client.call_raw("rpc.auth.nope", auth.GetMe(), AS_CALLER, timeout=5)
    assert fakes.received == []
