"""A work order's checklist from its card: items ticked, answered pass or fail, a reading typed
after a button (out of limits marked); completing with required items open refused with the
service's reason, and an admin's override with a reason; viewers see the checklist only."""

from typing import Any

import httpx
from telegram_testing.harness import link

from rivet_devstack.testing.helpers import invite_member
from rivet_telegram.bot.errors import OOPS

CHECKLIST = [
    {"text": "Lock out the drive", "required": True},
    {"text": "Seal dry", "kind": "pass_fail"},
    {"text": "Vibration <DE>", "kind": "number", "required": True, "low": 0, "high": 3.5,
     "unit": "mm/s"},
    {"text": "Guard back on", "required": True},
]  # fmt: skip


def labels(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]


async def test_a_technician_works_through_the_checklist(
    api: httpx.AsyncClient, admin: Any, rivet: Any, running: Any
) -> None:
    session, _ana = admin
    tech = await invite_member(api, session, "technician")
    tom = running.person("Tom")
    await link(api, tom, tech)
    asset = await rivet.asset(session, serial="CL-1")
    order = await rivet.order(
        session, asset["number"], checklist=CHECKLIST, assignee_id=tech.user["id"]
    )
    number = order["number"]

    await tom.say(f"/wo view {number}")
    card = await tom.read("📋 <b>Checklist</b> 0/4 done · ❗ <b>3 required still open</b>")
    assert "⬜ 3. Vibration &lt;DE&gt; (0 to 3.5 mm/s) · <i>required</i>" in card["text"]
    assert labels(card)[:5] == [
        "☑️ 1. Lock out the drive",
        "👍 2. Pass",
        "👎 2. Fail",
        "🔢 3. Vibration <DE>",
        "☑️ 4. Guard back on",
    ]
    await tom.press(card, "Start")
    card = await tom.read("🔧 in progress", methods=("editMessageText",))

    await tom.press(card, "Complete")  # three required items are open
    assert (await tom.answered()).params["text"].startswith("Not completed: 3 required")
    refused = await tom.read("was not completed")
    assert "3 required checklist items are not done: 1 (Lock out the drive)" in refused["text"]
    assert "only an admin can complete it" in refused["text"]
    assert refused.get("reply_markup") is None  # no override for a technician

    await tom.press(card, "☑️ 1.")
    card = await tom.read("✅ 1. Lock out the drive", methods=("editMessageText",))
    await tom.press(card, "👎 2.")
    card = await tom.read("❌ 2. Seal dry: <b>fail</b>", methods=("editMessageText",))
    await tom.press(card, "🔢 3.")
    await tom.read("Good: 0 to 3.5 mm/s")
    await tom.say("loud")
    await tom.read("That is not a reading")
    await tom.say("4,2 bolts <loose>")
    recorded = await tom.read("📋 Recorded on")
    assert "3. Vibration &lt;DE&gt;: <b>4.2 mm/s</b> ⚠️ <b>out of limits</b>" in recorded["text"]
    card = await tom.read("Reply to this message")
    assert "⚠️ 3. Vibration &lt;DE&gt;: <b>4.2 mm/s</b> <b>out of limits</b>" in card["text"]
    assert "💬 bolts &lt;loose&gt;" in card["text"]
    assert labels(card)[0] == "☑️ 4. Guard back on"
    await tom.press(card, "☑️ 4.")
    card = await tom.read("📋 <b>Checklist</b> 4/4 done", methods=("editMessageText",))
    assert "required still open" not in card["text"]
    await tom.press(card, "Complete")
    await tom.read("✅ completed", methods=("editMessageText",))

    final = await rivet.get(session, f"/api/work-orders/{number}")
    assert final["status"] == "completed"
    results = [(i["done"], i["result"], i["out_of_limits"]) for i in final["checklist"]]
    assert results == [(True, None, False), (True, "fail", False), (True, 4.2, True),
                       (True, None, False)]  # fmt: skip
    assert final["checklist"][2]["note"] == "bolts <loose>"
    checked = [e for e in final["timeline"] if e["kind"] == "checklist_item"]
    assert [e["channel"] for e in checked] == ["telegram"] * 4
    assert not [c for c in tom.received() if OOPS in c.text]


async def test_an_admin_completes_with_required_items_open_giving_a_reason(
    api: httpx.AsyncClient, admin: Any, rivet: Any, running: Any
) -> None:
    session, ana = admin
    asset = await rivet.asset(session, serial="CL-2")
    order = await rivet.order(session, asset["number"], checklist=CHECKLIST)
    number = order["number"]

    viewer = await invite_member(api, session, "viewer")
    vic = running.person("Vic")
    await link(api, vic, viewer)
    await vic.say(f"/wo {number}")
    seen = await vic.read("📋 <b>Checklist</b>")
    assert labels(seen) == ["🔄 Refresh"]

    await ana.say(f"/wo view {number}")
    card = await ana.read("Reply to this message")
    await ana.press(card, "Start")
    card = await ana.read("🔧 in progress", methods=("editMessageText",))
    await ana.press(card, "Complete")
    refused = await ana.read("was not completed")
    assert "3 required checklist items are not done" in refused["text"]
    await ana.press(refused, "Complete anyway")
    await ana.read(f"Why complete {number} with required checklist items open?")
    await ana.say("no")
    await ana.read("at least 3 characters")
    await ana.say("Vendor <signed> off by phone")
    await ana.read("is now ✅ completed")
    await ana.read("Reply to this message")

    final = await rivet.get(session, f"/api/work-orders/{number}")
    assert final["status"] == "completed"
    override = [e for e in final["timeline"] if e["kind"] == "checklist_override"]
    assert [(e["body"], e["changes"]["positions"]) for e in override] == [
        ("Vendor <signed> off by phone", [1, 3, 4])
    ]
    await ana.say(f"/wo view {number}")
    shown = await ana.read("Reply to this message")
    assert "completed it with 3 required item(s) open: Vendor &lt;signed&gt; off" in shown["text"]
    assert "☑️" not in "".join(labels(shown))  # a closed order's checklist has no buttons
