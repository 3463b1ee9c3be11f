"""Attachments through the API: multipart uploads to work orders and assets, the list, the
metadata, the content with its headers (inline images, downloaded files, sandboxed), the
caption, removal, and the 413 / 415 / 404 answers (the session's attachments service takes
files up to 1,000,000 bytes)."""

import io
import uuid
from typing import Any

import httpx
import pytest
from PIL import Image

from rivet_devstack.testing.helpers import Session, invite_member, register

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
    assert pdf.headers["content-disposition"] == (
        "attachment; filename=\"m.pdf\"; filename*=UTF-8''m.pdf"
    )
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
