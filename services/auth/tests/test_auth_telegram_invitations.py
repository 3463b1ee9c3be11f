"""Invitations joined in Telegram: an invitation without an address (its link
``https://t.me/<bot>?start=join_<token>``), taken by the Telegram service over NATS
(``rpc.auth.join_with_telegram``) once; the API cannot accept it; an invitation with an address
keeps it (unverified)."""

import asyncio
import json
import random
import re
import uuid
from typing import Any

import httpx
import nats
from sqlalchemy import text

from rivet_auth.main import MIGRATIONS
from rivet_contracts import Events, Headers, Rpc
from rivet_devstack.testing.helpers import Session, register, unique_email
from rivet_devstack.testing.services import ServiceSet
from rivet_runtime.db import Database
from rivet_runtime.migrations import migrate

START_PARAMETER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


async def _bot_request(
    services: ServiceSet, subject: str, body: dict[str, Any]
) -> tuple[int | str, Any]:
    """What the Telegram service does: a request over NATS with no user identity."""
    nc = await nats.connect(services.env.nats_url)
    try:
        reply = await nc.request(
            services.auth_settings().subject(subject), json.dumps(body).encode(), timeout=3
        )
    finally:
        await nc.close()
    return (reply.headers or {}).get(Headers.ERROR, 200), json.loads(reply.data)


async def _invite(api: httpx.AsyncClient, admin: Session, **body: Any) -> dict[str, Any]:
    answer = await api.post("/api/auth/invitations", json=body, headers=admin.headers)
    assert answer.status_code == 201, answer.text
    invitation: dict[str, Any] = answer.json()
    return invitation


def _telegram_id() -> int:
    return random.randrange(10**9, 2 * 10**9)


async def _join(
    services: ServiceSet, token: str, telegram_user_id: int, name: str = "Tess Field"
) -> tuple[int | str, Any]:
    body = {"token": token, "telegram_user_id": telegram_user_id, "full_name": name}
    return await _bot_request(services, Rpc.AUTH_JOIN_WITH_TELEGRAM, body)


