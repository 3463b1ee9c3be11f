"""Requests to other services (assets, auth) on behalf of the caller.

The caller's identity, correlation id and channel travel in the headers exactly as the gateway
sends them, so the other service applies its own role checks and organization scoping: this
service never acts with more rights than the person asking.
"""

from typing import Any, TypeVar

from nats.errors import ConnectionClosedError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from pydantic import BaseModel

from rivet_contracts import ErrorCode, ErrorInfo, Headers, ServiceError
from rivet_runtime import RequestContext, ServiceRuntime
from rivet_runtime.rpc import identity_headers

from .settings import WorkordersSettings

ReplyT = TypeVar("ReplyT", bound=BaseModel)


class Peers:
    def __init__(self, settings: WorkordersSettings) -> None:
        self.settings = settings
        self._runtime: ServiceRuntime[Any] | None = None

    def attach(self, runtime: ServiceRuntime[Any]) -> None:
        """Use ``runtime``'s NATS connection (the state exists before the runtime does)."""
        self._runtime = runtime

    async def call(
        self, subject: str, request: BaseModel, reply: type[ReplyT], ctx: RequestContext[Any]
    ) -> ReplyT:
        """Send ``request`` as the caller of ``ctx``; the reply model, or ``ServiceError`` with
        the other service's error (its code, message and details)."""
        service = subject.split(".")[1]
        runtime = self._runtime
        if runtime is None or not runtime.health.nats_connected:
            raise ServiceError(ErrorCode.UNAVAILABLE, "the message bus is unavailable; try again")
        headers = identity_headers(ctx.identity)
        headers[Headers.CORRELATION_ID] = ctx.correlation_id or ""
        headers[Headers.CHANNEL] = ctx.channel
        body = request.model_dump_json(exclude_unset=True).encode()
        try:
            message = await runtime.broker.connection.request(
                self.settings.subject(subject),
                body,
                timeout=self.settings.peer_timeout,
                headers=headers,
            )
        except NoRespondersError:
            raise ServiceError(
                ErrorCode.UNAVAILABLE, f"the {service} service is unavailable; try again shortly"
            ) from None
        except (NatsTimeout, TimeoutError):
            raise ServiceError(
                ErrorCode.TIMEOUT,
                f"the {service} service did not answer in {self.settings.peer_timeout:g}s",
            ) from None
        except ConnectionClosedError:
            raise ServiceError(ErrorCode.UNAVAILABLE, "the message bus is unavailable") from None
        code = (message.headers or {}).get(Headers.ERROR)
        if code is not None:
            info = ErrorInfo.model_validate_json(message.data)
            raise ServiceError(info.code, info.message, details=info.details)
        return reply.model_validate_json(message.data)
