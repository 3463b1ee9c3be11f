"""Telegram link codes (created over HTTP, redeemed by the bot over NATS) and password
rehashing when the argon2 parameters change."""

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import httpx
import nats

from rivet_auth.main import build as build_auth
from rivet_contracts import Events, Headers, Rpc
from rivet_devstack.testing.helpers import register
from rivet_devstack.testing.services import ServiceSet
from rivet_runtime.streams import ensure_streams


async def _bot_request(
    services: ServiceSet, subject: str, body: dict[str, Any]
) -> tuple[int | str, Any]:
    """What the Telegram service will do: a request over NATS with no user identity."""
    nc = await nats.connect(services.env.nats_url)
    try:
        reply = await nc.request(
            services.auth_settings().subject(subject), json.dumps(body).encode(), timeout=3
        )
    finally:
        await nc.close()
    return (reply.headers or {}).get(Headers.ERROR, 200), json.loads(reply.data)


async def test_link_code_is_single_use_and_resolves_the_user(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin = await register(api)
    created = await api.post("/api/auth/link-telegram", headers=admin.headers)
    assert created.status_code == 200
    code = created.json()["code"]
    assert len(code) >= 22  # >= 128 random bits, URL-safe
    assert created.json()["link"] == f"https://t.me/rivet_test_bot?start={code}"

    status, linked = await _bot_request(
        services, Rpc.AUTH_REDEEM_TELEGRAM_LINK, {"code": code, "telegram_user_id": 424242}
    )
    assert status == 200
    assert linked["identity"]["user_id"] == admin.user["id"]
    assert linked["identity"]["role"] == "admin"

    status, _again = await _bot_request(
        services, Rpc.AUTH_REDEEM_TELEGRAM_LINK, {"code": code, "telegram_user_id": 999}
    )
    assert status == "not_found"

    status, who = await _bot_request(
        services, Rpc.AUTH_TELEGRAM_IDENTITY, {"telegram_user_id": 424242}
    )
    assert status == 200
    assert who["user"]["email"] == admin.email
    assert (await api.get("/api/auth/me", headers=admin.headers)).json()["telegram_linked"]

    status, _ = await _bot_request(services, Rpc.AUTH_TELEGRAM_IDENTITY, {"telegram_user_id": 7})
    assert status == "not_found"


async def test_link_code_expires(api: httpx.AsyncClient, services: ServiceSet) -> None:
    admin = await register(api)
    code = (await api.post("/api/auth/link-telegram", headers=admin.headers)).json()["code"]
    db = await asyncpg.connect(services.env.database_url)
    await db.execute(
        "UPDATE auth.telegram_link_codes SET expires_at = now() - interval '1 second' "
        "WHERE user_id = $1",
        uuid.UUID(admin.user["id"]),
    )
    await db.close()
    status, _ = await _bot_request(
        services, Rpc.AUTH_REDEEM_TELEGRAM_LINK, {"code": code, "telegram_user_id": 5151}
    )
    assert status == "not_found"


async def test_linking_publishes_user_telegram_linked(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin = await register(api)
    code = (await api.post("/api/auth/link-telegram", headers=admin.headers)).json()["code"]
    settings = services.auth_settings()
    nc = await nats.connect(services.env.nats_url)
    js = nc.jetstream()
    sub = await js.subscribe(settings.subject(Events.USER_TELEGRAM_LINKED), ordered_consumer=True)
    await _bot_request(
        services, Rpc.AUTH_REDEEM_TELEGRAM_LINK, {"code": code, "telegram_user_id": 777001}
    )
    found = None
    deadline = asyncio.get_running_loop().time() + 10
    while found is None:
        msg = await sub.next_msg(timeout=max(0.1, deadline - asyncio.get_running_loop().time()))
        event = json.loads(msg.data)
        if event["data"]["user_id"] == admin.user["id"]:
            found = event
    assert found["data"]["telegram_user_id"] == 777001
    assert found["org_id"] == admin.user["org_id"]
    assert msg.headers
    assert msg.headers["Nats-Msg-Id"] == found["event_id"]
    await nc.close()


async def test_login_rehashes_when_argon2_parameters_change(
    services: ServiceSet, isolated_database: str, namespace: str
) -> None:
    async def hash_of(email: str) -> str:
        db = await asyncpg.connect(isolated_database)
        try:
            value: str = await db.fetchval(
                "SELECT password_hash FROM auth.users WHERE email=$1", email
            )
            return value
        finally:
            await db.close()

    email, password = "rehash@example.com", "a long enough password"
    settings = services.auth_settings(database_url=isolated_database, nats_namespace=namespace)
    old = build_auth(settings)
    # the streams auth consumes are declared by their publishers, which do not run here
    nc = await nats.connect(services.env.nats_url)
    try:
        await ensure_streams(nc.jetstream(), old.consumed_streams(), settings)
    finally:
        await nc.close()
    await old.start()
    body = {"email": email, "password": password, "full_name": "R"}
    await old.rpc.handle(Rpc.AUTH_REGISTER, json.dumps(body).encode(), {})
    await old.stop()
    assert ",t=1," in await hash_of(email)

    new = build_auth(
        services.auth_settings(
            database_url=isolated_database, nats_namespace=namespace, argon2_time_cost=2
        )
    )
    await new.start()
    try:
        payload, headers = await new.rpc.handle(
            Rpc.AUTH_LOGIN, json.dumps({"email": email, "password": password}).encode(), {}
        )
        assert headers == {}, payload
        assert ",t=2," in await hash_of(email)
        # The upgraded hash still verifies.
        _, headers = await new.rpc.handle(
            Rpc.AUTH_LOGIN, json.dumps({"email": email, "password": password}).encode(), {}
        )
        assert headers == {}
    finally:
        await new.stop()


async def test_telegram_user_can_create_a_workspace_with_one_tap(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    body = {"telegram_user_id": 880011, "full_name": "Tomás Field"}
    status, made = await _bot_request(services, Rpc.AUTH_REGISTER_TELEGRAM, body)
    assert status == 200
    assert made["identity"]["role"] == "admin"
    assert made["user"]["organization_name"] == "Tomás Field's workspace"
    assert made["user"]["telegram_linked"] is True
    # Tapping twice gives the same workspace, not a second one.
    status, again = await _bot_request(services, Rpc.AUTH_REGISTER_TELEGRAM, body)
    assert again["identity"] == made["identity"]
    # The account has no password: nobody can log in to it with one.
    email = made["user"]["email"]
    assert (
        await api.post("/api/auth/login", data={"username": email, "password": "!"})
    ).status_code == 401
