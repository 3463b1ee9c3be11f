"""What must not go wrong: Telegram's 429, updates delivered twice, a restart in the middle of
a conversation, webhook requests without the secret, services that do not answer, and input
the bot does not expect."""

import asyncio
import json
from typing import Any

import httpx
import nats

from rivet_contracts.streams import USERS, WORKORDERS
from rivet_devstack.testing.env import TestEnv
from rivet_runtime.settings import ServiceSettings
from rivet_runtime.streams import ensure_streams

SECRET = "s3cret-token_for-tests"


async def test_a_reply_rate_limited_by_telegram_arrives_after_the_wait(running: Any) -> None:
    person = running.person()
    running.fake.throttle("sendMessage", 1, chat_id=person.id)
    await person.say("/help")
    await person.read("/wo create")
    attempts = [c for c in running.fake.calls if c.chat_id == person.id]
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0


async def test_an_update_delivered_twice_is_handled_once(admin: Any, rivet: Any) -> None:
    session, ana = admin
    asset = await rivet.asset(session, serial="D-1")
    order = await rivet.order(session, asset["number"], title="Noise")
    await ana.say(f"/wo view {order['number']}")
    card = await ana.read("Reply to this message")
    update = ana.update(text="Checked the bearings", reply_to_message=card)
    await ana.fake.push(update)
    await ana.fake.push(update)  # Telegram sends it again (e.g. the offset was not confirmed)
    await ana.read("Comment added")
    await ana.say("/help")
    await ana.read("/wo create")
    assert sum("Comment added" in c.text for c in ana.received()) == 1
    timeline = (await rivet.get(session, f"/api/work-orders/{order['number']}"))["timeline"]
    assert [e["body"] for e in timeline if e["kind"] == "comment"] == ["Checked the bearings"]


async def test_a_conversation_survives_a_restart(admin: Any, rivet: Any, bot: Any) -> None:
    session, ana = admin
    asset = await rivet.asset(session, serial="R-1")
    await ana.say("/wo create")
    await ana.read("Which equipment?")
    await ana.say(asset["number"])
    await ana.read("What is wrong?")

    await bot.restart()  # a new process: nothing in memory survives
    await ana.say("Motor overheats")
    urgency = await ana.read("How urgent")
    await ana.press(urgency, "critical")
    card = await ana.read("Reply to this message")
    number = card["text"].split("<b>", 1)[1].split("</b>", 1)[0]
    order = await rivet.get(session, f"/api/work-orders/{number}")
    assert (order["title"], order["priority"], order["equipment"]["number"]) == (
        "Motor overheats",
        "critical",
        asset["number"],
    )


async def test_webhook_refuses_requests_without_the_secret(bot: Any) -> None:
    runtime = await bot.start(
        telegram_mode="webhook",
        telegram_webhook_url="https://bot.example.com/telegram/webhook",
        telegram_webhook_secret=SECRET,
    )
    registered = [c for c in bot.fake.calls if c.method == "setWebhook"][-1]
    assert registered.params["url"] == "https://bot.example.com/telegram/webhook"
    assert registered.params["secret_token"] == SECRET
    person = bot.person()
    update = person.update(
        text="/help", entities=[{"type": "bot_command", "offset": 0, "length": 5}]
    )
    transport = httpx.ASGITransport(app=runtime.ops_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
        url = "/telegram/webhook"
        missing = await client.post(url, json=update)
        wrong = await client.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"}
        )
        assert (missing.status_code, wrong.status_code) == (401, 401)
        await asyncio.sleep(0.5)
        assert person.received() == []
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        for _ in range(2):  # Telegram retries a webhook it thinks failed: handled once
            accepted = await client.post(url, content=json.dumps(update), headers=headers)
            assert accepted.status_code == 200
        await person.read("/wo create")
        await asyncio.sleep(0.5)
        assert len(person.received()) == 1
        assert (await client.post(url, content=b"[1, 2", headers=headers)).status_code == 400


async def test_services_that_do_not_answer_get_a_polite_try_again(
    bot: Any, namespace: str, test_env: TestEnv
) -> None:
    # No service runs in this namespace; only the streams the bot reads exist, as if their
    # publishers had declared them once and then gone down.
    settings = ServiceSettings(nats_url=test_env.nats_url, nats_namespace=namespace)
    nc = await nats.connect(test_env.nats_url)
    await ensure_streams(nc.jetstream(), (USERS, WORKORDERS), settings)
    await nc.close()
    await bot.start(nats_namespace=namespace, rpc_timeout=1.0)
    person = bot.person()
    await person.say("/help")  # needs no service
    await person.read("/wo create")
    await person.say("/wo list")
    await person.read("not answering right now")
    await person.say("/start")
    await person.read("not answering right now")


async def test_unexpected_input_never_stops_the_bot(admin: Any) -> None:
    _session, ana = admin
    sticker = {"file_id": "x", "file_unique_id": "x", "type": "regular", "width": 1,
               "height": 1, "is_animated": False, "is_video": False}  # fmt: skip
    await ana.fake.push(ana.update(sticker=sticker))
    await ana.read("I didn't catch that")
    await ana.say("/frobnicate now")
    await ana.read("I didn't catch that")
    await ana.say("/wo view WO-1999-000001")
    await ana.read("not found")
    await ana.say("/wo view")
    await ana.read("Use <code>/wo list</code>")
    await ana.say("/help")
    shown = await ana.read("/wo create")
    for junk in ("zz:1", "wo:start:WO-2026-000001:notanumber", "sc:ok:nothex", "el:x"):
        await ana.press_data(shown, junk)
        assert (await ana.answered()).params["text"] == "This button is no longer valid."
    await ana.press_data(shown, "wl:all:-5")  # clamped to the first page
    await ana.read("All orders", methods=("editMessageText",))
    await ana.say("/help")
    await ana.read("/wo create")
