"""Forwarding: one HTTP call becomes one NATS request; the reply becomes the HTTP response.

The runtime's client sends the request (``call_raw``: bodies stay bytes); this module only
translates headers into a status: the service's JSON is the response body, with 200, or 201 / 202
when the reply's ``Rivet-Outcome`` says ``created`` / ``accepted``; an error reply
(``Rivet-Error`` header, or a failure of the bus) becomes ``{"error": {...}}`` with the mapped
status code. A success body is never read to choose a status. A reply replayed for a repeated
``Idempotency-Key`` (``Rivet-Replayed``) gets ``Idempotent-Replayed: true``.
"""

import json

from fastapi import Response

from rivet_contracts import HTTP_STATUS, ErrorCode, Outcome, Request, ServiceError
from rivet_contracts.spec import ReplyT, RequestT, RpcSpec
from rivet_runtime.client import CallMeta, RpcClient

JSON = "application/json"

SUCCESS_STATUS: dict[str | None, int] = {Outcome.CREATED: 201, Outcome.ACCEPTED: 202}
"""HTTP status of a successful reply by its ``Rivet-Outcome``; any other (or none): 200."""


class Forwarder:
    def __init__(self, client: RpcClient, timeout: float) -> None:
        self.client = client
        self.timeout = timeout

    async def call(self, subject: str, payload: Request, meta: CallMeta) -> Response:
        """Send ``payload`` to ``subject`` as ``meta.identity``; the reply as an HTTP response."""
        reply = await self.client.call_raw(subject, payload, meta, timeout=self.timeout)
        if reply.error is None:
            status = SUCCESS_STATUS.get(reply.outcome, 200)
            response = Response(reply.body, status_code=status, media_type=JSON)
            if reply.replayed:  # the first answer to this Idempotency-Key, again
                response.headers["Idempotent-Replayed"] = "true"
            return response
        return _error_reply(reply.error, reply.body)

    async def fetch(
        self, spec: RpcSpec[RequestT, ReplyT], payload: RequestT, meta: CallMeta
    ) -> ReplyT | Response:
        """For a route that works with the reply rather than passing it on (a started job's id
        to wait on, the parts of an export): the reply as ``spec.reply``, or the error as the
        HTTP response to give."""
        try:
            return await self.client.call(spec, payload, meta, timeout=self.timeout)
        except ServiceError as exc:
            info = exc.info
            return _error_reply(info.code.value, info.model_dump_json(exclude_none=True).encode())


def _error_reply(code: str, body: bytes) -> Response:
    try:
        error_code = ErrorCode(code)
    except ValueError:
        error_code = ErrorCode.INTERNAL
    response = Response(
        b'{"error":' + body + b"}", status_code=HTTP_STATUS[error_code], media_type=JSON
    )
    if error_code is ErrorCode.RATE_LIMITED:
        retry_after = json.loads(body).get("retry_after")
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
    return response
