"""One error shape for every failure: ``{"error": {"code", "message", "details"?}}``; under
Rivet Pro's prefix also ``"detail"``, the message where Rivet Pro's clients read it (ADR 0021)."""

import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from rivet_contracts import HTTP_STATUS, ErrorCode, ErrorInfo
from rivet_runtime.rpc import validation_details

from .ratelimit import RateLimited

_BY_STATUS = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.BAD_REQUEST,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    422: ErrorCode.VALIDATION,
    429: ErrorCode.RATE_LIMITED,
    503: ErrorCode.UNAVAILABLE,
    504: ErrorCode.TIMEOUT,
}


def error_response(
    code: ErrorCode,
    message: str,
    *,
    details: Any = None,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
    retry_after: int | None = None,
) -> Response:
    info = ErrorInfo(code=code, message=message, details=details, retry_after=retry_after)
    return JSONResponse(
        {"error": info.model_dump(mode="json", exclude_none=True)},
        status_code=status or HTTP_STATUS[code],
        headers=headers,
    )


COMPAT_PREFIX = "/pro/"
"""Paths of Rivet Pro's API (``rivetpro.PREFIX``): their errors also carry ``detail``."""


def with_detail(response: Response) -> Response:
    """The error ``response`` with ``"detail": <message>`` beside ``"error"``, as Rivet Pro's
    clients (FastAPI's ``HTTPException``) read it."""
    body = json.loads(bytes(response.body))
    body["detail"] = body["error"]["message"]
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return JSONResponse(body, status_code=response.status_code, headers=headers)


def _for(request: Request, response: Response) -> Response:
    return with_detail(response) if request.url.path.startswith(COMPAT_PREFIX) else response


def install(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        code = _BY_STATUS.get(exc.status_code, ErrorCode.BAD_REQUEST)
        message = exc.detail if isinstance(exc.detail, str) else code.value.replace("_", " ")
        response = error_response(code, message, status=exc.status_code, headers=exc.headers)
        return _for(request, response)

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> Response:
        response = error_response(
            ErrorCode.RATE_LIMITED,
            str(exc),
            details=exc.details,
            retry_after=exc.retry_after,
            headers={"Retry-After": str(exc.retry_after)},
        )
        return _for(request, response)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {
                "loc": [str(p) for p in err.get("loc", ())],
                "msg": err.get("msg"),
                "type": err.get("type"),
            }
            for err in exc.errors()
        ]
        response = error_response(ErrorCode.VALIDATION, "the request is not valid", details=details)
        return _for(request, response)

    @app.exception_handler(ValidationError)
    async def contract_error(request: Request, exc: ValidationError) -> Response:
        """A route builds a request contract from path and query values; what the contract
        refuses is the caller's mistake."""
        response = error_response(
            ErrorCode.VALIDATION, "the request is not valid", details=validation_details(exc)
        )
        return _for(request, response)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, _exc: Exception) -> Response:
        return error_response(ErrorCode.INTERNAL, "internal error; it has been logged")
