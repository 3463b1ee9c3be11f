"""Attachments through the API: multipart uploads to work orders and assets, the list, the
metadata, the content with its headers (inline images, downloaded files, sandboxed), the
caption, removal, and the 413 / 415 / 404 answers (the session's attachments service takes
files up to 1,000,000 bytes; the streaming tests put bigger objects in the bucket directly)."""

import asyncio
import base64
import hashlib
import io
import json
import os
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import nats
import pytest
from nats.js.object_store import ObjectStore
from PIL import Image

from rivet_devstack.testing.helpers import Session, invite_member, register
from rivet_devstack.testing.services import ServiceSet
from rivet_gateway.objects import ObjectDigestError

pytestmark = pytest.mark.integration

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (900, 600), (200, 80, 40)).save(out, format="JPEG")
    return out.getvalue()


async def _records(api: httpx.AsyncClient, admin: Session) -> tuple[dict[str, Any], dict[str, Any]]:
    made = await api.post(
        "/api/equipment",
        json={"manufacturer": "ABB", "model": "M2BAX", "serial": uuid.uuid4().hex[:10]},
        headers=admin.headers,
    )
    assert made.status_code == 201, made.text
    asset = made.json()["equipment"]
    order = await api.post(
        "/api/work-orders",
        json={"equipment_id": asset["id"], "title": "Bearing noise"},
        headers=admin.headers,
    )
    assert order.status_code == 201, order.text
    return asset, order.json()


async def _upload(
    api: httpx.AsyncClient, who: Session, path: str, data: bytes, name: str, **form: str
) -> httpx.Response:
    return await api.post(
        path, files={"file": (name, data, "application/octet-stream")}, data=form,
        headers=who.headers,
    )  # fmt: skip


