"""Meter readings in chat with the real maintenance service behind the bot: ``/reading`` with
one meter, with several (by unit, by name, by button), from an asset's card; refusals said as
what they are (no meter, no such meter, a counter going back, a value over the limit); a reading
that makes a meter plan due opens its order and its assignee hears of it once; /stats shows
the planned maintenance figures."""

import asyncio
from typing import Any

import httpx
from telegram_testing.harness import link
from telegram_testing.maintenance import Maintenance, identity, stopped

from rivet_contracts import maintenance as m
from rivet_contracts.workorders import ChecklistItem
from rivet_devstack.testing.helpers import invite_member
from rivet_devstack.testing.services import ServiceSet
from rivet_telegram.bot.errors import OOPS
from rivet_telegram.render.stats import PM_UNAVAILABLE


async def test_readings_by_command_and_from_the_card(
    admin: Any, rivet: Any, maintenance: Maintenance
) -> None:
    session, ana = admin
    bare = await rivet.asset(session, serial="RD-0")
    pump = await rivet.asset(session, name="Feed pump", serial="RD-1")
    fan = await rivet.asset(session, name="Cooling fan", serial="RD-2")
    hours = await maintenance.meter(session, pump["number"], "Operating hours", "h")
    fan_hours = await maintenance.meter(session, fan["number"], "Operating hours", "h")
    await maintenance.meter(session, fan["number"], "Bearing temperature", "degC", high_limit=80)

    await ana.say(f"/reading {bare['number']} 12")
    await ana.read("has no meters, so there is nothing to record")
    await ana.say(f"/reading {pump['number']} 1520")
    done = await ana.read("Recorded")
    assert f"Operating hours of <b>{pump['number']}</b> = <b>1520 h</b>" in done["text"]
    await ana.say(f"/reading {pump['number'].lower()} 1400 h")
    await ana.read("❌ Not recorded: the counter went back from 1520 to 1400")
    await ana.say(f"/reading {pump['number']} 1600 km")
    unknown = await ana.read("❌ Not recorded")
    assert "has no meter “km”" in unknown["text"]
    assert "Its meters: Operating hours (h)" in unknown["text"]
    await ana.say(f"/reading {pump['number']} lots")
    await ana.read("Usage: <code>/reading")
    await ana.say("/reading EQ-1999-000001 12")
    await ana.read("not found")

    # Several meters: the unit or the name picks one; neither: buttons, the value on them.
    await ana.say(f"/reading {fan['number']} 71,5 degC")
    await ana.read("<b>71.5 degC</b>")
    await ana.say(f"/reading {fan['number']} 95 bearing")
    hot = await ana.read("Bearing temperature of")
    assert "⚠️ <b>Out of limits</b>: above its high limit 80 degC (excursion 1)" in hot["text"]
    await ana.say(f"/reading {fan['number']} 100")
    which = await ana.read("has several meters. Which one for <b>100</b>?")
    await ana.press(which, "Operating hours (h)")
    await ana.read("= <b>100 h</b>", methods=("editMessageText",))

    # From the card: the meters with their latest readings, a button, the value asked for.
    await ana.say(f"/equip view {fan['number']}")
    card = await ana.read("📟 <b>Meters</b>")
    assert "Bearing temperature: <b>95 degC</b>" in card["text"]
    assert "⚠️ above its high limit" in card["text"]
    await ana.press(card, "Record a reading")
    which = await ana.read("Which one?")
    await ana.press(which, "Operating hours")
    await ana.read("Send the reading now")
    await ana.say("a lot")
    await ana.read("That is not a reading")
    await ana.say("50")
    await ana.read("the counter went back from 100 to 50")
    await ana.say("1e13")
    await ana.read("Out of range: the value must be at most")
    await ana.say("150.5 h")
    await ana.read("= <b>150.5 h</b>")
    await ana.say("more")
    await ana.read("I didn't catch that")  # the question is closed

    await ana.say(f"/equip view {pump['number']}")
    card = await ana.read("📟 <b>Meters</b>")
    await ana.press(card, "Record a reading")  # one meter: straight to the question
    await ana.read("Last: <b>1520 h</b>")
    await ana.say("/cancel")
    await ana.read("Stopped")

    sources = {r.source for r in await maintenance.readings(session, hours)}
    assert sources == {"telegram"}
    values = [r.value for r in await maintenance.readings(session, fan_hours)]
    assert values == [150.5, 100.0]
    assert not [c for c in ana.received() if OOPS in c.text]


async def test_a_reading_that_makes_a_plan_due_tells_its_assignee_once(
    api: httpx.AsyncClient, admin: Any, rivet: Any, running: Any, maintenance: Maintenance
) -> None:
    session, ana = admin
    tech = await invite_member(api, session, "technician")
    tom = running.person("Tom")
    await link(api, tom, tech)
    asset = await rivet.asset(session, name="Compressor", serial="PM-1")
    hours = await maintenance.meter(session, asset["number"], "Operating hours", "h")
    plan = m.CreatePlan(
        equipment_id=asset["number"],
        title="500 h service <oil>",
        checklist=[ChecklistItem(text="Lock out", required=True)],
        assignee_id=identity(tech).user_id,
        trigger=m.MeterTrigger(kind="meter", meter_id=hours.id, every=500),
    )
    await maintenance.call(m.CREATE_PLAN, plan, session)

    await tom.say(f"/reading {asset['number']} 510")
    recorded = await tom.read("Recorded")
    assert "🗓 It made 1 planned maintenance order due" in recorded["text"]
    note = await tom.read("Planned preventive maintenance, assigned to <b>you</b>", timeout=30)
    assert "500 h service &lt;oil&gt;" in note["text"]
    number = note["text"].split("<b>", 1)[1].split("</b>", 1)[0]
    order = await rivet.get(session, f"/api/work-orders/{number}")
    assert order["plan_id"] is not None
    assert order["assignee_id"] == tech.user["id"]

    await tom.press(note, f"Open {number}")
    card = await tom.read("📋 <b>Checklist</b> 0/1 done")
    assert "1. Lock out · <i>required</i>" in card["text"]

    await ana.say("/stats")
    stats = await ana.read("Planned maintenance</b> (30 days)")
    assert "1 PM orders open" in stats["text"]
    assert "compliance —, none fell due" in stats["text"]

    await tom.say(f"/reading {asset['number']} 520")  # no new threshold: nothing more
    await tom.read("= <b>520 h</b>")
    await asyncio.sleep(2)  # room for a second notification, which must not come
    told = [c for c in tom.received(("sendMessage",)) if c.text.startswith("🗓")]
    assert len(told) == 1
    assert not [c for c in ana.received(("sendMessage",)) if c.text.startswith("🗓")]


async def test_stats_without_the_maintenance_service_shows_the_rest(
    services: ServiceSet, admin: Any, rivet: Any
) -> None:
    session, ana = admin
    asset = await rivet.asset(session, serial="ST-1")
    await rivet.order(session, asset["number"])
    async with stopped(services):
        await ana.say("/stats")
        shown = await ana.read("Work orders: <b>1</b>")
        assert PM_UNAVAILABLE in shown["text"]
        assert "reported by you still open" in shown["text"]
        await ana.say("/equip view " + asset["number"])
        card = await ana.read(f"<b>{asset['number']}</b>")
        assert "Meters" not in card["text"]
        assert "Record a reading" not in str(card.get("reply_markup"))
        await ana.say(f"/reading {asset['number']} 12")
        await ana.read("not answering right now")
