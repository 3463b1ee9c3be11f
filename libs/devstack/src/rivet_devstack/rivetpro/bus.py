"""Requests to Rivet's services over NATS request-reply, as the importing admin, on the
``import`` channel: the services' own rules, events, numbers and histories apply."""

import asyncio
import base64
import json
import time
import uuid
from typing import Any, TypeVar
from uuid import UUID

import nats
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from pydantic import BaseModel

from rivet_contracts import ErrorCode, ErrorInfo, Headers, Identity, Request, Role, ServiceError
from rivet_contracts.spec import RpcSpec

CHANNEL = "import"
ReplyT = TypeVar("ReplyT", bound=BaseModel)
RETRIED = frozenset({ErrorCode.TIMEOUT, ErrorCode.UNAVAILABLE})


class Bus:
    def __init__(self, nc: Any, namespace: str, timeout: float = 10.0) -> None:
        self.nc = nc
        self.namespace = namespace
        self.timeout = timeout
        self.identity: Identity | None = None
        self.run_id = uuid.uuid4().hex[:12]
        self.timings: dict[str, list[float]] = {}
        """Subject -> [requests, seconds in all]: where an import spends its time."""

    @classmethod
    async def connect(cls, url: str, namespace: str) -> "Bus":
        servers = [s.strip() for s in url.split(",") if s.strip()]

        async def quiet(_error: Exception) -> None:
            """Connection errors end the run (after the retries) with one message, not a
            traceback per attempt."""

        nc = await nats.connect(
            servers, name="rivet-import", connect_timeout=5, max_reconnect_attempts=5,
            reconnect_time_wait=1, error_cb=quiet,
        )  # fmt: skip
        return cls(nc, namespace)

    async def close(self) -> None:
        await self.nc.drain()

    def subject(self, name: str) -> str:
        return f"{self.namespace}.{name}" if self.namespace else name

    async def call(
        self,
        spec: RpcSpec[Any, ReplyT],
        request: Request,
        *,
        key: str | None = None,
        identity: Identity | None = None,
        anonymous: bool = False,
        attempts: int = 4,
    ) -> ReplyT:
        """The reply, or ``ServiceError`` with the service's code and message. A timeout or an
        unavailable service is tried again (creates carry keys: a repeat makes nothing new)."""
        headers = {Headers.CHANNEL: CHANNEL, Headers.CORRELATION_ID: f"import-{self.run_id}"}
        who = None if anonymous else (identity or self.identity)
        if who is not None:
            headers |= {
                Headers.USER_ID: str(who.user_id),
                Headers.ORG_ID: str(who.org_id),
                Headers.ROLE: who.role.value,
            }
        if key is not None and spec.idempotent:
            headers[Headers.IDEMPOTENCY_KEY] = key
        body = request.model_dump_json(exclude_unset=True).encode()
        delay = 0.5
        timing = self.timings.setdefault(spec.subject, [0, 0.0])
        for attempt in range(attempts):
            started = time.monotonic()
            try:
                message = await self.nc.request(
                    self.subject(spec.subject), body, timeout=self.timeout, headers=headers
                )
            except (NoRespondersError, NatsTimeout, TimeoutError) as exc:
                error = ServiceError(
                    ErrorCode.UNAVAILABLE if isinstance(exc, NoRespondersError)
                    else ErrorCode.TIMEOUT,
                    f"{spec.subject}: no answer ({type(exc).__name__})",
                )  # fmt: skip
            else:
                timing[0] += 1
                timing[1] += time.monotonic() - started
                code = (message.headers or {}).get(Headers.ERROR)
                if code is None:
                    return spec.reply.model_validate_json(message.data)
                info = ErrorInfo.model_validate_json(message.data)
                error = ServiceError(info.code, info.message, details=info.details)
            if error.code not in RETRIED or attempt == attempts - 1:
                raise error
            await asyncio.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")


def identity_from_token(access_token: str) -> Identity:
    """The caller an access token names (its claims, read without checking the signature: the
    token comes straight from the auth service's answer)."""
    payload = access_token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return Identity(
        user_id=UUID(claims["sub"]), org_id=UUID(claims["org"]), role=Role(claims["role"])
    )
