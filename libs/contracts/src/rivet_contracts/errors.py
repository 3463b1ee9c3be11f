"""The common error model: every service answers a failed request with one of these codes."""

from enum import StrEnum
from typing import Any

from pydantic import Field

from .base import View


class ErrorCode(StrEnum):
    """What went wrong, independent of transport. The gateway maps each to an HTTP status."""

    VALIDATION = "validation_error"  # 422
    BAD_REQUEST = "bad_request"  # 400
    UNAUTHORIZED = "unauthorized"  # 401
    FORBIDDEN = "forbidden"  # 403
    NOT_FOUND = "not_found"  # 404
    CONFLICT = "conflict"  # 409
    INVALID_TRANSITION = "invalid_transition"  # 409
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"  # 422
    GONE = "gone"  # 410
    PAYLOAD_TOO_LARGE = "payload_too_large"  # 413
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"  # 415
    RATE_LIMITED = "rate_limited"  # 429
    UNAVAILABLE = "unavailable"  # 503
    TIMEOUT = "timeout"  # 504
    INTERNAL = "internal_error"  # 500


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.VALIDATION: 422,
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.INVALID_TRANSITION: 409,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
    ErrorCode.GONE: 410,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.TIMEOUT: 504,
    ErrorCode.INTERNAL: 500,
}


class ErrorInfo(View):
    """A failure a caller can act on. Never carries stack traces or secrets."""

    code: ErrorCode = Field(description="Machine-readable error code.")
    message: str = Field(description="Human-readable explanation.")
    details: dict[str, Any] | list[Any] | None = Field(
        default=None, description="Structured detail, e.g. invalid fields or allowed transitions."
    )
    retry_after: int | None = Field(
        default=None, description="Seconds to wait before retrying (rate limits)."
    )


class ServiceError(Exception):
    """Raised by a service's domain code; the request runtime turns it into an error reply."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        details: dict[str, Any] | list[Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.info = ErrorInfo(code=code, message=message, details=details, retry_after=retry_after)

    @property
    def code(self) -> ErrorCode:
        return self.info.code
