"""Files on their way into Rivet (CSV imports, nameplate photos), kept once in a JetStream
object store: the gateway stores the bytes and sends only a key in the request, so requests stay
far below NATS's message size limit and a service reads the file when it is ready to."""

import uuid
from datetime import timedelta

from nats.js import JetStreamContext
from nats.js.api import ObjectStoreConfig, StorageType
from nats.js.errors import BucketNotFoundError, ObjectNotFoundError

from rivet_contracts import ErrorCode, ServiceError

from .settings import ServiceSettings

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
        store = await self.js.object_store(self.bucket)
        try:
            result = await store.get(key)
        except ObjectNotFoundError:
            raise ServiceError(ErrorCode.NOT_FOUND, "uploaded file not found or expired") from None
        return result.data or b""

    async def delete(self, key: str) -> None:
        store = await self.js.object_store(self.bucket)
        try:
            await store.delete(key)
        except ObjectNotFoundError:
            return
