"""Who the bot acts for: linking with a code, the one-tap workspace, private chats only."""

import asyncio
import json
from typing import Any

import httpx
import nats
from telegram_testing.harness import link

from rivet_contracts import Headers, Rpc
from rivet_devstack.testing.helpers import register
from rivet_devstack.testing.services import ServiceSet


async def test_link_with_a_code_then_commands_act_as_that_user(
    api: httpx.AsyncClient, running: Any
) -> None:
    fake = running.fake
    commands = [c for c in fake.calls if c.method == "setMyCommands"]
    assert {c["command"] for c in commands[-1].params["commands"]} >= {"wo", "equip", "stats"}

    session = await register(api, "ana", organization_name="Pump & <Valve> Works")
    ana = running.person("Ana")
    await ana.say("/start")
    choice = await ana.read("Welcome to Rivet")
    labels = [b["text"] for row in choice["reply_markup"]["inline_keyboard"] for b in row]
    assert any("I have a Rivet account" in t for t in labels)
    assert any("Create my workspace" in t for t in labels)
    await ana.press(choice, "I have a Rivet account")
    how = await ana.read("Link your Rivet account")
    assert "/api/auth/link-telegram" in how["text"]

    await ana.say("/start not-a-real-code-but-long-enough")
    await ana.read("unknown, used or expired")

    code = (await api.post("/api/auth/link-telegram", headers=session.headers)).json()["code"]
    await ana.say(f"/start {code}")
    linked = await ana.read("Linked to")
    assert session.email in linked["text"]
    assert "Pump &amp; &lt;Valve&gt; Works" in linked["text"]  # escaped organization name
    me = (await api.get("/api/auth/me", headers=session.headers)).json()
    assert me["telegram_linked"] is True

    await ana.say(f"/start {code}")  # a code works once
    await ana.read("unknown, used or expired")

    await ana.say("/stats")
    stats = await ana.read("Pump &amp; &lt;Valve&gt; Works")
    assert "Work orders: <b>0</b>" in stats["text"]


async def test_one_tap_workspace_for_a_new_user(api: httpx.AsyncClient, running: Any) -> None:
    tom = running.person("Tom")
    await tom.say("/wo list")
    await tom.read("I don't know you yet")
    await tom.say("/start")
    choice = await tom.read("Welcome to Rivet")
    await tom.press(choice, "Create my workspace")
    ready = await tom.read("is ready")
    assert "Tom's workspace" in ready["text"]
    await tom.say("/equip list")
    await tom.read("No equipment yet")
    await tom.press(choice, "Create my workspace")  # tapped again: the same workspace
    await tom.read("you are admin in <b>Tom's workspace</b>")


async def test_only_private_chats(running: Any) -> None:
    person = running.person("Group member")
    update = person.update(text="/start abcdefghijklmnopqrstuvwxyz")
    update["message"]["chat"] = {"id": -100123, "type": "supergroup", "title": "Plant"}
    update["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
    await running.fake.push(update)
    _index, call = await running.fake.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == -100123
    )
    assert "only work in private chats" in call.text


async def test_help_needs_no_account_and_no_service(api: httpx.AsyncClient, running: Any) -> None:
    stranger = running.person()
    await stranger.say("/help")
    help_text = await stranger.read("/wo create")
    assert "/equip search" in help_text["text"]


async def test_a_link_made_elsewhere_refreshes_the_cached_identity(
    api: httpx.AsyncClient, services: ServiceSet, running: Any
) -> None:
    """Another replica links this Telegram id to another account: the identity this bot cached
    (for a minute) is dropped at once by the ``user.telegram_linked`` event."""
    first = await register(api, "ana", organization_name="First plant")
    second = await register(api, "ana", organization_name="Second plant")
    ana = running.person("Ana")
    await link(api, ana, first)
    await ana.say("/stats")
    await ana.read("First plant")

    code = (await api.post("/api/auth/link-telegram", headers=second.headers)).json()["code"]
    nc = await nats.connect(services.env.nats_url)
    try:
        subject = services.settings_for("auth").subject(Rpc.AUTH_REDEEM_TELEGRAM_LINK)
        body = {"code": code, "telegram_user_id": ana.id}
        reply = await nc.request(subject, json.dumps(body).encode(), timeout=3)
        assert Headers.ERROR not in (reply.headers or {})
    finally:
        await nc.close()

    for _ in range(50):
        await ana.say("/stats")
        shown = await ana.read("📊")
        if "Second plant" in shown["text"]:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the bot still acts as the first account")
