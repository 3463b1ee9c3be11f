"""Notifications from work order events: the assignee and the requester hear about changes,
the person who made the change does not, and both hear when an open order's due date passes;
a 429 from Telegram delays a notification, never
drops it."""

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
from telegram_testing.harness import link

from rivet_devstack.testing.helpers import invite_member, register
from rivet_devstack.testing.services import ServiceSet


async def _team(api: httpx.AsyncClient, bot: Any, session: Any) -> tuple[Any, Any, Any, Any]:
    tech = await invite_member(api, session, "technician")
    tom = bot.person("Tom")
    await link(api, tom, tech)
    viewer = await invite_member(api, session, "viewer")
    vic = bot.person("Vic")
    await link(api, vic, viewer)
    return tech, tom, viewer, vic


async def test_assignee_and_requester_are_told_but_not_the_actor(
    api: httpx.AsyncClient, admin: Any, rivet: Any, running: Any
) -> None:
    session, ana = admin
    tech, tom, _viewer, vic = await _team(api, running, session)
    asset = await rivet.asset(session, name="Boiler feed", serial="NB-1")
    order = await rivet.order(session, asset["number"], title="Pressure <drops>")
    number = order["number"]

    assigned = await api.patch(
        f"/api/work-orders/{number}", json={"assignee_id": tech.user["id"]}, headers=session.headers
    )
    assert assigned.status_code == 200
    note = await tom.read("assigned it to <b>you</b>")
    assert f"<b>{number}</b> · Pressure &lt;drops&gt;" in note["text"]
    assert "Ana Person" in note["text"]

    await tom.press(note, f"Open {number}")
    card = await tom.read("Reply to this message")
    await tom.press(card, "Start")
    await tom.read("🔧 in progress", methods=("editMessageText",))
    told = await ana.read("moved it to <b>🔧 in progress</b>")
    assert "Member" in told["text"]
    assert "(was 🟦 open)" in told["text"]

    comment = await api.post(
        f"/api/work-orders/{number}/comments",
        json={"body": "Use the <new> gasket & check"},
        headers=session.headers,
    )
    assert comment.status_code == 201
    heard = await tom.read("Use the &lt;new&gt; gasket &amp; check")
    await tom.say("Done, gasket replaced", reply_to=heard)
    await tom.read("Comment added")
    answer = await ana.read("Done, gasket replaced")
    assert answer["text"].startswith("💬")

    await tom.press(card, "Complete")
    await tom.read("✅ completed", methods=("editMessageText",))
    await ana.read("moved it to <b>✅ completed</b>")

    tom_heard = [c.text for c in tom.received(("sendMessage",))]
    ana_heard = [c.text for c in ana.received(("sendMessage",))]
    assert not any(t.startswith("🔔") for t in tom_heard)  # Tom moved it himself
    assert sum("Done, gasket replaced" in t for t in tom_heard) == 0  # his own comment
    assert sum("gasket &amp; check" in t for t in ana_heard) == 0  # her own comment
    assert not any("assigned it" in t for t in ana_heard)  # she assigned it
    assert sum(t.startswith("🔔") for t in ana_heard) == 2
    assert vic.received(("sendMessage",))[1:] == []  # not involved: only the "Linked" reply


async def test_rate_limited_notification_is_delivered_after_the_wait(
    api: httpx.AsyncClient, bot: Any, rivet: Any
) -> None:
    await bot.start(telegram_retry_max_wait=0)  # every 429 goes to the notification outbox
    session = await register(api, "ana")
    ana = bot.person("Ana")
    await link(api, ana, session)
    tech, tom, _viewer, _vic = await _team(api, bot, session)
    asset = await rivet.asset(session, serial="RL-1")
    order = await rivet.order(session, asset["number"], title="Belt slips")

    bot.fake.throttle("sendMessage", 2, chat_id=tom.id)
    assigned = await api.patch(
        f"/api/work-orders/{order['number']}",
        json={"assignee_id": tech.user["id"]},
        headers=session.headers,
    )
    assert assigned.status_code == 200
    await tom.read("assigned it to <b>you</b>", timeout=30)
    attempts = [c for c in bot.fake.calls if c.method == "sendMessage" and c.chat_id == tom.id]
    refused, delivered = attempts[-2], attempts[-1]
    assert refused.status == 429
    assert delivered.status == 200
    assert refused.text == delivered.text
    assert delivered.at - refused.at >= 2.0
    assert sum("assigned it" in c.text and c.status == 200 for c in attempts) == 1


async def test_an_overdue_order_is_announced_to_its_assignee_once(
    api: httpx.AsyncClient, admin: Any, rivet: Any, running: Any, services: ServiceSet
) -> None:
    session, ana = admin
    tech, tom, _viewer, _vic = await _team(api, running, session)
    asset = await rivet.asset(session, name="Chiller 2", serial="CH-2")
    order = await rivet.order(
        session, asset["number"], title="Clean <coils>", assignee_id=tech.user["id"]
    )
    workorders = services.runtimes["workorders"]
    assert workorders.runner is not None
    due = datetime.fromisoformat(str(order["due_at"]))
    workorders.state.clock.freeze(due + timedelta(minutes=1))
    try:
        await workorders.runner.run_now("overdue")
        await workorders.runner.run_now("overdue")
    finally:
        workorders.state.clock.freeze(None)
    note = await tom.read("Overdue")
    assert f"<b>{order['number']}</b> · Clean &lt;coils&gt;" in note["text"]
    assert "still <b>🟦 open</b>" in note["text"]
    await ana.read("Overdue")  # the requester too
    await asyncio.sleep(1.0)
    assert sum("Overdue" in c.text for c in tom.received(("sendMessage",))) == 1
