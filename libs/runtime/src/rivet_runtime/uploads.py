"""Files on their way into Rivet (CSV imports, nameplate photos), kept once in a JetStream
object store: the gateway stores the bytes and sends only a key in the request, so requests stay
far below NATS's message size limit and a service reads the file when it is ready to.

A file is read back chunk by chunk with JetStream's direct get ("the next message on the
object's chunk subject"), not with nats-py's ``ObjectStore.get``: that one pushes the chunks
through an ordered consumer whose flow-control replies are sent by a timer every 250 ms while
it is read, which stalls a 4 MB file for about a quarter of a second.
"""

import base64
import hashlib
import logging
import uuid
from datetime import timedelta

from nats.js import JetStreamContext
from nats.js.api import ObjectInfo, ObjectStoreConfig, StorageType
from nats.js.errors import BucketNotFoundError, NotFoundError, ObjectNotFoundError

from rivet_contracts import ErrorCode, ServiceError

from .settings import ServiceSettings

log = logging.getLogger(__name__)

BUCKET = "UPLOADS"
TTL = timedelta(days=7)


class UploadStore:
    """A JetStream object store bucket (namespaced). Uploads expire after ``ttl``; other
    buckets (nameplate photos) may keep their files for good (``ttl=None``)."""

    def __init__(
        self,
        js: JetStreamContext,
        settings: ServiceSettings,
        *,
        bucket: str = BUCKET,
        ttl: timedelta | None = TTL,
        description: str = "Uploaded files awaiting processing",
    ) -> None:
        self.js = js
        self.bucket = settings.stream_name(bucket)
        self.replicas = settings.stream_replicas
        self.ttl = ttl
        self.description = description

    async def ensure(self) -> None:
        try:
            await self.js.object_store(self.bucket)
        except BucketNotFoundError:
            await self.js.create_object_store(
                self.bucket,
                config=ObjectStoreConfig(
                    bucket=self.bucket,
                    description=self.description,
                    ttl=self.ttl.total_seconds() if self.ttl else None,
                    storage=StorageType.FILE,
                    replicas=self.replicas,
                ),
            )

    async def put(self, data: bytes, *, prefix: str, key: str | None = None) -> str:
        """Store ``data``; returns its key (``key``, or ``<prefix>/<uuid>``)."""
        key = key or f"{prefix}/{uuid.uuid4().hex}"
        store = await self.js.object_store(self.bucket)
        await store.put(key, data)
        return key

    async def get(self, key: str) -> bytes:
        """The object's bytes, checked against the SHA-256 the store recorded."""
        store = await self.js.object_store(self.bucket)
        try:
            info = await store.get_info(key)
        except ObjectNotFoundError:
            raise ServiceError(ErrorCode.NOT_FOUND, "uploaded file not found or expired") from None
        if not info.nuid or info.is_link():
            raise ServiceError(ErrorCode.NOT_FOUND, "uploaded file not found or expired")
        return await self._read(info)

    async def _read(self, info: ObjectInfo) -> bytes:
        size = info.size or 0
        subject = f"$O.{self.bucket}.C.{info.nuid}"
        chunks: list[bytes] = []
        digest = hashlib.sha256()
        read, seq = 0, 1
        while read < size:
            try:
                msg = await self.js.get_msg(
                    f"OBJ_{self.bucket}", seq=seq, subject=subject, direct=True, next=True
                )
            except NotFoundError:
                break
            data = msg.data or b""
            chunks.append(data)
            digest.update(data)
            read += len(data)
            seq = (msg.seq or seq) + 1
        if read != size or digest.digest() != _recorded_digest(info):
            log.error("upload %s/%s is damaged (%d of %d bytes or SHA-256 differs)",
                      self.bucket, info.name, read, size)  # fmt: skip
            raise ServiceError(
                ErrorCode.NOT_FOUND, "the uploaded file is incomplete or damaged; upload it again"
            )
        return b"".join(chunks)

    async def delete(self, key: str) -> None:
        store = await self.js.object_store(self.bucket)
        try:
            await store.delete(key)
        except ObjectNotFoundError:
            return


def _recorded_digest(info: ObjectInfo) -> bytes:
    """The SHA-256 in an object's info (``SHA-256=<url-safe base64>``)."""
    text = (info.digest or "").partition("=")[2]
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return b""
