"""Login throttling that slows guessing without letting an attacker lock a user out for good.

Policy (per throttle key):
- the first ``free`` failures cost nothing; after that each new attempt must wait
  ``2 ** (failures - free)`` seconds after the last failure, capped at ``max_delay``;
- the counter resets on success, and is forgotten a day after the last failure;
- the key is the account (``account:<email>``, whichever address the guesses come from), or, when
  the login carries a valid device token of that account, the device (``device:<id>``): a user's
  known device keeps its own counter, so an attacker hammering the account from elsewhere does
  not lock the real user out (OWASP's "device cookie" scheme). The wait never exceeds
  ``max_delay`` after the attacker's last attempt.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class ThrottlePolicy:
    free: int
    max_delay: int

    def delay(self, failures: int) -> int:
        """Seconds to wait after the last failure, given the failures so far."""
        if failures < self.free:
            return 0
        return int(min(2 ** (failures - self.free), self.max_delay))

    def effective_failures(
        self, failures: int, last_failure_at: datetime | None, now: datetime
    ) -> int:
        if last_failure_at is None or now - last_failure_at > FORGET_AFTER:
            return 0
        return failures

    def retry_after(self, failures: int, last_failure_at: datetime | None, now: datetime) -> int:
        """Seconds until the next attempt is allowed (0: allowed now)."""
        failures = self.effective_failures(failures, last_failure_at, now)
        if last_failure_at is None:
            return 0
        wait = last_failure_at + timedelta(seconds=self.delay(failures)) - now
        return max(0, int(wait.total_seconds() + 0.999))
