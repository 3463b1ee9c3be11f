"""The object stores, beyond ``UploadStore``'s put/get/delete: an upload's size before it is
read, several objects at once, and the keys of a bucket a page at a time (for the sweep)."""

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class KeyPage:
    keys: list[str]
    """Keys of stored objects (deleted ones left out), in the bucket's order."""
    next_sequence: int
    """Where the next page starts (a sequence of the bucket's stream); 0: the end was reached."""


async def key_page(store: UploadStore, start: int, limit: int) -> KeyPage:
    """Up to ``limit`` objects' keys from the bucket's stream sequence ``start`` on (1: the
    beginning). Each object's metadata is the last message on its own subject, read one at a
    time by sequence (JetStream's direct get, "next message on the metadata subjects"): never
    more than one in memory, however large the bucket. An object changed since (put again,
    deleted) has moved to a later sequence and is met again further on."""
    stream = f"OBJ_{store.bucket}"
    subject = f"$O.{store.bucket}.M.>"
    keys: list[str] = []
    sequence = max(1, start)
    for _ in range(limit):
        try:
            msg = await store.js.get_msg(
                stream, seq=sequence, subject=subject, next=True, direct=True
            )
        except NotFoundError:  # nothing at or after it: the end of the bucket
            return KeyPage(keys, 0)
        sequence = int(msg.seq or sequence) + 1
        try:
            info = json.loads(msg.data or b"{}")
        except ValueError:
            continue  # not an object's metadata
        if isinstance(info, dict) and info.get("name") and not info.get("deleted"):
            keys.append(str(info["name"]))
    return KeyPage(keys, sequence)