async def test_an_invitation_without_address_is_joined_in_telegram_once(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin = await register(api, "tg-inviter")
    invitation = await _invite(api, admin, role="viewer")
    token = invitation["token"]
    assert invitation["email"] is None
    assert invitation["telegram_link"] == f"https://t.me/rivet_test_bot?start=join_{token}"
    assert START_PARAMETER.match(invitation["telegram_link"].split("start=", 1)[1])
    pending = (await api.get("/api/auth/invitations", headers=admin.headers)).json()["items"]
    assert [(i["id"], i["email"]) for i in pending] == [(invitation["id"], None)]

    # The API cannot take it (there is no address to log in with), and it stays usable.
    body = {"token": token, "password": "tulip orbit saddle 42", "full_name": "Web Person"}
    refused = await api.post("/api/auth/invitations/accept", json=body)
    assert refused.status_code == 422, refused.text
    assert "Telegram" in refused.json()["error"]["message"]

    nc = await nats.connect(services.env.nats_url)
    js = nc.jetstream()
    settings = services.auth_settings()
    joined_sub = await js.subscribe(settings.subject(Events.USER_JOINED), ordered_consumer=True)
    linked_sub = await js.subscribe(
        settings.subject(Events.USER_TELEGRAM_LINKED), ordered_consumer=True
    )
    tg = _telegram_id()
    status, me = await _join(services, token, tg)
    assert status == 200, me
    assert me["identity"]["org_id"] == admin.user["org_id"]
    assert me["identity"]["role"] == "viewer"
    assert me["user"]["email"] == f"telegram-{tg}@users.telegram.invalid"
    assert me["user"]["email_verified"] is False
    assert me["user"]["telegram_linked"] is True
    assert me["user"]["full_name"] == "Tess Field"
    user_id = me["user"]["id"]

    async def event_of(sub: Any) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + 10
        while True:
            left = max(0.1, deadline - asyncio.get_running_loop().time())
            event: dict[str, Any] = json.loads((await sub.next_msg(timeout=left)).data)
            if event["data"]["user_id"] == user_id:
                return event

    joined, linked = await event_of(joined_sub), await event_of(linked_sub)
    await nc.close()
    assert joined["data"]["role"] == "viewer"
    assert linked["data"]["telegram_user_id"] == tg

    # Single use: nobody else joins with it, and the web accept says it is gone.
    status, _ = await _join(services, token, _telegram_id())
    assert status == "not_found"
    assert (await api.post("/api/auth/invitations/accept", json=body)).status_code == 404
    assert (await api.get("/api/auth/invitations", headers=admin.headers)).json()["items"] == []

    status, who = await _bot_request(services, Rpc.AUTH_TELEGRAM_IDENTITY, {"telegram_user_id": tg})
    assert (status, who["user"]["id"]) == (200, user_id)
    users = (await api.get("/api/auth/users", headers=admin.headers)).json()["items"]
    assert user_id in {u["id"] for u in users}
    audit = (await api.get("/api/auth/audit", headers=admin.headers)).json()["items"]
    assert any(
        e["action"] == "joined" and e["user_id"] == user_id and e["details"]["via"] == "telegram"
        for e in audit
    ), audit


async def test_a_linked_telegram_account_cannot_join_again(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin = await register(api, "tg-twice")
    tg = _telegram_id()
    first = await _invite(api, admin, role="technician")
    assert (await _join(services, first["token"], tg))[0] == 200
    second = await _invite(api, admin, role="admin")
    status, refused = await _join(services, second["token"], tg)
    assert status == "conflict"
    assert "Telegram" in refused["message"]
    # The refusal rolled back: the invitation is still there for someone else.
    status, other = await _join(services, second["token"], _telegram_id())
    assert (status, other["identity"]["role"]) == (200, "admin")


async def test_an_invitation_with_an_address_keeps_it(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin = await register(api, "tg-mail")
    email = unique_email("tg-invitee")
    invitation = await _invite(api, admin, email=email.upper(), role="technician")
    assert invitation["email"] == email
    assert invitation["telegram_link"].endswith(f"start=join_{invitation['token']}")
    status, me = await _join(services, invitation["token"], _telegram_id())
    assert status == 200, me
    assert (me["user"]["email"], me["user"]["email_verified"]) == (email, False)
    assert me["identity"]["role"] == "technician"
    # No password yet: nobody logs in with the marker.
    login = await api.post("/api/auth/login", data={"username": email, "password": "!"})
    assert login.status_code == 401


async def test_join_requests_are_checked(services: ServiceSet) -> None:
    status, _ = await _join(services, "x" * 43, _telegram_id())
    assert status == "not_found"
    status, _ = await _bot_request(
        services, Rpc.AUTH_JOIN_WITH_TELEGRAM, {"token": "short", "telegram_user_id": 1}
    )
    assert status == "validation_error"


async def test_migration_0009_keeps_invitations_and_allows_none_without_address(
    isolated_database: str,
) -> None:
    await migrate(isolated_database, "auth", MIGRATIONS, revision="0008")
    db = Database(isolated_database, "auth", pool_size=1)
    org, user = uuid.uuid4(), uuid.uuid4()
    insert = text(
        "INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, expires_at) "
        "VALUES (:id, :org, :email, 'technician', :hash, :user, now() + interval '1 day')"
    )
    try:
        async with db.transaction() as conn:
            await conn.execute(
                text("INSERT INTO organizations (id, name) VALUES (:id, 'Plant')"), {"id": org}
            )
            await conn.execute(
                text(
                    "INSERT INTO users (id, org_id, email, password_hash, full_name, role) "
                    "VALUES (:id, :org, 'admin@example.com', '!', 'Admin', 'admin')"
                ),
                {"id": user, "org": org},
            )
            params = {"org": org, "user": user}
            await conn.execute(
                insert, {"id": uuid.uuid4(), "email": "old@example.com", "hash": b"1", **params}
            )
        await migrate(isolated_database, "auth", MIGRATIONS)
        async with db.transaction() as conn:
            await conn.execute(insert, {"id": uuid.uuid4(), "email": None, "hash": b"2", **params})
            emails = (await conn.execute(text("SELECT email FROM invitations"))).scalars().all()
        assert set(emails) == {"old@example.com", None}
    finally:
        await db.dispose()
