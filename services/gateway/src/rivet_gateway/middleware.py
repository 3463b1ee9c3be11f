"""One pure-ASGI middleware for what every request needs: a correlation id, a body-size cap
enforced while reading (before a large body is held in memory), security headers and RED
metrics. Pure ASGI because Starlette's ``BaseHTTPMiddleware`` costs a task per request."""

import json
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rivet_runtime.logging import correlation_id
from rivet_runtime.metrics import HTTP_REQUESTS

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

API_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
]
_API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
# /docs and /redoc (see apidocs.py): every file from the gateway itself, scripts only from files.
# Styles may be inline: ReDoc injects its styles at run time (styles cannot run code); its
# search runs in a worker made from a blob.
_DOCS_CSP = (
    b"content-security-policy",
    b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    b"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)
_NO_STORE = (b"cache-control", b"no-store")


_PLAIN_ROUTES = frozenset({"/health", "/ready", "/metrics", "/docs", "/redoc", "/openapi.json"})


class BodyTooLarge(Exception):
    pass


class GatewayMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        max_body: int,
        body_limits: dict[str | re.Pattern[str], int] | None = None,
    ) -> None:
        self.app = app
        self.service = service
        self.max_body = max_body
        self.body_limits = body_limits or {}

    def _limit(self, path: str) -> int:
        for prefix, limit in self.body_limits.items():
            if isinstance(prefix, re.Pattern):
                if prefix.fullmatch(path):
                    return limit
            elif path.startswith(prefix):
                return limit
        return self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _SAFE_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["correlation_id"] = request_id
        token = correlation_id.set(request_id)
        path: str = scope["path"]
        limit = self._limit(path)
        status = {"code": 500}

        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(send, limit, request_id)
            self._observe(scope, 413, started)
            correlation_id.reset(token)
            return

        received = 0
        overflow = False

        async def limited_receive() -> Message:
            nonlocal received, overflow
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Frameworks turn a failing read into their own 400; remember the real
                    # cause and answer 413 in its place (see send_with_headers).
                    overflow = True
                    raise BodyTooLarge
            return message

        extra = [*API_HEADERS, _DOCS_CSP if _is_docs(path) else _API_CSP]
        if path.startswith("/api/auth"):
            extra.append(_NO_STORE)
        replaced = False

        async def send_with_headers(message: Message) -> None:
            nonlocal replaced
            if overflow:
                if not replaced:
                    replaced = True
                    status["code"] = 413
                    await _too_large(send, limit, request_id)
                return
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    *extra,
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            if not replaced:
                await _too_large(send, limit, request_id)
            status["code"] = 413
        finally:
            self._observe(scope, status["code"], started)
            correlation_id.reset(token)

    def _observe(self, scope: Scope, status: int, started: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None)
        if template is None:
            path = scope["path"]
            template = path if path in _PLAIN_ROUTES else "unmatched"
        HTTP_REQUESTS.labels(self.service, scope["method"], template, f"{status // 100}xx").observe(
            time.perf_counter() - started
        )


def _is_docs(path: str) -> bool:
    return path in ("/docs", "/redoc") or path.startswith("/docs/")


async def _too_large(send: Send, limit: int, request_id: str) -> None:
    body = json.dumps(
        {"error": {"code": "payload_too_large", "message": f"body exceeds {limit} bytes"}}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
                *API_HEADERS,
                _API_CSP,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