async def test_attachments_through_the_api(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    tech = await invite_member(api, admin, "technician")
    viewer = await invite_member(api, admin, "viewer")
    asset, order = await _records(api, admin)

    photo = await _upload(
        api, tech, f"/api/work-orders/{order['number']}/attachments", jpeg(), "seal.jpg",
        caption="The seal",
    )  # fmt: skip
    assert photo.status_code == 201, photo.text
    view = photo.json()
    assert view["kind"] == "image"
    assert view["caption"] == "The seal"
    assert view["renditions"] == ["original", "screen", "thumbnail"]

    manual = await _upload(api, tech, f"/api/equipment/{asset['id']}/attachments", PDF, "m.pdf")
    assert manual.status_code == 201, manual.text
    original = await api.get(f"/api/attachments/{view['id']}/content", headers=viewer.headers)
    assert original.status_code == 200
    assert original.content == jpeg()
    assert original.headers["content-length"] == str(len(original.content))

    listed = await api.get(f"/api/work-orders/{order['id']}/attachments", headers=viewer.headers)
    assert listed.status_code == 200, listed.text
    assert [a["id"] for a in listed.json()["items"]] == [view["id"]]
    on_asset = await api.get(
        f"/api/equipment/{asset['number']}/attachments", headers=viewer.headers
    )
    assert [a["filename"] for a in on_asset.json()["items"]] == ["m.pdf"]

    meta = await api.get(f"/api/attachments/{view['id']}", headers=viewer.headers)
    assert meta.status_code == 200
    assert meta.json() == view

    thumb = await api.get(
        f"/api/attachments/{view['id']}/content?rendition=thumbnail", headers=viewer.headers
    )
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"
    assert thumb.headers["content-disposition"].startswith("inline;")
    assert "sandbox" in thumb.headers.get_list("content-security-policy")
    assert thumb.headers["x-content-type-options"] == "nosniff"
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 256

    pdf = await api.get(f"/api/attachments/{manual.json()['id']}/content", headers=viewer.headers)
    assert pdf.status_code == 200
    assert pdf.content == PDF
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-length"] == str(len(PDF))
    assert pdf.headers["content-disposition"] == (
        "attachment; filename=\"m.pdf\"; filename*=UTF-8''m.pdf"
    )
    assert pdf.headers["cache-control"] == "private, max-age=300"
    head = await api.head(f"/api/attachments/{manual.json()['id']}/content", headers=viewer.headers)
    assert head.status_code == 200
    assert head.content == b""
    for name in ("content-length", "content-type", "content-disposition", "cache-control"):
        assert head.headers[name] == pdf.headers[name]
    assert "sandbox" in head.headers.get_list("content-security-policy")
    assert head.headers["x-content-type-options"] == "nosniff"
    no_screen = await api.get(
        f"/api/attachments/{manual.json()['id']}/content?rendition=screen", headers=viewer.headers
    )
    assert no_screen.status_code == 404

    changed = await api.patch(
        f"/api/attachments/{view['id']}", json={"caption": "Worn seal"}, headers=tech.headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["caption"] == "Worn seal"
    forbidden = await api.delete(f"/api/attachments/{view['id']}", headers=viewer.headers)
    assert forbidden.status_code == 403
    removed = await api.delete(f"/api/attachments/{view['id']}", headers=admin.headers)
    assert removed.status_code == 200, removed.text
    gone = await api.get(f"/api/attachments/{view['id']}", headers=admin.headers)
    assert gone.status_code == 404


async def test_refusals_through_the_api(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    other = await register(api)
    _, order = await _records(api, admin)
    _, theirs = await _records(api, other)
    path = f"/api/work-orders/{order['id']}/attachments"

    script = await _upload(api, admin, path, b"#!/bin/sh\nrm -rf /\n", "photo.jpg")
    assert script.status_code == 415, script.text
    assert script.json()["error"]["message"]
    big = await _upload(api, admin, path, b"a" * 1_000_001, "big.txt")
    assert big.status_code == 413, big.text
    foreign = await _upload(
        api, admin, f"/api/work-orders/{theirs['id']}/attachments", PDF, "x.pdf"
    )
    assert foreign.status_code == 404, foreign.text
    mine = await _upload(api, admin, path, PDF, "x.pdf")
    assert mine.status_code == 201
    for answer in (
        await api.get(f"/api/attachments/{mine.json()['id']}", headers=other.headers),
        await api.get(f"/api/attachments/{mine.json()['id']}/content", headers=other.headers),
        await api.get(path, headers=other.headers),
    ):
        assert answer.status_code == 404, answer.text
    anonymous = await api.get(f"/api/attachments/{mine.json()['id']}")
    assert anonymous.status_code == 401


async def test_a_repeated_upload_with_its_key_makes_one_attachment(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    _, order = await _records(api, admin)
    path = f"/api/work-orders/{order['id']}/attachments"
    headers = admin.headers | {"Idempotency-Key": f"up-{uuid.uuid4().hex}"}
    answers = [
        await api.post(path, files={"file": ("a.pdf", PDF)}, headers=headers) for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    listed = await api.get(path, headers=admin.headers)
    assert len(listed.json()["items"]) == 1


@asynccontextmanager
async def _bucket(services: ServiceSet) -> AsyncIterator[ObjectStore]:
    nc = await nats.connect(services.env.nats_url)
    try:
        yield await nc.jetstream().object_store(f"{services.env.namespace.upper()}_ATTACHMENTS")
    finally:
        await nc.close()


async def _swap_in(
    services: ServiceSet, api: httpx.AsyncClient, data: bytes
) -> tuple[str, Session]:
    """An attachment (a PDF through the API) whose original is then replaced in the bucket
    by ``data`` (bigger than the session's upload limit); its id and owner."""
    admin = await register(api)
    _, order = await _records(api, admin)
    made = await _upload(api, admin, f"/api/work-orders/{order['id']}/attachments", PDF, "big.pdf")
    assert made.status_code == 201, made.text
    attachment_id = made.json()["id"]
    async with _bucket(services) as store:
        key = next(
            o.name for o in await store.list() if o.name.endswith(f"/{attachment_id}/original")
        )
        await store.put(key, data)
    return attachment_id, admin


async def _download(
    services: ServiceSet,
    path: str,
    who: Session,
    parts: list[tuple[int, int]],
    headers: dict[str, str],
) -> int:
    """GET ``path`` straight through the gateway's ASGI app (httpx's ASGI transport would
    gather the body): the status; ``headers`` (with the body's SHA-256 as ``x-test-sha256``)
    and ``parts``, one (size, memory traced when it was sent) per body part, are filled as
    they come, the bytes hashed and dropped."""
    assert services.app is not None
    digest = hashlib.sha256()
    status = 0

    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            for k, v in message["headers"]:  # repeated headers joined, as HTTP allows
                name = k.decode()
                headers[name] = f"{headers[name]}, {v.decode()}" if name in headers else v.decode()
        elif message["type"] == "http.response.body" and message.get("body"):
            digest.update(message["body"])
            parts.append((len(message["body"]), tracemalloc.get_traced_memory()[0]))
            headers["x-test-sha256"] = digest.hexdigest()

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 40000), "server": ("test", 80),
        "headers": [(b"host", b"test"),
                    *((k.lower().encode(), v.encode()) for k, v in who.headers.items())],
    }  # fmt: skip
    await services.app(scope, receive, send)  # type: ignore[arg-type]
    return status


async def test_a_big_file_is_streamed_a_chunk_at_a_time(
    services: ServiceSet, api: httpx.AsyncClient
) -> None:
    data = os.urandom(8 * 1024 * 1024)
    attachment_id, admin = await _swap_in(services, api, data)
    path = f"/api/attachments/{attachment_id}/content"

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        parts: list[tuple[int, int]] = []
        headers: dict[str, str] = {}
        status = await _download(services, path, admin, parts, headers)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()

    assert status == 200
    assert headers["content-length"] == str(len(data))
    assert headers["content-type"] == "application/pdf"
    assert headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in headers["content-security-policy"].split(", ")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-test-sha256"] == hashlib.sha256(data).hexdigest()
    assert sum(size for size, _ in parts) == len(data)
    assert len(parts) >= 32  # 128 KiB chunks, sent as they were read
    # the gateway held a few chunks at a time, never the 8 MiB file
    assert peak < 2 * 1024 * 1024, peak
    assert max(memory for _, memory in parts) - before < 2 * 1024 * 1024


async def test_a_damaged_file_is_cut_short(services: ServiceSet, api: httpx.AsyncClient) -> None:
    """The object store's SHA-256 is checked when the last chunk has been read: on a mismatch
    that chunk is never sent and the answer breaks off short of its Content-Length (a server
    aborts the connection), so no client takes the file as whole."""
    data = os.urandom(600 * 1024)
    attachment_id, admin = await _swap_in(services, api, data)
    async with _bucket(services) as store:
        info = next(o for o in await store.list() if o.name.endswith(f"/{attachment_id}/original"))
        meta = info.as_dict()
        wrong = base64.urlsafe_b64encode(hashlib.sha256(b"other").digest()).decode()
        meta["digest"] = f"SHA-256={wrong}"
        name = base64.urlsafe_b64encode(info.name.encode()).decode()
        await store._js.publish(  # a damaged meta record, as no client writes one
            f"$O.{info.bucket}.M.{name}", json.dumps(meta).encode(),
            headers={"Nats-Rollup": "sub"},
        )  # fmt: skip

    parts: list[tuple[int, int]] = []
    head: dict[str, str] = {}
    with pytest.raises(ObjectDigestError):
        await _download(services, f"/api/attachments/{attachment_id}/content", admin, parts, head)
    assert head["content-length"] == str(len(data))
    assert 0 < sum(size for size, _ in parts) < len(data)


async def test_a_missing_file_is_404_before_any_byte(
    services: ServiceSet, api: httpx.AsyncClient
) -> None:
    attachment_id, admin = await _swap_in(services, api, PDF)
    async with _bucket(services) as store:
        key = next(
            o.name for o in await store.list() if o.name.endswith(f"/{attachment_id}/original")
        )
        await store.delete(key)
    path = f"/api/attachments/{attachment_id}/content"
    gone = await api.get(path, headers=admin.headers)
    assert gone.status_code == 404, gone.text
    assert gone.json()["error"]["message"]
    assert (await api.head(path, headers=admin.headers)).status_code == 404


def noisy_jpeg(width: int, height: int) -> bytes:
    """A photo that compresses like a camera's (noise), so reading and rendering it takes time."""
    out = io.BytesIO()
    Image.effect_noise((width, height), 64).convert("RGB").save(out, format="JPEG", quality=85)
    return out.getvalue()


async def test_an_upload_is_waited_for_past_the_gateways_rpc_timeout(
    services: ServiceSet, api: httpx.AsyncClient
) -> None:
    """``rpc.attachments.add`` has its own timeout in the catalogue (30 s): a gateway whose
    ``RPC_TIMEOUT`` is far below what an add takes still answers the add's 201, not 504."""
    from rivet_contracts.attachments import ADD
    from rivet_gateway.app import create_app
    from rivet_runtime.service import ServiceRuntime

    admin = await register(api)
    _, order = await _records(api, admin)
    photo = noisy_jpeg(1400, 1000)
    assert 500_000 < len(photo) < 1_000_000  # within the session's upload limit
    hasty = 0.05
    assert (ADD.timeout or 0) > hasty
    runtime: ServiceRuntime[Any] = ServiceRuntime(
        services.gateway_settings(rpc_timeout=hasty), None, uses_uploads=True
    )
    app = create_app(runtime)
    await runtime.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=60
        ) as client:
            started = asyncio.get_running_loop().time()
            added = await _upload(
                client, admin, f"/api/work-orders/{order['id']}/attachments", photo, "p.jpg"
            )
            took = asyncio.get_running_loop().time() - started
    finally:
        await runtime.stop()
    assert added.status_code == 201, added.text
    assert took > hasty  # the gateway waited past its own RPC_TIMEOUT for the add
    assert added.json()["renditions"] == ["original", "screen", "thumbnail"]
