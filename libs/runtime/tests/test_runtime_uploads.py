"""The upload store against a real NATS: a file of many chunks comes back whole and checked,
a missing one is a 404, one whose chunks were lost is refused rather than returned short."""

import os
from collections.abc import AsyncIterator

import nats
import pytest
from nats.js import JetStreamContext

from rivet_contracts import ErrorCode, ServiceError
from rivet_devstack.testing.env import TestEnv
from rivet_runtime import ServiceSettings
from rivet_runtime.uploads import UploadStore


@pytest.fixture
async def store(test_env: TestEnv, namespace: str) -> AsyncIterator[UploadStore]:
    nc = await nats.connect(test_env.nats_url)
    settings = ServiceSettings(
        service_name="uploads_test", nats_url=test_env.nats_url, nats_namespace=namespace
    )
    uploads = UploadStore(nc.jetstream(), settings, bucket="UPLOADS_TEST")
    await uploads.ensure()
    yield uploads
    await nc.jetstream().delete_object_store(uploads.bucket)
    await nc.close()


async def test_a_file_of_many_chunks_is_read_back_whole(store: UploadStore) -> None:
    data = os.urandom(1_000_003)  # eight 128 KiB chunks, the last one short
    other = os.urandom(300_000)  # another file's chunks interleave in the stream
    key = await store.put(data, prefix="test")
    await store.put(other, prefix="test")
    await store.put(data[::-1], prefix="test", key=key)  # put again: new chunks replace old

    assert await store.get(key) == data[::-1]
    assert await store.get(await store.put(b"", prefix="test")) == b""


async def test_a_missing_file_is_not_found(store: UploadStore) -> None:
    with pytest.raises(ServiceError) as missing:
        await store.get("test/nothing-here")
    assert missing.value.code is ErrorCode.NOT_FOUND

    key = await store.put(b"gone soon", prefix="test")
    await store.delete(key)
    with pytest.raises(ServiceError) as deleted:
        await store.get(key)
    assert deleted.value.code is ErrorCode.NOT_FOUND


async def test_a_file_with_a_lost_chunk_is_refused_not_returned_short(store: UploadStore) -> None:
    key = await store.put(os.urandom(400_000), prefix="test")
    js: JetStreamContext = store.js
    info = await (await js.object_store(store.bucket)).get_info(key)
    stream = f"OBJ_{store.bucket}"
    first = await js.get_msg(
        stream, seq=1, subject=f"$O.{store.bucket}.C.{info.nuid}", direct=True, next=True
    )
    await js.delete_msg(stream, first.seq or 0)  # the first chunk of this object

    with pytest.raises(ServiceError) as damaged:
        await store.get(key)
    assert damaged.value.code is ErrorCode.NOT_FOUND
    assert "incomplete or damaged" in damaged.value.info.message
