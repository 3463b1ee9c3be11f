"""Photo -> OCR -> create-or-match -> asset, through the gateway, real NATS and PostgreSQL."""

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from rivet_devstack.testing.helpers import Session, invite_member, register

FIXTURES = Path(__file__).parent / "fixtures"
pytestmark = pytest.mark.slow


async def _upload(
    api: httpx.AsyncClient, who: Session, data: bytes, *, name: str = "plate.jpg", **form: str
) -> httpx.Response:
    return await api.post(
        "/api/upload/nameplate",
        params={"wait": 25},
        files={"photo": (name, data, "image/jpeg")},
        data=form,
        headers=who.headers,
    )


async def _pictured(api: httpx.AsyncClient, who: Session, ref: str) -> dict[str, Any]:
    """The asset once it shows a picture (the attachments and assets services' events)."""
    for _ in range(200):
        asset: dict[str, Any] = (await api.get(f"/api/equipment/{ref}", headers=who.headers)).json()
        if asset["picture"]:
            return asset
        await asyncio.sleep(0.1)
    raise AssertionError(f"{ref} never showed its nameplate photo")


async def test_photo_becomes_an_asset_and_the_same_plate_matches(api: httpx.AsyncClient) -> None:
    truth = json.loads((FIXTURES / "np_011_clean.json").read_text())["fields"]
    photo = (FIXTURES / "np_011_clean.jpg").read_bytes()
    admin = await register(api)
    first = await _upload(api, admin, photo, location="Compressor room")
    assert first.status_code == 200, first.text
    scan = first.json()
    assert scan["status"] == "resolved", scan
    assert scan["outcome"] == "created"
    assert scan["fields"]["serial"]["value"] == truth["serial"]
    assert scan["fields"]["manufacturer"]["value"] == truth["manufacturer"]
    assert scan["seconds"]["total"] > 0
    asset = (
        await api.get(f"/api/equipment/{scan['equipment_number']}", headers=admin.headers)
    ).json()
    assert asset["serial"] == truth["serial"]
    assert asset["source"] == "nameplate"
    assert asset["location"] == "Compressor room"
    assert asset["photo_ref"] == scan["photo_ref"]
    assert asset["ratings"].get("voltage") == truth["voltage"]
    # the photo becomes the new asset's attachment, and its picture
    number = scan["equipment_number"]
    pictured = await _pictured(api, admin, number)
    assert pictured["attachment_count"] == 1
    assert pictured["picture"]["filename"] == f"nameplate-{number}.jpg"
    files = await api.get(f"/api/equipment/{number}/attachments", headers=admin.headers)
    assert [(f["caption"], f["kind"]) for f in files.json()["items"]] == [
        ("Nameplate photo (scan)", "image")
    ]

    second = await _upload(api, admin, photo)
    again = second.json()
    assert again["outcome"] == "matched"
    assert again["equipment_id"] == scan["equipment_id"]
    listed = (await api.get("/api/equipment", headers=admin.headers)).json()
    assert listed["total"] == 1
    fetched = await api.get(f"/api/scans/{scan['id']}", headers=admin.headers)
    assert fetched.json()["equipment_number"] == scan["equipment_number"]


async def test_unsure_scan_waits_for_a_person(api: httpx.AsyncClient) -> None:
    """A photo with no nameplate text: nothing is created until someone confirms."""
    admin = await register(api)
    blank = io.BytesIO()
    image = Image.new("RGB", (900, 600), (40, 90, 160))
    image.paste((230, 230, 230), (100, 100, 800, 500))
    image.save(blank, "JPEG")
    answer = await _upload(api, admin, blank.getvalue())
    scan = answer.json()
    assert scan["status"] in ("needs_review", "failed"), scan
    assert (await api.get("/api/equipment", headers=admin.headers)).json()["total"] == 0
    if scan["status"] == "needs_review":
        confirmed = await api.post(
            f"/api/scans/{scan['id']}/confirm",
            params={"wait": 15},
            json={"corrections": {"manufacturer": "Baldor", "model": "EM3615T", "serial": "Z-99"}},
            headers=admin.headers,
        )
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["outcome"] == "created"
        assert (await api.get("/api/equipment", headers=admin.headers)).json()["total"] == 1


async def test_bad_uploads_get_their_4xx(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    viewer = await invite_member(api, admin, "viewer")
    assert (await _upload(api, admin, b"%PDF-1.4 not a photo")).status_code == 415
    bomb = io.BytesIO()
    Image.new("1", (30000, 30000)).save(bomb, "PNG", optimize=True)
    assert (await _upload(api, admin, bomb.getvalue(), name="x.png")).status_code == 422
    huge = await api.post(
        "/api/upload/nameplate",
        content=b"x" * (16 * 1024 * 1024),
        headers=admin.headers | {"content-type": "multipart/form-data; boundary=b"},
    )
    assert huge.status_code == 413
    photo = (FIXTURES / "np_011_clean.jpg").read_bytes()
    assert (await _upload(api, viewer, photo)).status_code == 403
    other = await register(api)
    mine = await _upload(api, admin, photo, location="x")
    assert (
        await api.get(f"/api/scans/{mine.json()['id']}", headers=other.headers)
    ).status_code == 404
