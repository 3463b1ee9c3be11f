"""API keys in the auth service: admins create, list and revoke them; the secret is shown
once and only its SHA-256 is kept; every change is in the security audit log; only admins,
and only people, manage keys."""

import asyncio
import hashlib
import json
import re
import uuid
from typing import Any

import httpx
import nats
import pytest
from sqlalchemy import text

from rivet_auth.api_keys import keys
from rivet_contracts import ActorKind, ErrorCode, Events, Identity, Role, ServiceError, auth
from rivet_contracts.auth import API_KEY_FORMAT
from rivet_devstack.testing.helpers import create_api_key, invite_member, register
from rivet_devstack.testing.services import ServiceSet
from rivet_runtime.client import CallMeta


def test_a_new_key_has_the_documented_form() -> None:
    made = {keys.new_key() for _ in range(50)}
    assert len(made) == 50
    for key, prefix in made:
        assert re.fullmatch(API_KEY_FORMAT, key)
        assert keys.well_formed(key)
        assert key.startswith(f"rvt_{prefix}_")
        assert len(key.split("_", 2)[2]) == 43  # 32 random bytes, base64url
    assert not keys.well_formed("rvt_abc_def")


async def test_admins_create_list_and_revoke_keys(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin = await register(api, "keyadmin")
    made = await api.post(
        "/api/auth/api-keys",
        json={"name": "  ERP export  ", "role": "technician", "read_only": True},
        headers=admin.headers,
    )
    assert made.status_code == 201, made.text
    key = made.json()
    assert key["name"] == "ERP export"
    assert (key["role"], key["read_only"], key["revoked_at"]) == ("technician", True, None)
    assert key["created_by"] == admin.user["id"]
    secret = key["secret"]
    assert secret.startswith(f"rvt_{key['prefix']}_")

    listed = await api.get("/api/auth/api-keys", headers=admin.headers)
    assert listed.status_code == 200, listed.text
    (item,) = listed.json()["items"]
    assert item["id"] == key["id"]
    assert item["secret"] is None
    assert secret not in listed.text

    # only the SHA-256 of the key is stored
    db = services.runtimes["auth"].db
    assert db is not None
    async with db.read() as conn:
        stored = (
            await conn.execute(
                text("SELECT secret_hash FROM auth.api_keys WHERE id = :id"),
                {"id": uuid.UUID(key["id"])},
            )
        ).scalar_one()
    assert bytes(stored) == hashlib.sha256(secret.encode()).digest()

    revoked = await api.delete(f"/api/auth/api-keys/{key['id']}", headers=admin.headers)
    assert revoked.status_code == 200, revoked.text
    at = revoked.json()["revoked_at"]
    assert at is not None
    again = await api.delete(f"/api/auth/api-keys/{key['id']}", headers=admin.headers)
    assert (again.status_code, again.json()["revoked_at"]) == (200, at)  # once is enough
    missing = await api.delete(f"/api/auth/api-keys/{uuid.uuid4()}", headers=admin.headers)
    assert missing.status_code == 404

    audit = await api.get("/api/auth/audit", headers=admin.headers)
    entries = [e for e in audit.json()["items"] if e["action"].startswith("api_key")]
    assert [e["action"] for e in entries] == ["api_key_revoked", "api_key_created"]
    assert all(e["actor_id"] == admin.user["id"] for e in entries)
    assert entries[1]["details"].items() >= {"prefix": key["prefix"], "role": "technician"}.items()
    assert secret not in audit.text


async def test_only_admins_manage_keys(api: httpx.AsyncClient) -> None:
    admin = await register(api, "onlyadmins")
    key = await create_api_key(api, admin)
    for role in ("viewer", "technician"):
        member = await invite_member(api, admin, role)
        made = await api.post(
            "/api/auth/api-keys", json={"name": "mine", "role": "viewer"}, headers=member.headers
        )
        assert made.status_code == 403, made.text
        assert (await api.get("/api/auth/api-keys", headers=member.headers)).status_code == 403
        revoked = await api.delete(f"/api/auth/api-keys/{key['id']}", headers=member.headers)
        assert revoked.status_code == 403


async def test_a_key_request_is_validated(api: httpx.AsyncClient) -> None:
    admin = await register(api, "validates")
    for body in (
        {"name": ""},
        {"name": "x" * 101},
        {"name": "k", "role": "owner"},
        {"name": "k", "read_only": "maybe"},
        {"name": "k", "expires_at": "tomorrow"},
        {"name": "k", "expires_at": "2020-01-01T00:00:00Z"},
        {"name": "k", "org_id": str(uuid.uuid4())},
    ):
        answer = await api.post("/api/auth/api-keys", json=body, headers=admin.headers)
        assert answer.status_code == 422, f"{body}: {answer.text}"
    listed = await api.get("/api/auth/api-keys", headers=admin.headers)
    assert listed.json()["items"] == []


async def test_the_auth_service_itself_refuses_keys_what_needs_a_person(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    """Not only the gateway: a request that reaches auth as an API key (another entry point,
    a mistake in a route) is refused for keys, members, invitations and passwords."""
    admin = await register(api, "deep")
    key = await create_api_key(api, admin, "admin")
    identity = Identity(
        user_id=uuid.UUID(key["id"]),
        org_id=uuid.UUID(admin.user["org_id"]),
        role=Role.ADMIN,
        kind=ActorKind.API_KEY,
    )
    client = services.runtimes["gateway"].client
    meta = CallMeta(identity, "test-deep", "api")
    attempts: list[tuple[Any, Any]] = [
        (auth.CREATE_API_KEY, auth.CreateApiKey(name="mine", role=Role.ADMIN)),
        (auth.LIST_API_KEYS, auth.ListApiKeys()),
        (auth.REVOKE_API_KEY, auth.RevokeApiKey(key_id=uuid.UUID(key["id"]))),
        (auth.INVITE, auth.InviteUser(email="friend@example.com", role=Role.ADMIN)),
        (auth.LIST_INVITATIONS, auth.ListInvitations()),
        (auth.CHANGE_ROLE, auth.ChangeRole(user_id=uuid.UUID(admin.user["id"]), role=Role.VIEWER)),
        (auth.DEACTIVATE_USER, auth.DeactivateUser(user_id=uuid.UUID(admin.user["id"]))),
        (
            auth.CHANGE_PASSWORD,
            auth.ChangePassword(current_password="x", new_password="tulip orbit saddle 42"),
        ),
    ]
    for spec, request in attempts:
        with pytest.raises(ServiceError) as refused:
            await client.call(spec, request, meta, timeout=5)
        assert refused.value.info.code is ErrorCode.FORBIDDEN, spec.subject
    listed = await api.get("/api/auth/api-keys", headers=admin.headers)
    assert [(k["id"], k["revoked_at"]) for k in listed.json()["items"]] == [(key["id"], None)]


async def test_key_events_carry_the_hash_and_what_a_key_does_names_it(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin = await register(api, "events")
    settings = services.auth_settings()
    nc = await nats.connect(services.env.nats_url)
    try:
        created = await nc.subscribe(settings.subject(Events.API_KEY_CREATED))
        assets = await nc.subscribe(settings.subject(Events.EQUIPMENT_CREATED))
        key = await create_api_key(api, admin, "technician")
        event = await _next(created, lambda e: e["data"]["key_id"] == key["id"])
        assert event["data"]["secret_sha256"] == hashlib.sha256(key["secret"].encode()).hexdigest()
        assert key["secret"] not in json.dumps(event)
        assert event["actor"]["kind"] == "user"
        assert event["actor"]["user_id"] == admin.user["id"]

        serial = f"EV-{uuid.uuid4().hex[:10]}"
        made = await api.post(
            "/api/equipment",
            json={"manufacturer": "ABB", "serial": serial},
            headers={"X-API-Key": key["secret"]},
        )
        assert made.status_code == 201, made.text
        event = await _next(assets, lambda e: e["data"].get("serial") == serial)
        assert event["actor"]["kind"] == "api_key"
        assert event["actor"]["user_id"] == key["id"]
    finally:
        await nc.close()


async def _next(sub: Any, wanted: Any) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        msg = await sub.next_msg(timeout=max(0.1, deadline - asyncio.get_running_loop().time()))
        event: dict[str, Any] = json.loads(msg.data)
        if wanted(event):
            return event
