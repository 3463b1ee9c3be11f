"""Nameplate photos in chat: photo -> upload store -> OCR -> asset, with progress edits, the
caption as the location, the same plate sent as a file matched to the same asset, and an
unreadable plate corrected by hand."""

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

pytestmark = pytest.mark.slow

TRUTH = Path(__file__).parents[2] / "ocr" / "tests" / "fixtures" / "np_011_clean.json"


async def test_photo_becomes_an_asset_and_a_file_of_it_matches(
    admin: Any, rivet: Any, nameplate: bytes
) -> None:
    truth = json.loads(TRUTH.read_text())["fields"]
    session, ana = admin
    await ana.photo(nameplate, caption="Compressor <room> 2")
    await ana.read("Reading the nameplate")
    created = await ana.read("✅ Created", methods=("editMessageText",), timeout=60)
    number = created["text"].split("<b>", 1)[1].split("</b>", 1)[0]
    assert truth["serial"] in created["text"]
    assert "📍 Compressor &lt;room&gt; 2" in created["text"]
    asset = await rivet.get(session, f"/api/equipment/{number}")
    assert asset["serial"] == truth["serial"]
    assert asset["location"] == "Compressor <room> 2"
    assert asset["source"] == "nameplate"

    await ana.photo(nameplate, as_file=True)
    matched = await ana.read("🔁 Matched", methods=("editMessageText",), timeout=60)
    assert f"<b>{number}</b>" in matched["text"]
    listed = await rivet.get(session, "/api/equipment")
    assert listed["total"] == 1

    await ana.press(matched, "New work order")
    await ana.read("What is wrong?")
    await ana.say("Oil leak")
    urgency = await ana.read("How urgent")
    await ana.press(urgency, "medium")
    card = await ana.read("Reply to this message")
    assert number in card["text"]


async def test_unreadable_plate_is_corrected_by_hand(admin: Any, rivet: Any) -> None:
    session, ana = admin
    blank = io.BytesIO()
    image = Image.new("RGB", (900, 600), (40, 90, 160))
    image.paste((230, 230, 230), (100, 100, 800, 500))
    image.save(blank, "JPEG")
    await ana.photo(blank.getvalue())
    outcome = await ana.read("Please check what I read", methods=("editMessageText",), timeout=60)
    assert "Manufacturer: —" in outcome["text"]
    labels = {b["text"] for row in outcome["reply_markup"]["inline_keyboard"] for b in row}
    # nothing to confirm without a manufacturer; a photo sent with no order may go on one
    assert labels == {"✏️ Correct", "📎 Attach to an order instead"}
    assert (await rivet.get(session, "/api/equipment"))["total"] == 0
    await ana.press(outcome, "Correct")
    await ana.read("Send the right values")
    await ana.say("manufacturer: Baldor\nmodel: EM3615T\nserial: Z-99\nlocation: Bay <4>")
    created = await ana.read("✅ Created", timeout=60)
    number = created["text"].split("<b>", 1)[1].split("</b>", 1)[0]
    asset = await rivet.get(session, f"/api/equipment/{number}")
    assert (asset["manufacturer"], asset["serial"], asset["location"]) == (
        "Baldor",
        "Z-99",
        "Bay <4>",
    )
