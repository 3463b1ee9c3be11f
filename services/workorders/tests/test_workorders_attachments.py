"""The attachments service's events on work orders: the order's count and timeline, and the
order's own ``wo.attachment_added`` / ``wo.attachment_removed``, once per event."""

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import nats
from nats.aio.client import Client

from rivet_contracts import EventEnvelope, Events, Identity, Role, attachments
from rivet_contracts.attachments import (
    AttachmentAdded,
    AttachmentKind,
    AttachmentRemoved,
    RecordKind,
)
from rivet_contracts.wire import Headers
from rivet_devstack.testing.env import TestEnv
from rivet_runtime.client import CallMeta

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _added(record_id: str, uploader: str, kind: RecordKind = RecordKind.WORK_ORDER) -> Any:
    attachment_id = uuid4()
    return AttachmentAdded(
        attachment_id=attachment_id,
        record_kind=kind,
        record_id=UUID(record_id),
        filename="gland.jpg",
        caption="leak at the gland",
        content_type="image/jpeg",
        kind=AttachmentKind.IMAGE,
        size_bytes=48_213,
        width=1600,
        height=1200,
        uploader_id=UUID(uploader),
        link=f"/api/attachments/{attachment_id}",
        created_at=datetime.now(UTC),
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


async def _publish(
    wo: Any, nc: Client, subject: str, envelope: EventEnvelope[Any], msg_id: str | None = None
) -> None:
    """The event on the namespaced ATTACHMENTS stream, as the attachments service publishes it;
    a different ``msg_id`` gets past JetStream's duplicate window (a redelivery)."""
    settings = wo.services.runtimes["workorders"].settings
    await nc.jetstream().publish(
        settings.subject(subject),
        envelope.model_dump_json().encode(),
        headers={Headers.MSG_ID: msg_id or str(envelope.event_id)},
    )


async def _count(wo: Any, who: Any, ref: str) -> int:
    order = await wo.get(who, f"/api/work-orders/{ref}")
    count: int = order["attachment_count"]
    return count


async def test_attachments_count_once_and_announce(wo: Any, test_env: TestEnv) -> None:
    team = await wo.team()
    asset = await wo.asset(team.admin, name="Feed pump 3")
    order = await wo.create(team.technician, asset["id"], title="Seal leaks")
    ref, me = order["id"], team.technician.user["id"]
    assert order["attachment_count"] == 0
    received: list[dict[str, Any]] = []
    nc = await nats.connect(test_env.nats_url)
    settings = wo.services.runtimes["workorders"].settings

    async def collect(msg: Any) -> None:
        received.append(json.loads(msg.data))

    for subject in (Events.WO_ATTACHMENT_ADDED, Events.WO_ATTACHMENT_REMOVED):
        await nc.subscribe(settings.subject(subject), cb=collect)
    try:
        added = _added(ref, me)
        envelope: EventEnvelope[Any] = EventEnvelope(
            type=Events.ATTACHMENT_ADDED, org_id=UUID(team.org_id), data=added
        )
        await _publish(wo, nc, Events.ATTACHMENT_ADDED, envelope)
        await _publish(wo, nc, Events.ATTACHMENT_ADDED, envelope, msg_id=str(uuid4()))
        await wo.until(lambda: len(received) >= 1, what="wo.attachment_added")
        # a second attachment, to know the redelivered first one has been handled before it
        second = _added(ref, me)
        later: EventEnvelope[Any] = EventEnvelope(
            type=Events.ATTACHMENT_ADDED, org_id=UUID(team.org_id), data=second
        )
        await _publish(wo, nc, Events.ATTACHMENT_ADDED, later)
        await wo.until(lambda: len(received) >= 2, what="the second wo.attachment_added")
        assert await _count(wo, team.viewer, ref) == 2
        for n, (gift, twice) in enumerate(((added, True), (second, False))):
            gone: EventEnvelope[Any] = EventEnvelope(
                type=Events.ATTACHMENT_REMOVED,
                org_id=UUID(team.org_id),
                data=_removed(gift, team.admin.user["id"]),
            )
            await _publish(wo, nc, Events.ATTACHMENT_REMOVED, gone)
            if twice:
                await _publish(wo, nc, Events.ATTACHMENT_REMOVED, gone, msg_id=str(uuid4()))
            await wo.until(lambda n=n: len(received) >= 3 + n, what="wo.attachment_removed")
        assert await _count(wo, team.viewer, ref) == 0
    finally:
        await nc.close()
    types = [e["type"] for e in received]
    assert types == ["wo.attachment_added"] * 2 + ["wo.attachment_removed"] * 2, types
    assert [e["data"]["attachment_count"] for e in received] == [1, 2, 1, 0]
    first = next(e for e in received if e["data"].get("attachment_id") == str(added.attachment_id))
    data = first["data"]
    assert first["org_id"] == team.org_id
    assert (data["work_order_id"], data["number"], data["title"]) == (
        ref,
        order["number"],
        "Seal leaks",
    )
    assert data["equipment_name"] == "Feed pump 3"
    assert data["filename"] == "gland.jpg"
    assert data["content_type"] == "image/jpeg"
    assert (data["kind"], data["size_bytes"], data["caption"]) == (
        "image",
        48_213,
        "leak at the gland",
    )
    assert data["uploader_id"] == me
    assert data["link"] == f"/api/attachments/{added.attachment_id}"
    assert data["attachment_count"] == 1
    assert "bytes" not in data
    removed = next(e for e in received if e["type"] == "wo.attachment_removed")["data"]
    assert removed["attachment_id"] == str(added.attachment_id)
    assert (removed["removed_by"], removed["attachment_count"]) == (team.admin.user["id"], 1)
    full = await wo.get(team.viewer, f"/api/work-orders/{ref}")
    kinds = [entry["kind"] for entry in full["timeline"]]
    assert kinds.count("attachment_added") == 2
    assert kinds.count("attachment_removed") == 2


async def test_removal_never_goes_below_zero_and_strangers_are_ignored(
    wo: Any, test_env: TestEnv
) -> None:
    team, other = await wo.team(), await wo.team()
    asset = await wo.asset(team.admin)
    order = await wo.create(team.technician, asset["id"])
    ref, me = order["id"], team.technician.user["id"]
    received: list[dict[str, Any]] = []
    nc = await nats.connect(test_env.nats_url)
    settings = wo.services.runtimes["workorders"].settings

    async def collect(msg: Any) -> None:
        received.append(json.loads(msg.data))

    for subject in (Events.WO_ATTACHMENT_ADDED, Events.WO_ATTACHMENT_REMOVED):
        await nc.subscribe(settings.subject(subject), cb=collect)
    try:
        org = UUID(team.org_id)
        ignored: list[EventEnvelope[Any]] = [
            # an order of another organization, an order that does not exist, an asset's file
            EventEnvelope(
                type=Events.ATTACHMENT_ADDED, org_id=UUID(other.org_id), data=_added(ref, me)
            ),
            EventEnvelope(type=Events.ATTACHMENT_ADDED, org_id=org, data=_added(str(uuid4()), me)),
            EventEnvelope(
                type=Events.ATTACHMENT_ADDED,
                org_id=org,
                data=_added(asset["id"], me, RecordKind.EQUIPMENT),
            ),
        ]
        for envelope in ignored:
            await _publish(wo, nc, Events.ATTACHMENT_ADDED, envelope)
        never = _removed(_added(ref, me), me)
        await _publish(
            wo,
            nc,
            Events.ATTACHMENT_REMOVED,
            EventEnvelope(type=Events.ATTACHMENT_REMOVED, org_id=org, data=never),
        )
        await wo.until(lambda: len(received) >= 1, what="wo.attachment_removed")
        # after the ignored ones (one consumer, in order): a real one still applies
        added = _added(ref, me)
        await _publish(
            wo,
            nc,
            Events.ATTACHMENT_ADDED,
            EventEnvelope(type=Events.ATTACHMENT_ADDED, org_id=org, data=added),
        )
        await wo.until(lambda: len(received) >= 2, what="wo.attachment_added")
    finally:
        await nc.close()
    assert [e["type"] for e in received] == ["wo.attachment_removed", "wo.attachment_added"]
    assert received[0]["data"]["attachment_count"] == 0
    assert received[1]["data"]["attachment_id"] == str(added.attachment_id)
    assert received[1]["data"]["attachment_count"] == 1
    assert await _count(wo, team.viewer, ref) == 1


async def test_a_file_added_through_the_attachments_service_is_counted(wo: Any) -> None:
    """End to end: the attachments service's own event moves the order's count."""
    team = await wo.team()
    asset = await wo.asset(team.admin)
    order = await wo.create(team.technician, asset["id"])
    ref, user = order["id"], team.technician.user
    who = Identity(user_id=user["id"], org_id=user["org_id"], role=Role(user["role"]))
    uploads = wo.services.runtimes["attachments"].state.uploads
    client = wo.services.runtimes["gateway"].client

    async def call(spec: Any, request: Any) -> Any:
        meta = CallMeta(who, f"test-{uuid4().hex[:8]}", "api")
        return await client.call(spec, request, meta, timeout=15)

    view = await call(
        attachments.ADD,
        attachments.AddAttachment(
            record_kind=RecordKind.WORK_ORDER,
            record_ref=order["number"],
            upload_key=await uploads.put(PDF, prefix="attachments"),
            filename="manual.pdf",
        ),
    )

    async def count_is(n: int) -> bool:
        return await _count(wo, team.viewer, ref) == n

    await wo.until(lambda: count_is(1), what="the count of the added file")
    await call(attachments.DELETE, attachments.DeleteAttachment(attachment_id=view.id))
    await wo.until(lambda: count_is(0), what="the count after the removal")
    full = await wo.get(team.viewer, f"/api/work-orders/{ref}")
    entries = [e for e in full["timeline"] if e["kind"].startswith("attachment_")]
    assert [(e["kind"], e["body"], e["author_id"]) for e in entries] == [
        ("attachment_added", "manual.pdf", user["id"]),
        ("attachment_removed", "manual.pdf", user["id"]),
    ]


async def test_a_removal_handled_before_its_addition_leaves_the_count_as_it_was(
    wo: Any, test_env: TestEnv
) -> None:
    """The two events of one file come through two consumers: a process killed with the
    addition in hand gets it again only after ``ack_wait``, so the removal may come first."""
    team = await wo.team()
    asset = await wo.asset(team.admin)
    order = await wo.create(team.technician, asset["id"])
    ref, me, org = order["id"], team.technician.user["id"], UUID(team.org_id)
    received: list[dict[str, Any]] = []
    nc = await nats.connect(test_env.nats_url)
    settings = wo.services.runtimes["workorders"].settings

    async def collect(msg: Any) -> None:
        received.append(json.loads(msg.data))

    for subject in (Events.WO_ATTACHMENT_ADDED, Events.WO_ATTACHMENT_REMOVED):
        await nc.subscribe(settings.subject(subject), cb=collect)
    try:
        late = _added(ref, me)
        gone = _removed(late, team.admin.user["id"])
        await _publish(
            wo,
            nc,
            Events.ATTACHMENT_REMOVED,
            EventEnvelope(type=Events.ATTACHMENT_REMOVED, org_id=org, data=gone),
        )
        await wo.until(lambda: len(received) >= 1, what="wo.attachment_removed")
        await _publish(
            wo,
            nc,
            Events.ATTACHMENT_ADDED,
            EventEnvelope(type=Events.ATTACHMENT_ADDED, org_id=org, data=late),
        )
        await wo.until(lambda: len(received) >= 2, what="wo.attachment_added")
        assert await _count(wo, team.viewer, ref) == 0
        kept = _added(ref, me)  # another file still counts
        await _publish(
            wo,
            nc,
            Events.ATTACHMENT_ADDED,
            EventEnvelope(type=Events.ATTACHMENT_ADDED, org_id=org, data=kept),
        )
        await wo.until(lambda: len(received) >= 3, what="the second wo.attachment_added")
    finally:
        await nc.close()
    assert [e["type"] for e in received] == [
        "wo.attachment_removed",
        "wo.attachment_added",
        "wo.attachment_added",
    ]
    assert [e["data"]["attachment_count"] for e in received] == [0, 0, 1]
    assert await _count(wo, team.viewer, ref) == 1
    full = await wo.get(team.viewer, f"/api/work-orders/{ref}")
    kinds = [entry["kind"] for entry in full["timeline"]]
    assert (kinds.count("attachment_added"), kinds.count("attachment_removed")) == (2, 1)
