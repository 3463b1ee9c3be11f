"""A scan's nameplate photo becomes an attachment of the asset the scan created or matched:
the assets service's ``equipment.scan_resolved`` names the asset and the photo's key in the OCR
service's photo store; the attachments service copies the photo into its own store under the
quota, and the asset counts it (and shows it, having no picture) - once per photo and asset.

The OCR service's part (reading the photo) is covered by services/ocr/tests; here the scan's
answer is published as the assets service publishes it, with a photo the OCR service's store
really holds, on real NATS and PostgreSQL."""

import asyncio
import io
import time
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

import httpx
import nats
import pytest
from PIL import Image

from rivet_contracts import EventEnvelope, Events
from rivet_contracts.assets import MatchOutcome
from rivet_contracts.identity import Actor, ActorKind
from rivet_contracts.ocr import EquipmentScanResolved
from rivet_contracts.wire import Headers
from rivet_devstack.testing.helpers import Session, register
from rivet_devstack.testing.services import ServiceSet

pytestmark = pytest.mark.integration


def plate(colour: tuple[int, int, int] = (180, 180, 170)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (900, 600), colour).save(out, format="JPEG", quality=85)
    return out.getvalue()


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


class Scans:
    """Publishes ``equipment.scan_resolved`` as the assets service does."""

    def __init__(self, services: ServiceSet, nc: Any, who: Session) -> None:
        self.settings = services.settings_for("assets")
        self.photos = services.runtimes["ocr"].state.photos
        self.nc, self.who = nc, who

    async def resolved(
        self,
        asset: dict[str, Any] | None,
        photo_ref: str | None,
        outcome: MatchOutcome | None = MatchOutcome.CREATED,
        *,
        again: bool = False,
    ) -> None:
        data = EquipmentScanResolved(
            scan_id=uuid4(),
            outcome=outcome,
            equipment_id=asset["id"] if asset else None,
            equipment_number=asset["number"] if asset else None,
            photo_ref=photo_ref,
        )
        envelope: EventEnvelope[Any] = EventEnvelope(
            type=Events.EQUIPMENT_SCAN_RESOLVED,
            org_id=UUID(self.who.user["org_id"]),
            actor=Actor(kind=ActorKind.USER, user_id=self.who.user["id"], channel="telegram"),
            data=data,
        )
        for msg_id in [str(envelope.event_id)] + ([str(uuid4())] if again else []):
            await self.nc.jetstream().publish(
                self.settings.subject(Events.EQUIPMENT_SCAN_RESOLVED),
                envelope.model_dump_json().encode(),
                headers={Headers.MSG_ID: msg_id},
            )


async def _asset(api: httpx.AsyncClient, who: Session, model: str) -> dict[str, Any]:
    answer = await api.post(
        "/api/equipment", json={"manufacturer": "WEG", "model": model}, headers=who.headers
    )
    assert answer.status_code == 201, answer.text
    asset: dict[str, Any] = answer.json()["equipment"]
    return asset


async def _files(api: httpx.AsyncClient, who: Session, ref: str) -> list[dict[str, Any]]:
    answer = await api.get(f"/api/equipment/{ref}/attachments", headers=who.headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def test_a_scanned_photo_becomes_the_asset_s_attachment_and_picture(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin = await register(api)
    asset = await _asset(api, admin, "W22-132M")
    photo = plate()
    ref = await services.runtimes["ocr"].state.photos.put(photo, prefix="scans")
    nc = await nats.connect(services.env.nats_url)
    try:
        scans = Scans(services, nc, admin)
        await scans.resolved(asset, ref, again=True)  # delivered twice

        async def shown() -> bool:
            got = await api.get(f"/api/equipment/{asset['id']}", headers=admin.headers)
            return bool(got.json()["picture"])

        await until(shown, "the scanned photo as the asset's picture")
        # the same photo matched again by a later scan: still one attachment
        await scans.resolved(asset, ref, MatchOutcome.MATCHED)
        # outcomes without an asset, and a scan without a photo: nothing to attach
        await scans.resolved(None, ref, MatchOutcome.POSSIBLE_DUPLICATES)
        await scans.resolved(None, ref, None)
        await scans.resolved(asset, None)
        # a photo the store does not hold (gone): the scan's outcome stands, nothing attached
        await scans.resolved(asset, "scans/" + uuid4().hex)
        # a later, different photo of the same asset is attached beside the first
        second = await services.runtimes["ocr"].state.photos.put(
            plate((90, 90, 90)), prefix="scans"
        )
        await scans.resolved(asset, second, MatchOutcome.MATCHED)

        async def two() -> bool:
            got = await api.get(f"/api/equipment/{asset['id']}", headers=admin.headers)
            return bool(got.json()["attachment_count"] == 2)

        await until(two, "the second scan's photo")
    finally:
        await nc.close()
    files = await _files(api, admin, asset["number"])
    assert len(files) == 2, files
    first = files[0]
    assert first["kind"] == "image"
    assert first["content_type"] == "image/jpeg"
    assert first["filename"] == f"nameplate-{asset['number']}.jpg"
    assert first["uploader_id"] == admin.user["id"]
    assert first["renditions"] == ["original", "screen", "thumbnail"]
    assert (first["width"], first["height"]) == (900, 600)
    seen = (await api.get(f"/api/equipment/{asset['id']}", headers=admin.headers)).json()
    assert seen["picture"]["attachment_id"] == first["id"], "the first photo stays the picture"
    assert seen["version"] == asset["version"]
    thumbnail = await api.get(seen["picture"]["thumbnail"], headers=admin.headers)
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumbnail.content)).size) == 256
    original = await api.get(seen["picture"]["download"], headers=admin.headers)
    assert Image.open(io.BytesIO(original.content)).size == (900, 600)
    # the photo stays in the OCR service's store: the attachment is a copy
    assert await services.runtimes["ocr"].state.photos.get(ref) == photo


async def test_another_organization_s_asset_gets_nothing(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    """The scan's organization owns the row; an asset id of another organization in it is
    never counted there (the assets service finds no such asset in the scan's organization)."""
    admin = await register(api)
    other = await register(api, "other")
    theirs = await _asset(api, other, "W22-160M")
    ref = await services.runtimes["ocr"].state.photos.put(plate((10, 200, 10)), prefix="scans")
    nc = await nats.connect(services.env.nats_url)
    try:
        await Scans(services, nc, admin).resolved(theirs, ref)
        mine = await _asset(api, admin, "W22-180M")
        marker = await services.runtimes["ocr"].state.photos.put(plate((1, 2, 3)), prefix="scans")
        await Scans(services, nc, admin).resolved(mine, marker)

        async def marked() -> bool:
            got = await api.get(f"/api/equipment/{mine['id']}", headers=admin.headers)
            return bool(got.json()["attachment_count"] == 1)

        await until(marked, "the later scan's photo")
    finally:
        await nc.close()
    seen = (await api.get(f"/api/equipment/{theirs['id']}", headers=other.headers)).json()
    assert (seen["attachment_count"], seen["picture"]) == (0, None)
    assert await _files(api, other, theirs["id"]) == []
