"""One error shape for every failure: ``{"error": {"code", "message", "details"?}}``; under
Rivet Pro's prefix also ``"detail"``, the message where Rivet Pro's clients read it (ADR 0021)."""

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
    detail: bool = False,
) -> Response:
    """The error answer; with ``detail``, the message also as ``"detail"`` beside ``"error"``,
    where Rivet Pro's clients (FastAPI's ``HTTPException``) read it (ADR 0021)."""
    info = ErrorInfo(code=code, message=message, details=details, retry_after=retry_after)
    body: dict[str, Any] = {"error": info.model_dump(mode="json", exclude_none=True)}
    if detail:
        body["detail"] = message
    return JSONResponse(body, status_code=status or HTTP_STATUS[code], headers=headers)


COMPAT_PREFIX = "/pro/"
"""Paths of Rivet Pro's API (``rivetpro.PREFIX``): their errors also carry ``detail``."""


def _compat(request: Request) -> bool:
    return request.url.path.startswith(COMPAT_PREFIX)


def install(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        code = _BY_STATUS.get(exc.status_code, ErrorCode.BAD_REQUEST)
        message = exc.detail if isinstance(exc.detail, str) else code.value.replace("_", " ")
        return error_response(
            code, message, status=exc.status_code, headers=exc.headers, detail=_compat(request)
        )

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> Response:
        return error_response(
            ErrorCode.RATE_LIMITED,
            str(exc),
            details=exc.details,
            retry_after=exc.retry_after,
            headers={"Retry-After": str(exc.retry_after)},
            detail=_compat(request),
        )

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
        return error_response(
            ErrorCode.VALIDATION,
            "the request is not valid",
            details=details,
            detail=_compat(request),
        )

    @app.exception_handler(ValidationError)
    async def contract_error(request: Request, exc: ValidationError) -> Response:
        """A route builds a request contract from path and query values; what the contract
        refuses is the caller's mistake."""
        return error_response(
            ErrorCode.VALIDATION,
            "the request is not valid",
            details=validation_details(exc),
            detail=_compat(request),
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, _exc: Exception) -> Response:
        message = "internal error; it has been logged"
        return error_response(ErrorCode.INTERNAL, message, detail=_compat(request))
