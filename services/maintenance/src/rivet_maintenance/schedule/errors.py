"""The one exception of the schedule rules: a definition or a reading they refuse.

It carries a stable ``reason`` (a code for callers and tests) beside the human message, so the
service can answer a validation error without parsing text, and a bad reading from a device is
refused, never a crash.
"""


class ScheduleError(ValueError):
    """A trigger, limit or reading the schedule rules refuse."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
