"""Requests to other services (assets, auth) on behalf of the caller.

The caller's identity, correlation id and channel travel in the headers exactly as the gateway
sends them, so the other service applies its own role checks and organization scoping: this
service never acts with more rights than the person asking. The runtime's client sends them.
"""

from typing import Any, TypeVar

from pydantic import BaseModel

from rivet_contracts.catalog import RPCS
from rivet_runtime import RequestContext
from rivet_runtime.client import CallMeta, RpcClient

ReplyT = TypeVar("ReplyT", bound=BaseModel)


class Peers:
    def __init__(self, client: RpcClient, timeout: float) -> None:
        self.client = client
        self.timeout = timeout

    async def call(
        self, subject: str, request: BaseModel, reply: type[ReplyT], ctx: RequestContext[Any]
    ) -> ReplyT:
        """Send ``request`` as the caller of ``ctx``; the reply model, or ``ServiceError`` with
        the other service's error (its code, message and details)."""
        spec = RPCS[subject]
        if spec.reply is not reply:
            raise TypeError(f"{subject} answers {spec.reply.__name__}, not {reply.__name__}")
        meta = CallMeta(ctx.identity, ctx.correlation_id, ctx.channel)
        answer: ReplyT = await self.client.call(spec, request, meta, timeout=self.timeout)
        return answer
