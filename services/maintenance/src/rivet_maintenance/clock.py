"""The service's notion of "now".

The scheduler decides what is due by this clock, so a test can freeze it at an instant (the eve
of a DST change, a month end) and check which orders open.
"""

from datetime import UTC, datetime


class Clock:
    def __init__(self) -> None:
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        return self._frozen if self._frozen is not None else datetime.now(UTC)

    def freeze(self, at: datetime | None) -> None:
        """Stop the clock at ``at`` (timezone-aware); ``None`` lets it run again."""
        if at is not None and at.tzinfo is None:
            raise ValueError("freeze the clock at a timezone-aware time")
        self._frozen = at
