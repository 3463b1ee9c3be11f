"""The errors requests are answered with, built one way."""

from rivet_contracts import ErrorCode, ServiceError

from ..schedule.errors import ScheduleError


def invalid(field: str | list[str], message: str, kind: str = "value_error") -> ServiceError:
    """A validation error naming the field (``loc``) and a stable ``type``."""
    loc = [field] if isinstance(field, str) else field
    return ServiceError(
        ErrorCode.VALIDATION, message, details=[{"loc": loc, "msg": message, "type": kind}]
    )


def refused(exc: ScheduleError, field: str | list[str]) -> ServiceError:
    """A definition or reading the schedule rules refuse, with their reason as ``type``."""
    return invalid(field, exc.message, exc.reason)


def not_found(what: str) -> ServiceError:
    return ServiceError(ErrorCode.NOT_FOUND, f"{what} not found")


def conflict(message: str) -> ServiceError:
    return ServiceError(ErrorCode.CONFLICT, message)
