"""Every command, with the real services behind the bot: /stats, /equip list|search|view,
/wo list (mine / open / all, paged) and /wo view; HTML escaping of what users typed."""

from typing import Any

import httpx
from telegram_testing.harness import link

from rivet_devstack.testing.helpers import invite_member


async def test_equipment_commands(admin: Any, rivet: Any) -> None:
    session, ana = admin
    pump = await rivet.asset(session, name="Feed <pump> & co", serial="AB-1001", location="Line 3")
    for index in range(9):
        await rivet.asset(session, manufacturer="ABB", model=f"M3BP{index}", serial=f"X{index}")

    await ana.say("/equip list")
    first = await ana.read("Equipment</b> 1-8 of 10")
    assert pump["number"] in first["text"]
    assert "Feed &lt;pump&gt; &amp; co" in first["text"]  # user text is escaped
    await ana.press(first, "More")
    second = await ana.read("Equipment</b> 9-10 of 10", methods=("editMessageText",))
    assert pump["number"] not in second["text"]

    await ana.say("/equip search baldr em3615")  # typos
    found = await ana.read("baldr em3615")
    assert pump["number"] in found["text"]
    await ana.press(found, pump["number"])
    card = await ana.read(f"<b>{pump['number']}</b>")
    assert "S/N AB-1001" in card["text"]
    assert "Line 3" in card["text"]

    await ana.say(f"/equip view {pump['number'].lower()}")
    await ana.read(f"<b>{pump['number']}</b> · Feed &lt;pump&gt;")
    await ana.say("/equip view EQ-1999-000001")
    await ana.read("not found")


async def test_work_order_commands_and_stats(
    api: httpx.AsyncClient, admin: Any, rivet: Any, running: Any
) -> None:
    session, ana = admin
    tech = await invite_member(api, session, "technician")
    tom = running.person("Tom")
    await link(api, tom, tech)
    asset = await rivet.asset(session, serial="S-77")
    mine = [
        await rivet.order(session, asset["number"], title=f"Mine {i}", assignee_id=tech.user["id"])
        for i in range(7)
    ]
    other = await rivet.order(session, asset["number"], title="Leak <at> seal & gasket")

    await tom.say("/wo list")
    page = await tom.read("Assigned to you, open</b> (1-6)")
    assert other["number"] not in page["text"]
    await tom.press(page, "More")
    rest = await tom.read("(7-7)", methods=("editMessageText",))
    listed = {o["number"] for o in mine if o["number"] in page["text"] + rest["text"]}
    assert listed == {o["number"] for o in mine}
    await tom.press(rest, "Open")
    opened = await tom.read("Open orders</b> (1-6)", methods=("editMessageText",))
    assert "• 🟦 Open" in str(opened["reply_markup"])

    await tom.say("/wo list all")
    await tom.read("All orders</b> (1-6)")

    await tom.say(f"/wo view {other['number']}")
    card = await tom.read(f"<b>{other['number']}</b>")
    assert "Leak &lt;at&gt; seal &amp; gasket" in card["text"]
    labels = {b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row}
    assert {"▶️ Start", "✖️ Cancel", "🙋 Take it", "🔄 Refresh"} <= labels

    viewer = await invite_member(api, session, "viewer")
    vic = running.person("Vic")
    await link(api, vic, viewer)
    await vic.say(f"/wo {other['number']}")
    seen = await vic.read(f"<b>{other['number']}</b>")
    labels = {b["text"] for row in seen["reply_markup"]["inline_keyboard"] for b in row}
    assert labels == {"🔄 Refresh"}  # a viewer gets no buttons that would be refused

    await ana.say("/stats")
    stats = await ana.read("Work orders: <b>8</b>")
    assert "8 open" in stats["text"]
    assert "Plant &lt;2&gt; &amp; Co" in stats["text"]
    await tom.say("/stats")
    await tom.read("7 open assigned to you")
