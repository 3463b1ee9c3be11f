"""A work order's life in chat: guided creation, status buttons (with reasons where needed),
comments by reply, and a stale button refused because someone else changed the order."""

from typing import Any

import httpx
from telegram_testing.harness import link

from rivet_devstack.testing.helpers import invite_member


async def test_create_start_hold_resume_complete(admin: Any, rivet: Any) -> None:
    session, ana = admin
    pump = await rivet.asset(session, name="Chiller pump", serial="CH-1", location="Roof")
    await rivet.asset(session, manufacturer="ABB", model="ACS880", serial="V-1")

    await ana.say("/wo create")
    await ana.read("Which equipment?")
    await ana.say("baldr em3615 roof")  # a search, with typos
    choices = await ana.read("Which one?")
    await ana.press(choices, pump["number"])
    await ana.read("What is wrong?")
    await ana.say("Pump <trips> on overload & hums")
    urgency = await ana.read("How urgent")
    await ana.press(urgency, "high")
    card = await ana.read("Reply to this message")
    number = card["text"].split("<b>", 1)[1].split("</b>", 1)[0]
    assert number.startswith("WO-")
    assert "Pump &lt;trips&gt; on overload &amp; hums" in card["text"]
    order = await rivet.get(session, f"/api/work-orders/{number}")
    assert order["equipment"]["number"] == pump["number"]
    assert order["priority"] == "high"
    assert order["source"] == "telegram"
    assert order["requester_id"] == session.user["id"]

    await ana.press(card, "Start")
    started = await ana.read("🔧 in progress", methods=("editMessageText",))
    assert (await ana.answered()).params.get("text", "").startswith("Now")
    await ana.press(started, "Hold")
    await ana.read("Why is")
    await ana.say("no")  # too short
    await ana.read("at least 3 characters")
    await ana.say("waiting for a <seal> kit")
    await ana.read("is now ⏸ on hold")
    held = await ana.read("Reply to this message")
    await ana.press(held, "Resume")
    resumed = await ana.read("🔧 in progress", methods=("editMessageText",))
    await ana.press(resumed, "Complete")
    await ana.read("✅ completed", methods=("editMessageText",))

    order = await rivet.get(session, f"/api/work-orders/{number}")
    assert order["status"] == "completed"
    timeline = order["timeline"]
    moves = [(e["to_status"], e["body"], e["channel"]) for e in timeline if e["from_status"]]
    assert moves == [
        ("in_progress", None, "telegram"),
        ("on_hold", "waiting for a <seal> kit", "telegram"),
        ("in_progress", None, "telegram"),
        ("completed", None, "telegram"),
    ]


async def test_create_by_number_and_stop(admin: Any, rivet: Any) -> None:
    session, ana = admin
    pump = await rivet.asset(session, serial="N-1")
    await ana.say("/wo create")
    await ana.read("Which equipment?")
    await ana.say("EQ-1999-000009")
    await ana.read("No EQ-1999-000009 here")
    await ana.say(pump["number"])
    prompt = await ana.read("What is wrong?")
    await ana.press(prompt, "Stop")
    await ana.read("Nothing was created", methods=("editMessageText",))
    await ana.say("Not a title any more")
    await ana.read("I didn't catch that")
    orders = await rivet.get(session, "/api/work-orders")
    assert orders["items"] == []


async def test_take_cancel_comment_and_stale_button(
    api: httpx.AsyncClient, admin: Any, rivet: Any, running: Any
) -> None:
    session, _ana = admin
    tech = await invite_member(api, session, "technician")
    tom = running.person("Tom")
    await link(api, tom, tech)
    asset = await rivet.asset(session, serial="T-1")
    order = await rivet.order(session, asset["number"], title="Check belts")

    await tom.say(f"/wo view {order['number']}")
    card = await tom.read("Reply to this message")
    await tom.press(card, "Take it")
    taken = await tom.read("Assignee: Member", methods=("editMessageText",))

    await tom.say("Belt <B> is worn & cracked", reply_to=taken)
    await tom.read(f"Comment added to <b>{order['number']}</b>")
    timeline = (await rivet.get(session, f"/api/work-orders/{order['number']}"))["timeline"]
    comments = [e for e in timeline if e["kind"] == "comment"]
    assert [(c["body"], c["channel"]) for c in comments] == [
        ("Belt <B> is worn & cracked", "telegram")
    ]

    patched = await api.patch(
        f"/api/work-orders/{order['number']}",
        json={"status": "in_progress"},
        headers=session.headers,
    )
    assert patched.status_code == 200
    await tom.press(taken, "Start")  # the card is stale: the order moved meanwhile
    refused = await tom.answered()
    assert refused.params["text"].startswith("Not changed")
    await tom.read("🔧 in progress", methods=("editMessageText",))  # the card now shows the truth

    await tom.say(f"/wo {order['number']}")
    fresh = await tom.read("Reply to this message")
    await tom.press(fresh, "Cancel")
    await tom.read("Why cancel")
    await tom.say("duplicate of another order")
    await tom.read("is now ✖️ cancelled")
    final = await rivet.get(session, f"/api/work-orders/{order['number']}")
    assert final["status"] == "cancelled"
    assert final["timeline"][-1]["body"] == "duplicate of another order"
