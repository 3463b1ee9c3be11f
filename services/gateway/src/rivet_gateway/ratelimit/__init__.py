"""Rate limits per user, per API key and per client address (routes without sign-in), shared by
every gateway replica through a JetStream key-value bucket (ADR 0016, docs/adr)."""

from .gcra import Policy
from .limiter import Kind, RateLimited, RateLimiter
from .store import BUCKET, SharedBuckets

__all__ = ["BUCKET", "Kind", "Policy", "RateLimited", "RateLimiter", "SharedBuckets"]
