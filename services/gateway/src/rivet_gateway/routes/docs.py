"""Error bodies documented on every route."""

from typing import Any

from pydantic import BaseModel

from rivet_contracts import ErrorInfo


class ErrorEnvelope(BaseModel):
    error: ErrorInfo


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the given error statuses (plus 503/504, always possible)."""
    return {status: {"model": ErrorEnvelope} for status in (*statuses, 503, 504)}
