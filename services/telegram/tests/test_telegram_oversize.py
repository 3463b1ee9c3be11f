"""Text longer than Rivet's contracts allow, sent to every command and every step that waits
for typed text: the bot refuses it and names the limit (or cuts or ignores it where that is its
own rule), never answers with its apology for a failure, and goes on handling updates.

300 characters is just over the 200 of a search text or a title and the 64 of a reference;
5,000 is over everything the bot puts into a request except a comment (Telegram itself stops a
message at 4,096)."""

import io
import logging
import uuid
from typing import Any

import pytest
from PIL import Image

from rivet_telegram.bot import errors
from rivet_telegram.bot.callbacks import ScanCb
from rivet_telegram.bot.errors import OOPS
from rivet_telegram.render.help import BAD_CODE

SIZES = (300, 5000)
LIMIT = 4096
"""Telegram's limit for a message: the bot never answers with more (nor echoes the input)."""


def long_text(size: int) -> str:
    """``size`` characters of words, with characters that must be escaped in HTML."""
    return ("Pump <4> & noise " * size)[: size - 1] + "!"


class Chat:
    """One person's conversation, checking each answer and collecting every mismatch, so that
    one run shows every input that is handled wrongly."""

    def __init__(self, person: Any) -> None:
        self.person = person
        self.problems: list[str] = []

    async def expect(self, sent: str, *wanted: str, reply_to: Any = None) -> dict[str, Any]:
        """Send ``sent``; the bot's next message must contain everything in ``wanted``."""
        await self.person.say(sent, reply_to=reply_to)
        answer: dict[str, Any] = await self.person.read()
        self.check(f"{sent[:40]!r}… ({len(sent)} chars)", answer["text"], wanted)
        return answer

    def check(self, what: str, text: str, wanted: tuple[str, ...]) -> None:
        missing = [w for w in wanted if w not in text]
        if OOPS in text or missing:
            self.problems.append(f"{what}: answered {text[:160]!r}, wanted {wanted!r}")

    def done(self) -> None:
        for call in self.person.received():
            if OOPS in call.text or len(call.text) > LIMIT:
                self.problems.append(f"sent {call.text[:100]!r} ({len(call.text)} chars)")
        assert not self.problems, "\n".join(self.problems)


def too_long(what: str, limit: int) -> str:
    return f"Too long: {what} may have at most {limit} characters"


