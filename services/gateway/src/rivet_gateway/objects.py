"""Reading a JetStream object store's file chunk by chunk, for answers that stream it.

nats-py's ``ObjectStore.get`` gathers the whole object (or pushes it through an ordered
consumer whose queue may hold all of it when the client reads slowly). Here each chunk is
fetched from the stream by a direct get ("the next message on the object's chunk subject"),
so the gateway holds one chunk (128 KiB by default) at a time, whatever the file's size and
however slowly the client reads.

The SHA-256 that the object store recorded can only be compared once the last chunk has
been read: the last chunk is held back until it matches. On a mismatch :class:`ObjectDigestError`
is raised after the earlier chunks were sent; the HTTP answer (whose ``Content-Length`` was
announced) is then cut short and the connection aborted, so a client never takes a corrupt
file as complete.
"""

import base64
import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import ObjectInfo
from nats.js.errors import BucketNotFoundError, NotFoundError, ObjectNotFoundError

log = logging.getLogger(__name__)

_DIGEST = "SHA-256="


class ObjectDigestError(Exception):
    """The chunks read do not match the object store's SHA-256 (or stop short of its size)."""


@dataclass(frozen=True)
class StoredObject:
    """An object found in a bucket: its info (size, digest) and where its chunks are."""

    js: JetStreamContext
    stream: str
    info: ObjectInfo

    @property
    def size(self) -> int:
        return self.info.size or 0

    async def chunks(self) -> AsyncIterator[bytes]:
        """The object's bytes, a chunk at a time, checked against its SHA-256 at the end."""
        size = self.size
        if size == 0:
            return
        subject = f"$O.{self.info.bucket}.C.{self.info.nuid}"
        digest = hashlib.sha256()
        read = 0
        seq = 1
        while read < size:
            try:
                msg = await self.js.get_msg(self.stream, seq=seq, subject=subject, direct=True,
                                            next=True)  # fmt: skip
            except NotFoundError:
                raise self._broken(f"chunks end after {read} of {size} bytes") from None
            data = msg.data or b""
            digest.update(data)
            read += len(data)
            seq = (msg.seq or seq) + 1
            if read >= size and (read != size or digest.digest() != self._expected()):
                raise self._broken(f"SHA-256 or size mismatch ({read} of {size} bytes)")
            yield data

    def _expected(self) -> bytes:
        text = (self.info.digest or "").replace(_DIGEST, "").replace(_DIGEST.lower(), "")
        return base64.urlsafe_b64decode(text)

    def _broken(self, why: str) -> ObjectDigestError:
        log.error("object %s/%s is damaged: %s", self.info.bucket, self.info.name, why)
        return ObjectDigestError(f"{self.info.bucket}/{self.info.name}: {why}")


async def find_object(js: JetStreamContext, bucket: str, key: str) -> StoredObject | None:
    """The object ``key`` in ``bucket`` (None when the bucket or the object is missing)."""
    try:
        store = await js.object_store(bucket)
        info = await store.get_info(key)
    except (BucketNotFoundError, ObjectNotFoundError):
        return None
    if not info.nuid or info.is_link():
        return None
    return StoredObject(js=js, stream=f"OBJ_{bucket}", info=info)
