"""An asset's files: the attachments service's events move the asset's attachment count and
picture once per event, with history entries and the asset's own ``equipment.attachment_*``;
the version stays. ``PUT /api/equipment/{ref}/picture`` chooses the picture among the asset's
images, through the gateway and the real attachments service."""

import asyncio
import io
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import nats
from nats.aio.client import Client
from PIL import Image
from sqlalchemy import text

from rivet_contracts import EventEnvelope, Events
from rivet_contracts.attachments import (
    AttachmentAdded,
    AttachmentKind,
    AttachmentRemoved,
    RecordKind,
)
from rivet_contracts.wire import Headers
from rivet_devstack.testing.helpers import Session, invite_member, register
from rivet_devstack.testing.services import ServiceSet

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def jpeg(
    width: int = 640, height: int = 480, colour: tuple[int, int, int] = (30, 120, 200)
) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="JPEG", quality=85)
    return out.getvalue()


async def until(
    check: Callable[[], Awaitable[bool] | bool], timeout: float = 15.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        done = check()
        if not isinstance(done, bool):
            done = await done
        if done:
            return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def _added(
    record_id: str,
    uploader: str,
    *,
    kind: AttachmentKind = AttachmentKind.IMAGE,
    filename: str = "nameplate.jpg",
    at: datetime | None = None,
    record_kind: RecordKind = RecordKind.EQUIPMENT,
) -> AttachmentAdded:
    attachment_id = uuid4()
    image = kind is AttachmentKind.IMAGE
    return AttachmentAdded(
        attachment_id=attachment_id,
        record_kind=record_kind,
        record_id=UUID(record_id),
        filename=filename,
        caption="as found",
        content_type="image/jpeg" if image else "application/pdf",
        kind=kind,
        size_bytes=48_213,
        width=1600 if image else None,
        height=1200 if image else None,
        uploader_id=UUID(uploader),
        link=f"/api/attachments/{attachment_id}",
        created_at=at or datetime.now(UTC),
    )


def _removed(added: AttachmentAdded, by: str) -> AttachmentRemoved:
    return AttachmentRemoved(
        attachment_id=added.attachment_id,
        record_kind=added.record_kind,
        record_id=added.record_id,
        filename=added.filename,
        kind=added.kind,
        size_bytes=added.size_bytes,
        removed_by=UUID(by),
        removed_at=datetime.now(UTC),
    )


class Events_:
    """Publishes the attachments service's events on the namespaced stream and collects the
    asset's own."""

    def __init__(self, services: ServiceSet, nc: Client, org_id: str) -> None:
        self.settings = services.settings_for("assets")
        self.nc, self.org_id = nc, UUID(org_id)
        self.received: list[dict[str, Any]] = []

    async def listen(self) -> None:
        async def collect(msg: Any) -> None:
            self.received.append(json.loads(msg.data))

        for subject in (Events.EQUIPMENT_ATTACHMENT_ADDED, Events.EQUIPMENT_ATTACHMENT_REMOVED):
            await self.nc.subscribe(self.settings.subject(subject), cb=collect)

    async def publish(self, data: Any, *, again: bool = False) -> UUID:
        """The event as the attachments service publishes it; ``again``: a second copy past
        JetStream's duplicate window (a redelivery)."""
        subject = (
            Events.ATTACHMENT_ADDED
            if isinstance(data, AttachmentAdded)
            else Events.ATTACHMENT_REMOVED
        )
        envelope: EventEnvelope[Any] = EventEnvelope(type=subject, org_id=self.org_id, data=data)
        for msg_id in [str(envelope.event_id)] + ([str(uuid4())] if again else []):
            await self.nc.jetstream().publish(
                self.settings.subject(subject),
                envelope.model_dump_json().encode(),
                headers={Headers.MSG_ID: msg_id},
            )
        return envelope.event_id

    async def wait(self, count: int) -> None:
        await until(lambda: len(self.received) >= count, what=f"{count} equipment.attachment_*")


async def _asset(api: httpx.AsyncClient, who: Session, **body: Any) -> dict[str, Any]:
    answer = await api.post(
        "/api/equipment", json={"manufacturer": "Baldor", **body}, headers=who.headers
    )
    assert answer.status_code == 201, answer.text
    asset: dict[str, Any] = answer.json()["equipment"]
    return asset


async def _get(api: httpx.AsyncClient, who: Session, ref: str) -> dict[str, Any]:
    answer = await api.get(f"/api/equipment/{ref}", headers=who.headers)
    assert answer.status_code == 200, answer.text
    asset: dict[str, Any] = answer.json()
    return asset


def _picture_id(asset: dict[str, Any]) -> str | None:
    picture = asset["picture"]
    return picture["attachment_id"] if picture else None


async def test_events_move_count_and_picture_once(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin = await register(api)
    asset = await _asset(api, admin, model="M3546T", name="Feed pump 4")
    ref, me = asset["id"], admin.user["id"]
    assert (asset["attachment_count"], asset["picture"]) == (0, None)
    nc = await nats.connect(services.env.nats_url)
    bus = Events_(services, nc, admin.user["org_id"])
    await bus.listen()
    start = datetime.now(UTC)
    try:
        manual = _added(ref, me, kind=AttachmentKind.PDF, filename="manual.pdf", at=start)
        await bus.publish(manual)
        await bus.wait(1)
        first = _added(ref, me, filename="front.jpg", at=start + timedelta(seconds=1))
        await bus.publish(first, again=True)  # delivered twice: counted once
        await bus.wait(2)
        second = _added(ref, me, filename="side.jpg", at=start + timedelta(seconds=2))
        await bus.publish(second)
        await bus.wait(3)
        await bus.publish(second, again=True)  # a late copy: nothing changes
        seen = await _get(api, admin, ref)
        assert seen["attachment_count"] == 3
        assert _picture_id(seen) == str(first.attachment_id), "the first image is the picture"
        assert seen["picture"]["thumbnail"] == (
            f"/api/attachments/{first.attachment_id}/content?rendition=thumbnail"
        )
        assert seen["version"] == asset["version"], "a file is not an edit"

        await bus.publish(_removed(first, me), again=True)  # the picture goes, twice
        await bus.wait(4)
        await bus.publish(_removed(manual, me))
        await bus.wait(5)
        seen = await _get(api, admin, ref)
        assert seen["attachment_count"] == 1
        assert _picture_id(seen) == str(second.attachment_id), "the newest remaining image"
        await bus.publish(_removed(second, me))
        await bus.wait(6)
        seen = await _get(api, admin, ref)
        assert (seen["attachment_count"], seen["picture"], seen["version"]) == (0, None, 1)
    finally:
        await nc.close()
    types = [e["type"] for e in bus.received]
    assert types == ["equipment.attachment_added"] * 3 + ["equipment.attachment_removed"] * 3
    assert [e["data"]["attachment_count"] for e in bus.received] == [1, 2, 3, 2, 1, 0]
    pictures = [(e["data"]["picture"] or {}).get("attachment_id") for e in bus.received]
    ids = [str(x.attachment_id) for x in (first, second)]
    assert pictures == [None, ids[0], ids[0], ids[1], ids[1], None]
    data = bus.received[1]["data"]
    assert (data["equipment_id"], data["number"], data["name"]) == (
        ref,
        asset["number"],
        "Feed pump 4",
    )
    assert (data["filename"], data["kind"], data["uploader_id"]) == ("front.jpg", "image", me)
    assert data["link"] == f"/api/attachments/{first.attachment_id}"
    assert len(json.dumps(bus.received[1])) < 3000, "metadata and a link, never the file"

    history = (await api.get(f"/api/equipment/{ref}/history", headers=admin.headers)).json()
    actions = [h["action"] for h in history["items"]]
    assert actions[:6] == ["attachment_removed"] * 3 + ["attachment_added"] * 3
    added_front = history["items"][4]
    assert added_front["changes"]["attachment"]["filename"] == "front.jpg"
    assert added_front["changes"]["picture"] == [None, ids[0]]
    assert added_front["actor_id"] == me


async def test_a_removal_before_its_addition_and_foreign_records_change_nothing(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin = await register(api)
    other = await register(api, "other")
    asset = await _asset(api, admin, model="EM3770T")
    theirs = await _asset(api, other, model="EM3770T")
    me = admin.user["id"]
    nc = await nats.connect(services.env.nats_url)
    bus = Events_(services, nc, admin.user["org_id"])
    await bus.listen()
    try:
        early = _added(asset["id"], me)
        gone = await bus.publish(_removed(early, me))  # the removal overtook its addition
        await until(lambda: _in_inbox(services, "assets-attachments-removed", gone))
        handled = [
            await bus.publish(_added(theirs["id"], me)),  # another organization's asset
            await bus.publish(_added(str(uuid4()), me, record_kind=RecordKind.WORK_ORDER)),
            await bus.publish(early),
        ]
        marker = _added(asset["id"], me, kind=AttachmentKind.PDF, filename="marker.pdf")
        await bus.publish(marker)
        await bus.wait(1)
        for event_id in handled:
            await until(lambda e=event_id: _in_inbox(services, "assets-attachments-added", e))
        seen = await _get(api, admin, asset["id"])
        assert seen["attachment_count"] == 1
        assert seen["picture"] is None, "the removed image never became the picture"
        assert [e["data"]["attachment_id"] for e in bus.received] == [str(marker.attachment_id)]
        assert (await _get(api, other, theirs["id"]))["attachment_count"] == 0
    finally:
        await nc.close()


async def _in_inbox(services: ServiceSet, consumer: str, event_id: UUID) -> bool:
    """Whether ``consumer`` has handled ``event_id`` (the service's own inbox table)."""
    async with services.runtimes["assets"].db.transaction() as conn:
        found = await conn.scalar(
            text("SELECT 1 FROM inbox WHERE consumer = :c AND event_id = :e"),
            {"c": consumer, "e": event_id},
        )
    return found is not None


async def _attach(
    api: httpx.AsyncClient, who: Session, ref: str, data: bytes, filename: str
) -> dict[str, Any]:
    answer = await api.post(
        f"/api/equipment/{ref}/attachments",
        files={"file": (filename, data)},
        headers=who.headers,
    )
    assert answer.status_code == 201, answer.text
    attachment: dict[str, Any] = answer.json()
    return attachment


async def _counted(api: httpx.AsyncClient, who: Session, ref: str, count: int) -> dict[str, Any]:
    found: dict[str, Any] = {}

    async def done() -> bool:
        found.update(await _get(api, who, ref))
        return bool(found["attachment_count"] == count)

    await until(done, what=f"{count} attachments on {ref}")
    return found


async def test_choosing_the_picture(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    tech = await invite_member(api, admin, "technician")
    viewer = await invite_member(api, admin, "viewer")
    stranger = await register(api, "stranger")
    asset = await _asset(api, admin, model="CD3450", name="Conveyor drive")
    other = await _asset(api, admin, manufacturer="Siemens", model="1LE1003")
    foreign = await _asset(api, stranger, model="CD3450")
    number = asset["number"]
    first = await _attach(api, tech, number, jpeg(), "front.jpg")
    pdf = await _attach(api, tech, number, PDF, "manual.pdf")
    second = await _attach(api, tech, number, jpeg(colour=(200, 40, 40)), "side.jpg")
    elsewhere = await _attach(api, tech, other["id"], jpeg(), "other.jpg")
    theirs = await _attach(api, stranger, foreign["id"], jpeg(), "theirs.jpg")
    seen = await _counted(api, tech, number, 3)
    assert _picture_id(seen) == first["id"], "the first image attached"
    picture = seen["picture"]
    assert (picture["filename"], picture["content_type"]) == ("front.jpg", "image/jpeg")
    assert (picture["width"], picture["height"]) == (640, 480)
    thumb = await api.get(picture["thumbnail"], headers=viewer.headers)
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"
    await _counted(api, admin, other["id"], 1)
    await _counted(api, stranger, foreign["id"], 1)

    url = f"/api/equipment/{number}/picture"
    chosen = await api.put(url, json={"attachment_id": second["id"]}, headers=tech.headers)
    assert chosen.status_code == 200, chosen.text
    assert _picture_id(chosen.json()) == second["id"]
    assert chosen.json()["version"] == asset["version"], "a picture is not an edit"
    listed = await api.get("/api/equipment", params={"limit": 200}, headers=viewer.headers)
    row = next(a for a in listed.json()["items"] if a["id"] == asset["id"])
    assert (_picture_id(row), row["attachment_count"]) == (second["id"], 3)

    refused = {
        "viewer": await api.put(url, json={"attachment_id": first["id"]}, headers=viewer.headers),
        "pdf": await api.put(url, json={"attachment_id": pdf["id"]}, headers=tech.headers),
        "elsewhere": await api.put(
            url, json={"attachment_id": elsewhere["id"]}, headers=tech.headers
        ),
        "theirs": await api.put(url, json={"attachment_id": theirs["id"]}, headers=tech.headers),
        "unknown": await api.put(url, json={"attachment_id": str(uuid4())}, headers=tech.headers),
        "not a uuid": await api.put(url, json={"attachment_id": "front.jpg"}, headers=tech.headers),
        "no body": await api.put(url, json={}, headers=tech.headers),
        "their asset": await api.put(
            f"/api/equipment/{foreign['id']}/picture",
            json={"attachment_id": theirs["id"]},
            headers=tech.headers,
        ),
    }
    statuses = {name: answer.status_code for name, answer in refused.items()}
    assert statuses == {
        "viewer": 403,
        "pdf": 422,
        "elsewhere": 422,
        "theirs": 404,
        "unknown": 404,
        "not a uuid": 422,
        "no body": 422,
        "their asset": 404,
    }, {name: answer.text for name, answer in refused.items()}
    assert "not an image" in refused["pdf"].json()["error"]["message"]
    assert other["number"] in refused["elsewhere"].json()["error"]["message"]
    assert _picture_id(await _get(api, admin, number)) == second["id"]

    # removing the chosen picture brings back the newest remaining image
    gone = await api.delete(f"/api/attachments/{second['id']}", headers=tech.headers)
    assert gone.status_code == 200, gone.text
    seen = await _counted(api, tech, number, 2)
    assert _picture_id(seen) == first["id"]
    cleared = await api.put(url, json={"attachment_id": None}, headers=admin.headers)
    assert cleared.status_code == 200
    assert cleared.json()["picture"] is None
    history = (await api.get(f"/api/equipment/{number}/history", headers=admin.headers)).json()
    chosen_entries = [h for h in history["items"] if h["action"] == "picture_chosen"]
    assert [h["changes"]["picture"] for h in chosen_entries] == [
        [first["id"], None],
        [first["id"], second["id"]],
    ]
    assert chosen_entries[-1]["actor_id"] == tech.user["id"]
