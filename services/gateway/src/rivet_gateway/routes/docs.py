"""Error bodies documented on every route."""

from typing import Any

from pydantic import BaseModel

from rivet_contracts import ErrorInfo


class ErrorEnvelope(BaseModel):
    error: ErrorInfo


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the given error statuses, plus those every route can give:
    400 (an unreadable body), 503 and 504 (a service away or slow)."""
    return {status: {"model": ErrorEnvelope} for status in (400, *statuses, 503, 504)}
