"""Photos and files on work orders from the chat, through the real attachments service: a reply
to the order's card or to a notification about it, the order in view, ``/scan`` (and its
button) for a nameplate instead, a photo with no order scanned and then attached instead, a
file with no order put on an order picked from a list; every refusal said plainly; the card's
count, timeline and *Files* button; the people on the order told who added what."""

import asyncio
import io
import time
from typing import Any

import httpx
import pytest
from PIL import Image
from telegram_testing.fake_api import Call
from telegram_testing.harness import Person, link

from rivet_devstack.testing.helpers import Session, invite_member

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PHOTO_SENT = ("sendPhoto",)


def pdf(size: int) -> bytes:
    """A PDF of about ``size`` bytes (the service sniffs the type from the first bytes)."""
    return PDF[:-6] + b"%" * max(0, size - len(PDF)) + b"\n%%EOF\n"


def jpeg(width: int = 1200, height: int = 900) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (180, 60, 40)).save(out, "JPEG")
    return out.getvalue()


def pixels(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


async def files_of(rivet: Any, who: Session, number: str) -> list[dict[str, Any]]:
    page = await rivet.get(who, f"/api/work-orders/{number}/attachments")
    items: list[dict[str, Any]] = page["items"]
    return items


async def counted(rivet: Any, who: Session, number: str, count: int) -> dict[str, Any]:
    """The order once its own count (kept from the attachments' events) says ``count``."""
    deadline = time.monotonic() + 20
    while True:
        order: dict[str, Any] = await rivet.get(who, f"/api/work-orders/{number}")
        if order["attachment_count"] == count or time.monotonic() > deadline:
            assert order["attachment_count"] == count
            return order
        await asyncio.sleep(0.2)


async def sent(person: Person, contains: str, method: str = "sendPhoto") -> Call:
    """The next photo or document the bot sent ``person`` whose caption holds ``contains``."""
    index, call = await person.fake.wait_for(
        lambda c: person._mine(c, (method,), contains), start=person.cursor
    )
    person.cursor = index + 1
    return call


async def card_of(person: Person, number: str) -> dict[str, Any]:
    await person.say(f"/wo view {number}")
    return await person.read("Reply to this message")


async def test_reply_to_card_and_to_notification_then_the_card_sends_the_files(
    api: httpx.AsyncClient, admin: Any, rivet: Any, running: Any
) -> None:
    session, ana = admin
    tech = await invite_member(api, session, "technician")
    tom = running.person("Tom")
    await link(api, tom, tech)
    asset = await rivet.asset(session, serial="AT-1")
    number = (await rivet.order(session, asset["number"], title="Oil leak"))["number"]
    assigned = await api.patch(
        f"/api/work-orders/{number}", json={"assignee_id": tech.user["id"]}, headers=session.headers
    )
    assert assigned.status_code == 200
    photo = jpeg()

    card = await card_of(ana, number)
    await ana.photo(photo, caption="Leak at the <flange>", reply_to=card)
    confirmed = await sent(ana, f"📎 Attached to <b>{number}</b>")
    assert "“Leak at the &lt;flange&gt;”" in confirmed.text
    assert "The order has 1 file now." in confirmed.text
    assert max(pixels(confirmed.files["photo"])) <= 256  # the thumbnail, not the photo
    [added] = await files_of(rivet, session, number)
    assert (added["caption"], added["kind"], added["uploader_id"]) == (
        "Leak at the <flange>",
        "image",
        session.user["id"],
    )
    assert added["filename"].startswith("photo-")
    assert added["filename"].endswith(".jpg")

    told = await tom.read(f"📎 <b>{number}</b> · Oil leak")
    assert f"<b>Ana Person</b> added a photo: {added['filename']}" in told["text"]
    assert "“Leak at the &lt;flange&gt;”" in told["text"]
    assert "The order has 1 file now." in told["text"]

    await tom.document(pdf(5000), "report.pdf", "application/pdf", "Vibration", reply_to=told)
    answer = await tom.read(f"📎 Attached to <b>{number}</b>: report.pdf")
    assert "The order has 2 files now." in answer["text"]
    assert not tom.received(PHOTO_SENT)  # a PDF has no thumbnail
    heard = await ana.read(f"📎 <b>{number}</b>")
    assert "added a PDF: report.pdf" in heard["text"]
    assert "“Vibration”" in heard["text"]
    assert not [c for c in tom.received() if "added a PDF" in c.text]  # not of his own file

    await counted(rivet, session, number, 2)
    card = await card_of(ana, number)
    assert "📎 2 files" in card["text"]
    assert f"added {added['filename']}" in card["text"]
    assert "added report.pdf" in card["text"]
    await ana.press(card, "📎 Files (2)")
    assert (await ana.answered()).params["text"] == "Sending 2 files…"
    image = await sent(ana, f"📎 <b>{number}</b> · {added['filename']}")
    assert "Leak at the &lt;flange&gt;" in image.text
    assert pixels(image.files["photo"]) == (1200, 900)  # the screen copy: at most 1600 px
    document = await sent(ana, f"📎 <b>{number}</b> · report.pdf", method="sendDocument")
    assert document.files["document"] == pdf(5000)
    assert document.params["document"] == "report.pdf"


async def test_a_file_with_no_order_goes_on_the_one_picked(
    api: httpx.AsyncClient, admin: Any, rivet: Any, running: Any
) -> None:
    session, ana = admin
    asset = await rivet.asset(session, serial="AT-2")
    first = await rivet.order(session, asset["number"], title="Belt squeal")
    second = await rivet.order(session, asset["number"], title="Guard loose")

    await ana.document(pdf(3000), "manual.pdf", "application/pdf")
    choices = await ana.read("📎 Which work order is <b>manual.pdf</b> for?")
    labels = [b["text"] for row in choices["reply_markup"]["inline_keyboard"] for b in row]
    assert any(second["number"] in label for label in labels)
    assert any(first["number"] in label for label in labels)
    await ana.press(choices, second["number"])
    await ana.read(f"manual.pdf → <b>{second['number']}</b>", methods=("editMessageText",))
    await ana.read(f"📎 Attached to <b>{second['number']}</b>: manual.pdf")
    assert [f["filename"] for f in await files_of(rivet, session, second["number"])] == [
        "manual.pdf"
    ]
    assert await files_of(rivet, session, first["number"]) == []

    await ana.press_data(choices, choices["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    refused = await ana.answered()
    assert refused.params["text"] == "That file is no longer kept here; send it again."

    await ana.document(pdf(3000), "other.pdf", "application/pdf")  # the order is in view now
    await ana.read(f"📎 Attached to <b>{second['number']}</b>: other.pdf")
    await ana.say("/cancel")
    await ana.read(f"Photos and files no longer go on {second['number']}")
    await ana.document(pdf(3000), "third.pdf", "application/pdf")
    await ana.read("📎 Which work order is <b>third.pdf</b> for?")


async def test_refusals_are_said_plainly(
    api: httpx.AsyncClient, admin: Any, rivet: Any, running: Any
) -> None:
    session, ana = admin
    viewer = await invite_member(api, session, "viewer")
    vic = running.person("Vic")
    await link(api, vic, viewer)
    asset = await rivet.asset(session, serial="AT-3")
    number = (await rivet.order(session, asset["number"], title="Pump cavitation"))["number"]

    seen = await card_of(vic, number)
    await vic.photo(jpeg(), reply_to=seen)
    await vic.read("🔒 Viewers cannot add files to work orders")

    card = await card_of(ana, number)
    await ana.document(b"MZ\x90\x00" + b"\x00" * 200, "tool.exe", "application/x-msdownload",
                       reply_to=card)  # fmt: skip
    refused = await ana.read(f"❌ Not attached to <b>{number}</b>: I can attach photos")
    assert "accepted are photos" in refused["text"]  # the service's reason

    await ana.document(pdf(1_200_000), "big.pdf", "application/pdf", reply_to=card)
    too_big = await ana.read(f"❌ Not attached to <b>{number}</b>: the file is too large")
    assert "1000000" in too_big["text"]  # the service's limit in its words

    huge = {"file_id": "never-fetched", "file_unique_id": "huge", "file_name": "scan.pdf",
            "mime_type": "application/pdf", "file_size": 21 * 1024 * 1024}  # fmt: skip
    await ana.fake.push(ana.update(document=huge, reply_to_message=card))
    await ana.read("Telegram lets me fetch files up to 20 MB")

    for index in range(3):  # the test organization's quota is 3,000,000 bytes
        await ana.document(pdf(950_000), f"part{index}.pdf", "application/pdf", reply_to=card)
        await ana.read(f"📎 Attached to <b>{number}</b>: part{index}.pdf")
    await ana.document(pdf(950_000), "part3.pdf", "application/pdf", reply_to=card)
    full = await ana.read(f"❌ Not attached to <b>{number}</b>: your organization's file storage")
    assert "quota" in full["text"]

    forged = {**card, "text": "<b>WO-2026-999999</b> · open", "message_id": card["message_id"]}
    await ana.photo(jpeg(), reply_to=forged)
    await ana.read("❌ <b>WO-2026-999999</b> is not there any more")
    names = sorted(f["filename"] for f in await files_of(rivet, session, number))
    assert names == ["part0.pdf", "part1.pdf", "part2.pdf"]


@pytest.mark.slow
async def test_scan_is_explicit_and_a_scanned_photo_can_go_on_an_order(
    admin: Any, rivet: Any, nameplate: bytes
) -> None:
    session, ana = admin
    asset = await rivet.asset(session, manufacturer="ABB", model="M2BAX", serial="AT-4")
    number = (await rivet.order(session, asset["number"], title="Motor hot"))["number"]

    await card_of(ana, number)
    await ana.photo(jpeg(), caption="Hot spot")  # no reply: the order in view takes it
    await sent(ana, f"📎 Attached to <b>{number}</b>")

    await ana.say("/scan")
    await ana.read("📷 Send the nameplate photo now")
    await ana.say("/cancel")
    await ana.read("Stopped")
    await ana.say("/equip list")
    listed = await ana.read("Equipment")
    await ana.press(listed, "📷 Scan a nameplate")
    await ana.read("📷 Send the nameplate photo now")
    await ana.photo(nameplate, caption="Bay 7")
    created = await ana.read("✅ Created", methods=("editMessageText",), timeout=60)
    labels = [b["text"] for row in created["reply_markup"]["inline_keyboard"] for b in row]
    assert "📎 Attach to an order instead" not in labels  # asked for a scan
    assert len(await files_of(rivet, session, number)) == 1

    await ana.photo(nameplate)  # no order in view any more (/scan left it): a scan, as ever
    matched = await ana.read("🔁 Matched", methods=("editMessageText",), timeout=60)
    await ana.press(matched, "Attach to an order instead")
    choices = await ana.read("📎 Which work order is")
    await ana.press(choices, number)
    confirmed = await sent(ana, f"📎 Attached to <b>{number}</b>")
    assert "The order has 2 files now." in confirmed.text
    items = await files_of(rivet, session, number)
    assert [i["caption"] for i in items] == ["Hot spot", None]
    photo = await rivet.api.get(
        f"/api/attachments/{items[1]['id']}/content", headers=session.headers
    )
    assert photo.status_code == 200
    assert pixels(photo.content) == pixels(nameplate)  # the scanned photo itself, not re-sent


async def test_the_equipment_card_comes_with_the_asset_s_picture(admin: Any, rivet: Any) -> None:
    session, ana = admin
    asset = await rivet.asset(session, serial="AT-5", name="Feed pump")
    number = asset["number"]
    await ana.say(f"/equip view {number}")
    await ana.read(f"🏭 <b>{number}</b> · Feed pump")
    assert not ana.received(PHOTO_SENT)  # no picture yet

    added = await rivet.api.post(
        f"/api/equipment/{number}/attachments",
        files={"file": ("pump.jpg", jpeg(2000, 1000), "image/jpeg")},
        headers=session.headers,
    )
    assert added.status_code == 201, added.text
    deadline = time.monotonic() + 20
    while (await rivet.get(session, f"/api/equipment/{number}")).get("picture") is None:
        assert time.monotonic() < deadline, "the asset never got its picture"
        await asyncio.sleep(0.2)

    await ana.say(f"/equip view {number}")
    picture = await sent(ana, f"🏭 <b>{number}</b>")
    assert "🖼 pump.jpg" in picture.text
    assert pixels(picture.files["photo"]) == (1600, 800)  # the screen copy
    card = await ana.read(f"🏭 <b>{number}</b> · Feed pump")
    assert "📎 1 file" in card["text"]
