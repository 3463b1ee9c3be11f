"""Where the callers' buckets live: a JetStream key-value bucket every gateway replica shares
(``SharedBuckets``), or, while that does not answer, this replica's memory (``LocalBuckets``).

The shared bucket holds one key per caller (``<kind>.<id>``) whose value is its TAT as text.
A replica takes requests with a compare-and-set: it writes the new TAT only if the key is still
at the revision it read, and reads again and retries when another replica wrote in between. It
remembers the revision it wrote, so a caller served mostly by one replica costs one write, not a
read and a write. The bucket is in memory storage (a rate limit is worth less than a disk
write) with a maximum age just above the longest a TAT can matter, so callers who stopped
sending are forgotten by the server.
"""

import asyncio
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from .gcra import Policy, Taken, take

log = logging.getLogger(__name__)

BUCKET = "RATELIMITS"
"""The key-value bucket's name (namespaced like the streams: ``<NAMESPACE>_RATELIMITS``)."""
ATTEMPTS = 8
"""Compare-and-set attempts of one lease (replicas racing on one caller), each after a short
random pause that grows, so the replica that lost gets its turn."""


class StoreUnavailable(Exception):
    """The shared bucket did not answer in time or refused the write."""


class Contended(Exception):
    """Other replicas wrote the caller's key before every attempt: try the lease again."""


@dataclass(slots=True)
class Seen:
    """A caller's key as this replica last wrote or read it."""

    revision: int
    tat: float


class SharedBuckets:
    def __init__(
        self,
        js: JetStreamContext,
        bucket: str,
        *,
        max_age: float,
        replicas: int,
        timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.js = js
        self.bucket = bucket
        self.max_age = max_age
        self.replicas = replicas
        self.timeout = timeout
        self.clock = clock
        self._kv: KeyValue | None = None

    async def ensure(self) -> KeyValue:
        """The bucket, created if missing (and its maximum age raised if too short)."""
        if self._kv is not None:
            return self._kv
        try:
            kv = await self.js.key_value(self.bucket)
            status = await kv.status()
            if (status.ttl or 0) < self.max_age:  # settings allow older TATs than it keeps
                config = status.stream_info.config
                config.max_age = self.max_age
                await self.js.update_stream(config)
        except BucketNotFoundError:
            kv = await self.js.create_key_value(
                KeyValueConfig(
                    bucket=self.bucket,
                    description="Gateway rate limits: each caller's bucket (GCRA TAT)",
                    history=1,
                    ttl=self.max_age,
                    storage=StorageType.MEMORY,
                    replicas=self.replicas,
                    direct=True,
                )
            )
            log.info("created the rate-limit bucket %s", self.bucket)
        self._kv = kv
        return kv

    def forget(self) -> None:
        """Look the bucket up again next time (after a failure: it may have been lost with a
        server's memory)."""
        self._kv = None

    async def take(
        self, key: str, want: int, policy: Policy, seen: Seen | None
    ) -> tuple[Taken, Seen]:
        """Take up to ``want`` requests of ``key``'s bucket; ``seen``: what this replica knew
        of the key. Raises ``StoreUnavailable``."""
        try:
            return await asyncio.wait_for(self._take(key, want, policy, seen), self.timeout)
        except TimeoutError as exc:
            raise StoreUnavailable(f"no answer within {self.timeout} s") from exc
        except (StoreUnavailable, Contended):
            raise
        except Exception as exc:  # connection lost, bucket gone, no JetStream, no permission
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def _take(
        self, key: str, want: int, policy: Policy, seen: Seen | None
    ) -> tuple[Taken, Seen]:
        kv = await self.ensure()
        for attempt in range(ATTEMPTS):
            if seen is None:
                seen = await _read(kv, key)
            taken = take(seen.tat, self.clock(), want, policy)
            if not taken.granted:
                # The stored TAT only grows while it matters: a refusal from an older reading
                # is a refusal still.
                return taken, seen
            value = repr(taken.tat).encode()
            try:
                if seen.revision == 0:
                    revision = await kv.create(key, value)
                else:
                    revision = await kv.update(key, value, last=seen.revision)
            except KeyWrongLastSequenceError:
                seen = None  # another replica wrote: read and try again
                await asyncio.sleep(random.uniform(0, 0.001 * (attempt + 1)))  # noqa: S311
                continue
            return taken, Seen(revision, taken.tat)
        raise Contended(key)


async def _read(kv: KeyValue, key: str) -> Seen:
    try:
        entry = await kv.get(key)
    except KeyNotFoundError:  # never written, forgotten, or deleted
        return Seen(0, 0.0)
    try:
        tat = float(entry.value or b"0")
    except ValueError:
        tat = 0.0
    if not math.isfinite(tat):
        tat = 0.0
    return Seen(entry.revision or 0, tat)


class LocalBuckets:
    """The same buckets in this replica's memory: what it limits with while the shared bucket
    does not answer (each replica then allows the whole limit on its own)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._tats: dict[str, float] = {}

    def take(self, key: str, want: int, policy: Policy) -> Taken:
        now = self.clock()
        taken = take(self._tats.get(key, 0.0), now, want, policy)
        if taken.granted:
            self._tats[key] = taken.tat
        return taken

    def prune(self) -> None:
        now = self.clock()
        for key in [k for k, tat in self._tats.items() if tat <= now]:
            del self._tats[key]

    def clear(self) -> None:
        self._tats.clear()

    def __len__(self) -> int:
        return len(self._tats)