async def test_oversize_text_is_refused_with_its_limit_everywhere(
    admin: Any, rivet: Any, running: Any, maintenance: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=errors.__name__)
    session, ana = admin
    asset = await rivet.asset(session, name="Feed pump", serial="OS-1")
    await maintenance.meter(session, asset["number"], "Operating hours", "h")
    order = await rivet.order(session, asset["number"], title="Bearing noise")
    chat = Chat(ana)

    for size in SIZES:
        text = long_text(size)
        # Commands with an argument: refused when the argument goes into a request...
        await chat.expect(f"/equip search {text}", too_long("the search text", 200))
        await chat.expect(f"/equip {text}", too_long("the search text", 200))
        await chat.expect(f"/equip view {text}", too_long("the equipment number", 64))
        await chat.expect(f"/wo view {text}", too_long("the work order number", 64))
        # ... ignored where the bot does not use it.
        await chat.expect(f"/wo list {text}", "Assigned to you")
        await chat.expect(f"/wo {text}", "Use <code>/wo list</code>")
        await chat.expect(f"/stats {text}", "Work orders:")
        await chat.expect(f"/help {text}", "/wo create")
        await chat.expect(f"/cancel {text}", "Nothing to stop")
        await chat.expect(f"/frobnicate {text}", "I didn't catch that")
        await chat.expect(f"/start {text}", BAD_CODE)  # a link code has 16-512 characters
        await chat.expect(f"/reading {text}", "Usage: <code>/reading")  # no value in it
        await chat.expect(
            f"/reading {text.replace(' ', '')} 12", too_long("the equipment number", 64)
        )
        # A meter's name is only matched against the asset's meters: said back clipped.
        await chat.expect(f"/reading {asset['number']} 12 {text}", "has no meter “Pump &lt;4&gt;")
        await chat.expect(text, "I didn't catch that")

        # The value a meter's button asks for: not a number, or over the contract's range.
        await ana.say(f"/equip view {asset['number']}")
        meters = await ana.read("📟 <b>Meters</b>")
        await ana.press(meters, "Record a reading")
        await ana.read("Send the reading now")
        await chat.expect(text, "That is not a reading")
        await chat.expect(f"1e13 {text}", "Out of range: the value must be at most")
        await chat.expect("/cancel", "Stopped")

        # A comment (a reply to the card) is cut at the comment's 5,000 characters.
        await ana.say(f"/wo view {order['number']}")
        card = await ana.read("Reply to this message")
        await chat.expect(text, f"Comment added to <b>{order['number']}</b>", reply_to=card)

        # /wo create: the search text is refused (the flow waits on), the title is clipped.
        await chat.expect("/wo create", "Which equipment?")
        await chat.expect(text, too_long("the search text", 200))
        await chat.expect(asset["number"], "What is wrong?")
        urgency = await chat.expect(text, "How urgent")
        await ana.press(urgency, "low")
        created = await ana.read("Reply to this message")
        number = created["text"].split("<b>", 1)[1].split("</b>", 1)[0]
        title = (await rivet.get(session, f"/api/work-orders/{number}"))["title"]
        chat.check("the title, clipped", f"{len(title)} {title[-1]}", ("200 …",))

        # A scan correction: each field's own limit (the fix button needs no scan to exist).
        await ana.press_data(created, ScanCb(action="fix", scan=uuid.uuid4().hex).pack())
        await ana.read("Send the right values")
        await chat.expect(f"serial: {text}", too_long("the serial", 100))
        await chat.expect(f"location: {text}", too_long("the location", 200))
        await chat.expect(f"model: X\nname: {text}", too_long("the name", 200))
        await chat.expect("/cancel", "Stopped")

    # A reason (hold, cancel, reopen) has 3-1,000 characters: longer is refused, the question
    # stays open, and a reason that fits is then taken.
    await ana.say(f"/wo view {order['number']}")
    card = await ana.read("Reply to this message")
    await ana.press(card, "Cancel")
    await ana.read("Why cancel")
    for size in (1001, 5000):
        await chat.expect(long_text(size), too_long("the reason", 1000))
    cancelled = await chat.expect("a duplicate of another order", "is now ✖️ cancelled")
    if "is now" in cancelled["text"]:
        await ana.read("Reply to this message")  # then the order's new card
    final = await rivet.get(session, f"/api/work-orders/{order['number']}")
    comments = [len(e["body"]) for e in final["timeline"] if e["kind"] == "comment"]
    chat.check("the comments' lengths", repr(comments), ("[300, 5000]",))
    chat.check("the reason", final["timeline"][-1]["body"] or "", ("a duplicate",))

    # A checklist reading's note (1,000 characters), and an admin's reason for completing with
    # required items open (1,000): refused with the limit, the question stays open.
    checked = await rivet.order(
        session,
        asset["number"],
        title="Vibration round",
        checklist=[{"text": "Vibration", "kind": "number"}, {"text": "Guard", "required": True}],
    )
    await ana.say(f"/wo view {checked['number']}")
    card = await ana.read("Reply to this message")
    await ana.press(card, "🔢 1.")
    await ana.read("Send the reading")
    for size in (1001, 5000):
        await chat.expect(f"4.2 {long_text(size)}", too_long("the note", 1000))
    await chat.expect(long_text(300), "That is not a reading")
    await chat.expect("4.2 fine", "📋 Recorded on")
    card = await ana.read("Reply to this message")
    await ana.press(card, "Start")
    card = await ana.read("🔧 in progress", methods=("editMessageText",))
    await ana.press(card, "Complete")
    refused = await ana.read("was not completed")
    await ana.press(refused, "Complete anyway")
    await ana.read("Why complete")
    for size in (1001, 5000):
        await chat.expect(long_text(size), too_long("the override reason", 1000))
    await chat.expect("The guard is on order", "is now ✅ completed")
    await ana.read("Reply to this message")

    # Within the contract but refused by the service: shown as the service worded it.
    await chat.expect("/equip view pump-7", "⚠️ give an asset id or an equipment number")

    # Someone not linked yet: the link code and anything else.
    stranger = Chat(running.person("Sam"))
    for size in SIZES:
        await stranger.expect(f"/start {long_text(size)}", BAD_CODE)
        await stranger.expect(long_text(size), "I don't know you yet")
        await stranger.expect(f"/wo view {long_text(size)}", "I don't know you yet")

    await chat.expect("/help", "/wo create")  # the update loop goes on
    chat.done()
    stranger.done()
    logged = [r for r in caplog.records if r.name == errors.__name__]
    assert [r.getMessage() for r in logged if r.levelno >= logging.WARNING] == []
    refusals = [r.getMessage() for r in logged if "refused by" in r.getMessage()]
    assert any("SearchEquipment: [('query', 'string_too_long')]" in m for m in refusals)
    assert not any("Pump" in m for m in refusals)  # the user's text stays out of the log


@pytest.mark.slow
async def test_an_oversize_photo_caption_is_clipped_to_the_location_limit(
    admin: Any, rivet: Any
) -> None:
    session, ana = admin
    blank = io.BytesIO()
    image = Image.new("RGB", (900, 600), (40, 90, 160))
    image.paste((230, 230, 230), (100, 100, 800, 500))
    image.save(blank, "JPEG")
    await ana.photo(blank.getvalue(), caption=long_text(1024))  # Telegram's caption limit
    outcome = await ana.read("Please check what I read", methods=("editMessageText",), timeout=60)
    await ana.press(outcome, "Correct")
    await ana.read("Send the right values")
    await ana.say("manufacturer: Baldor")
    created = await ana.read("✅ Created", timeout=60)
    number = created["text"].split("<b>", 1)[1].split("</b>", 1)[0]
    location = (await rivet.get(session, f"/api/equipment/{number}"))["location"]
    assert location == long_text(1024)[:199].rstrip() + "…"
    await ana.say("/help")
    await ana.read("/wo create")
    assert not [c for c in ana.received() if OOPS in c.text]
