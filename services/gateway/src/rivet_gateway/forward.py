"""Forwarding: one HTTP call becomes one NATS request; the reply becomes the HTTP response.

The runtime's client sends the request (``call_raw``: bodies stay bytes); this module only
translates: the service's JSON is the response body, and an error reply (``Rivet-Error``
header, or a failure of the bus) becomes ``{"error": {...}}`` with the mapped status code.
"""

import json

from fastapi import Response

from rivet_contracts import HTTP_STATUS, ErrorCode, Request
from rivet_runtime.client import CallMeta, RpcClient

JSON = "application/json"


class Forwarder:
    def __init__(self, client: RpcClient, timeout: float) -> None:
        self.client = client
        self.timeout = timeout

    async def call(
        self, subject: str, payload: Request, meta: CallMeta, *, status: int = 200
    ) -> Response:
        """Send ``payload`` to ``subject`` as ``meta.identity``; the reply as an HTTP response."""
        reply = await self.client.call_raw(subject, payload, meta, timeout=self.timeout)
        if reply.error is None:
            return Response(reply.body, status_code=status, media_type=JSON)
        return _error_reply(reply.error, reply.body)


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
