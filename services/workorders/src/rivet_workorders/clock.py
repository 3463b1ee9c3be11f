"""The service's notion of "now".

Every timestamp the service writes (creation, status changes, due dates) and every time-based
figure it computes (overdue, health decay, KPI windows) reads this clock, so a test can build a
history with known timestamps through the real API and check stats against hand-worked values.
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
