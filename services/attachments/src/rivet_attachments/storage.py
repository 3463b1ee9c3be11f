"""The object stores, beyond ``UploadStore``'s put/get/delete: an upload's size before it is
read, several objects at once, and the keys of a bucket (for the sweep)."""

import asyncio
from collections.abc import Sequence

from nats.js.errors import NotFoundError, ObjectNotFoundError

from rivet_contracts import ErrorCode, ServiceError
from rivet_runtime.uploads import UploadStore


async def size_of(store: UploadStore, key: str) -> int:
    """The size of an object, from its metadata (the bytes are not read)."""
    bucket = await store.js.object_store(store.bucket)
    try:
        info = await bucket.get_info(key)
    except ObjectNotFoundError:
        raise ServiceError(ErrorCode.NOT_FOUND, "uploaded file not found or expired") from None
    return int(info.size or 0)


async def put_all(store: UploadStore, objects: Sequence[tuple[str, bytes]]) -> None:
    await asyncio.gather(*(store.put(data, prefix="", key=key) for key, data in objects))


async def delete_all(store: UploadStore, keys: Sequence[str]) -> None:
    await asyncio.gather(*(store.delete(key) for key in keys))


async def keys(store: UploadStore) -> list[str]:
    """The keys of every object in the bucket (deleted ones left out)."""
    bucket = await store.js.object_store(store.bucket)
    try:
        found = await bucket.list(ignore_deletes=True)
    except NotFoundError:  # an empty bucket
        return []
    return [info.name for info in found if not info.deleted]
