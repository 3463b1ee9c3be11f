"""A team built in Telegram: an admin whose workspace was made in the chat invites a
technician with ``/invite``; the technician opens the link (``/start join_<token>``), joins,
and hears about the work assigned to them; the admin then gives the account an e-mail address
(``/email``, ``/verify`` with the mailed code) and a password (``/password``, the reset mail),
and logs in to the API with them. Mail is read from the session's local SMTP server."""

import asyncio
import re
import time
from email.message import EmailMessage
from typing import Any

import httpx

from rivet_contracts import assets as eq
from rivet_contracts import workorders as wo
from rivet_devstack.testing.helpers import unique_email
from rivet_devstack.testing.services import ServiceSet

LINK = re.compile(r"https://t\.me/rivet_test_bot\?start=(join_[A-Za-z0-9_-]{43})")
CODE = re.compile(r"\b([0-9]{6})\b")
RESET = re.compile(r"token=([0-9a-f]{32}\.[A-Za-z0-9_-]{43})")
PASSWORD = "copper lantern meadow 77"


async def _mail_to(services: ServiceSet, address: str, subject: str) -> EmailMessage:
    deadline = time.monotonic() + 20
    while True:
        for message in services.mail.received:
            if message["To"] == address and subject in str(message["Subject"]):
                return message
        assert time.monotonic() < deadline, f"no mail {subject!r} to {address}"
        await asyncio.sleep(0.1)


async def _workspace(bot: Any, name: str) -> Any:
    person = bot.person(name)
    await person.say("/start")
    choice = await person.read("Welcome to Rivet")
    await person.press(choice, "Create my workspace")
    await person.read("is ready")
    return person


async def _invite(admin: Any, command: str = "/invite") -> tuple[str, dict[str, Any]]:
    await admin.say(command)
    message = await admin.read("Forward this link")
    found = LINK.search(message["text"])
    assert found, message["text"]
    return found.group(1), message


async def test_a_team_built_in_telegram_from_invitation_to_web_password(
    api: httpx.AsyncClient, services: ServiceSet, running: Any
) -> None:
    ana = await _workspace(running, "Ana")
    parameter, invitation = await _invite(ana)
    assert "technician" in invitation["text"]
    assert "works once" in invitation["text"]
    assert len(parameter) <= 64

    tess = running.person("Tess")
    await tess.say(f"/start {parameter}")
    welcome = await tess.read("you joined")
    assert "<b>Ana's workspace</b> as technician" in welcome["text"]
    await tess.say("/equip list")
    await tess.read("No equipment yet")  # acts as the new member at once

    # The link works once; a member cannot use another one; a technician cannot invite.
    bob = running.person("Bob")
    await bob.say(f"/start {parameter}")
    await bob.read("unknown, used, withdrawn or expired")
    await tess.say(f"/start {(await _invite(ana, '/invite viewer'))[0]}")
    await tess.read("already belongs to a Rivet account")
    await tess.say("/invite")
    await tess.read("Only admins")

    # The admin assigns Tess a work order (the bot's own path, as the admin's identity).
    state = running.runtime.state
    ana_id = await state.rivet.telegram_identity(ana.id)
    tess_id = await state.rivet.telegram_identity(tess.id)
    assert ana_id is not None
    assert tess_id is not None
    assert tess_id.identity.org_id == ana_id.identity.org_id
    as_ana = state.rivet.as_user(ana_id.identity)
    order = await as_ana.create_work_order(
        wo.CreateWorkOrder(
            equipment=eq.CreateEquipment(manufacturer="Baldor", model="EM3615T"),
            title="Bearing <noise>",
        )
    )
    await as_ana.update_work_order(order.number, wo.WorkOrderChanges(assignee_id=tess_id.user.id))
    note = await tess.read("assigned it to <b>you</b>", timeout=30)
    assert f"<b>{order.number}</b> · Bearing &lt;noise&gt;" in note["text"]

    # The admin gives the account a real address, then a password, all from the chat.
    await ana.say("/password")
    await ana.read("no confirmed e-mail address yet")
    email = unique_email("ana-telegram")
    await ana.say(f"/email {email}")
    await ana.read("sent a six-digit code")
    code = CODE.search(str((await _mail_to(services, email, "code"))["Subject"]))
    assert code is not None
    await ana.say("/verify 12")
    await ana.read("the six digits from the mail")
    await ana.say(f"/verify {code.group(1)}")
    await ana.read("is now your account's address")
    await ana.say("/password")
    await ana.read("on its way")
    reset_mail = await _mail_to(services, email, "password")
    text = reset_mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    token = RESET.search(text)
    assert token, text
    reset = await api.post(
        "/api/auth/password/reset", json={"token": token.group(1), "new_password": PASSWORD}
    )
    assert reset.status_code == 200, reset.text
    login = await api.post("/api/auth/login", data={"username": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    me = await api.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert (me.json()["email"], me.json()["role"]) == (email, "admin")
    assert me.json()["organization_name"] == "Ana's workspace"


async def test_account_commands_refuse_politely(running: Any) -> None:
    ana = await _workspace(running, "Ana")
    await ana.say("/invite janitor")
    await ana.read("Usage: <code>/invite</code>")
    await ana.say("/email")
    await ana.read("Usage: <code>/email you@example.com</code>")
    await ana.say("/email not-an-address")
    refused = await ana.read("⚠️")
    assert "e-mail address" in refused["text"]
    await ana.say("/verify 123456")  # no code was asked for
    await ana.read("no code is waiting")
    stranger = running.person("Stranger")
    await stranger.say("/start join_" + "x" * 43)
    await stranger.read("unknown, used, withdrawn or expired")
    await stranger.say("/invite")
    await stranger.read("I don't know you yet")
