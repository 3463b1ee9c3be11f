"""Forwarding: one HTTP call becomes one NATS request; the reply becomes the HTTP response.

Bodies pass through as bytes: the service's JSON is the response body, and an error reply
(``Rivet-Error`` header) becomes ``{"error": {...}}`` with the mapped status code.
"""

import json
import logging
from dataclasses import dataclass

from fastapi import Response
from nats.errors import ConnectionClosedError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from pydantic import BaseModel

from rivet_contracts import HTTP_STATUS, ErrorCode, Headers, Identity
from rivet_runtime.rpc import identity_headers
from rivet_runtime.service import ServiceRuntime

from .errors import error_response

log = logging.getLogger(__name__)

JSON = "application/json"


@dataclass(frozen=True)
class CallMeta:
    """Per-request facts the gateway adds to every forwarded call."""

    identity: Identity | None
    correlation_id: str
    channel: str = "api"


class Forwarder:
    def __init__(self, runtime: ServiceRuntime[None], timeout: float) -> None:
        self.runtime = runtime
        self.timeout = timeout

    async def call(
        self, subject: str, payload: BaseModel | None, meta: CallMeta, *, status: int = 200
    ) -> Response:
        """Send ``payload`` to ``subject`` as ``meta.identity``; the reply as an HTTP response."""
        headers = identity_headers(meta.identity)
        headers[Headers.CORRELATION_ID] = meta.correlation_id
        headers[Headers.CHANNEL] = meta.channel
        body = payload.model_dump_json(exclude_unset=True).encode() if payload else b"{}"
        broker = self.runtime.broker
        service = subject.split(".")[1]
        if not self.runtime.health.nats_connected:
            return error_response(
                ErrorCode.UNAVAILABLE, "the message bus is unavailable; try again shortly"
            )
        try:
            reply = await broker.connection.request(
                self.runtime.settings.subject(subject), body, timeout=self.timeout, headers=headers
            )
        except NoRespondersError:
            return error_response(
                ErrorCode.UNAVAILABLE, f"the {service} service is unavailable; try again shortly"
            )
        except (NatsTimeout, TimeoutError):
            return error_response(
                ErrorCode.TIMEOUT, f"the {service} service did not answer in {self.timeout:g}s"
            )
        except ConnectionClosedError:
            return error_response(ErrorCode.UNAVAILABLE, "the message bus is unavailable")
        code = (reply.headers or {}).get(Headers.ERROR)
        if code is None:
            return Response(reply.data, status_code=status, media_type=JSON)
        return _error_reply(code, reply.data)


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
