"""The rate limit's rule, pure: GCRA (the generic cell rate algorithm), a token bucket kept as
one number per caller.

A policy allows ``limit`` requests a ``period`` on average and ``burst`` at once: a caller that
sent nothing for a while may send ``burst`` requests back to back, then one every
``period / limit`` seconds. The state is the caller's *theoretical arrival time* (TAT, epoch
seconds): when its bucket will be full again. Taking ``n`` requests moves the TAT ``n``
intervals later; the requests fit while the TAT stays within ``burst`` intervals of now.
A TAT in the past is a full bucket, so a forgotten caller and a new one are the same.
"""

import math
from dataclasses import dataclass

_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Policy:
    limit: int
    """Requests a period on average; 0: no limit."""
    burst: int
    """Requests at once (the bucket's size), at least 1."""
    period: float = 60.0

    @property
    def interval(self) -> float:
        """Seconds one request costs."""
        return self.period / self.limit

    @property
    def horizon(self) -> float:
        """Farthest a TAT can be ahead of the time it was written: a caller's state matters
        no longer than this after its last request."""
        return self.burst * self.interval

    def lease(self, most: int) -> int:
        """How many requests a replica takes at once: at most one second's worth of the
        average rate, at most ``most``, at least one."""
        return max(1, min(most, int(self.limit / self.period), self.burst))


@dataclass(frozen=True, slots=True)
class Taken:
    granted: int
    """Requests granted (0: refused)."""
    tat: float
    """The new TAT (unchanged when refused)."""
    retry_after: float
    """When refused: seconds until one request fits."""


def take(tat: float, now: float, want: int, policy: Policy) -> Taken:
    """Take up to ``want`` requests from a bucket whose TAT is ``tat``, at ``now``."""
    start = max(tat, now)
    room = now + policy.horizon - start  # seconds of requests that still fit
    fits = math.floor(room / policy.interval + _EPSILON)
    if fits < 1:
        return Taken(0, tat, max(policy.interval - room, 0.0))
    granted = min(want, fits)
    return Taken(granted, start + granted * policy.interval, 0.0)


def retry_seconds(wait: float) -> int:
    """A ``Retry-After`` value: whole seconds, at least one."""
    return max(1, math.ceil(wait - _EPSILON))
