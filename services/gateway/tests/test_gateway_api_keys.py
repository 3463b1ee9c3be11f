"""API keys at the gateway: a key acts as its organization with its role, read-only keys only
read, a revoked key is refused within seconds (also by a gateway started after the
revocation), an expired or malformed key is a 401 with a reason, and keys cannot manage keys,
members or passwords."""

import asyncio
import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from rivet_devstack.testing.helpers import Session, create_api_key, key_headers, register
from rivet_devstack.testing.services import ServiceSet

REFUSED_WITHIN = 5.0


def _x_api_key(key: dict[str, Any]) -> dict[str, str]:
    return {"X-API-Key": key["secret"]}


async def _asset(api: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    tag = uuid.uuid4().hex[:10].upper()
    body = {"manufacturer": "Grundfos", "model": "CR 5", "serial": f"KEY-{tag}"}
    return await api.post("/api/equipment", json=body, headers=headers)


async def _refused(api: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    started = time.monotonic()
    while (answer := await api.get("/api/equipment", headers=headers)).status_code != 401:
        assert time.monotonic() - started < REFUSED_WITHIN, "the key still works"
        await asyncio.sleep(0.05)
    return answer


async def test_a_key_reads_and_writes_as_its_role(api: httpx.AsyncClient) -> None:
    admin = await register(api, "keys")
    technician = await create_api_key(api, admin, "technician")
    assert technician["secret"].startswith(f"rvt_{technician['prefix']}_")
    for headers in (key_headers(technician), _x_api_key(technician)):
        listed = await api.get("/api/equipment", headers=headers)
        assert listed.status_code == 200, listed.text
        made = await _asset(api, headers)
        assert made.status_code == 201, made.text
    # what a key does is its own: the asset's history names the key as its actor
    asset = made.json()["equipment"]
    history = await api.get(f"/api/equipment/{asset['id']}/history", headers=admin.headers)
    assert history.status_code == 200, history.text
    assert str(history.json()["items"][0]["actor_id"]) == technician["id"]

    viewer = await create_api_key(api, admin, "viewer")
    assert (await api.get("/api/equipment", headers=key_headers(viewer))).status_code == 200
    refused = await _asset(api, key_headers(viewer))
    assert refused.status_code == 403, refused.text
    admin_key = await create_api_key(api, admin, "admin")
    retired = await api.post(
        f"/api/equipment/{asset['id']}/retire",
        json={"reason": "replaced"},
        headers=key_headers(admin_key),
    )
    assert retired.status_code == 200, retired.text


async def test_a_read_only_key_only_reads(api: httpx.AsyncClient) -> None:
    admin = await register(api, "readonly")
    key = await create_api_key(api, admin, "admin", read_only=True)
    assert (await api.get("/api/equipment", headers=key_headers(key))).status_code == 200
    assert (await api.get("/api/auth/audit", headers=key_headers(key))).status_code == 200
    for headers in (key_headers(key), _x_api_key(key)):
        answer = await _asset(api, headers)
        assert answer.status_code == 403, answer.text
        assert "read-only" in answer.json()["error"]["message"]
    patched = await api.patch(
        "/api/auth/organization", json={"name": "Taken over"}, headers=key_headers(key)
    )
    assert patched.status_code == 403
    org = await api.get("/api/auth/organization", headers=admin.headers)
    assert org.json()["name"] != "Taken over"


async def test_a_revoked_key_is_refused_within_seconds_also_by_a_new_gateway(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin = await register(api, "revokes")
    key, other = await create_api_key(api, admin), await create_api_key(api, admin)
    revoked = await api.delete(f"/api/auth/api-keys/{key['id']}", headers=admin.headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    answer = await _refused(api, key_headers(key))
    assert answer.json()["error"] == {
        "code": "unauthorized",
        "message": "unknown or revoked API key",
    }
    assert (await api.get("/api/equipment", headers=key_headers(other))).status_code == 200

    runtime, app = services.gateway()  # another gateway process: it loads the keys at start
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fresh.test") as fresh:
            started = time.monotonic()
            while (await fresh.get("/api/equipment", headers=key_headers(other))).is_error:
                assert time.monotonic() - started < REFUSED_WITHIN, "the new gateway has no keys"
                await asyncio.sleep(0.05)
            assert (await fresh.get("/api/equipment", headers=key_headers(key))).status_code == 401
            # and it hears of revocations as they happen
            await api.delete(f"/api/auth/api-keys/{other['id']}", headers=admin.headers)
            await _refused(fresh, key_headers(other))
    finally:
        await runtime.stop()


async def test_an_expired_key_is_refused(api: httpx.AsyncClient) -> None:
    admin = await register(api, "expires")
    expires = datetime.now(UTC) + timedelta(seconds=1.5)
    key = await create_api_key(api, admin, expires_at=expires.isoformat())
    await asyncio.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.1)
    answer = await api.get("/api/equipment", headers=key_headers(key))
    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == "API key expired"
    past = await api.post(
        "/api/auth/api-keys",
        json={"name": "late", "expires_at": "2020-01-01T00:00:00Z"},
        headers=admin.headers,
    )
    assert past.status_code == 422, past.text


@pytest.mark.parametrize(
    "credential",
    [
        "rvt_",
        "rvt_short",
        "rvt_abcdefghij_" + "A" * 42,
        "rvt_ABCDEFGHIJ_" + "A" * 43,
        "rvt_abcdefghij_" + "A" * 42 + "!",
        "rvt_abcdefghij_" + "A" * 43 + "\u00e9",
        "rvt_" + "x" * 5000,
    ],
)
async def test_a_malformed_key_is_a_clear_401(api: httpx.AsyncClient, credential: str) -> None:
    for headers in ({"Authorization": f"Bearer {credential}"}, {"X-API-Key": credential}):
        try:
            answer = await api.get("/api/equipment", headers=headers)
        except UnicodeEncodeError:
            continue  # httpx will not send it: neither will a client
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"]["message"] == (
            "malformed API key: expected rvt_<prefix>_<secret>"
        )


async def test_an_unknown_key_and_two_credentials_are_401(api: httpx.AsyncClient) -> None:
    admin = await register(api, "unknown")
    unknown = "rvt_abcdefghij_" + "A" * 43
    answer = await api.get("/api/equipment", headers={"X-API-Key": unknown})
    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == "unknown or revoked API key"
    key = await create_api_key(api, admin)
    both = await api.get("/api/equipment", headers=admin.headers | _x_api_key(key))
    assert both.status_code == 401
    assert "one credential" in both.json()["error"]["message"]


async def test_keys_cannot_manage_keys_members_or_passwords(api: httpx.AsyncClient) -> None:
    admin = await register(api, "escalates")
    key = await create_api_key(api, admin, "admin")
    headers = key_headers(key)
    user_id = admin.user["id"]
    attempts = [
        ("POST", "/api/auth/api-keys", {"name": "mine now", "role": "admin"}),
        ("GET", "/api/auth/api-keys", None),
        ("DELETE", f"/api/auth/api-keys/{key['id']}", None),
        ("POST", "/api/auth/invitations", {"email": "friend@example.com", "role": "admin"}),
        ("GET", "/api/auth/invitations", None),
        ("PUT", f"/api/auth/users/{user_id}/role", {"role": "viewer"}),
        ("POST", f"/api/auth/users/{user_id}/deactivate", None),
        ("POST", "/api/auth/password/change", {"current_password": "x", "new_password": "y" * 9}),
        ("GET", "/api/auth/me", None),
    ]
    for method, url, body in attempts:
        answer = await api.request(method, url, json=body, headers=headers)
        assert answer.status_code == 403, f"{method} {url}: {answer.text}"
        assert "API keys cannot" in answer.json()["error"]["message"]
    listed = await api.get("/api/auth/api-keys", headers=admin.headers)
    assert [k["id"] for k in listed.json()["items"]] == [key["id"]]
    assert listed.json()["items"][0]["revoked_at"] is None
    me = await api.get("/api/auth/me", headers=admin.headers)
    assert (me.json()["role"], me.json()["is_active"]) == ("admin", True)


async def test_another_organization_s_key_sees_nothing_of_this_one(
    api: httpx.AsyncClient,
) -> None:
    mine, theirs = await register(api, "mine"), await register(api, "theirs")
    made = await _asset(api, mine.headers)
    asset = made.json()["equipment"]
    key = await create_api_key(api, theirs, "admin")
    headers = key_headers(key)
    assert (await api.get(f"/api/equipment/{asset['id']}", headers=headers)).status_code == 404
    listed = await api.get("/api/equipment", headers=headers)
    assert asset["id"] not in listed.text
    users = await api.get("/api/auth/users", headers=headers)
    assert mine.email not in users.text
    retired = await api.post(
        f"/api/equipment/{asset['id']}/retire", json={"reason": "x"}, headers=headers
    )
    assert retired.status_code == 404
    my_key = await create_api_key(api, mine)
    other = await api.delete(f"/api/auth/api-keys/{my_key['id']}", headers=theirs.headers)
    assert other.status_code == 404
    assert (await api.get("/api/equipment", headers=key_headers(my_key))).status_code == 200


def test_the_copy_of_the_keys_follows_events_and_reloads() -> None:
    from rivet_contracts import Role
    from rivet_gateway.api_keys import ApiKeys, Grant, KeysNotLoaded
    from rivet_gateway.tokens import InvalidToken

    now = [1000.0]
    keys = ApiKeys(clock=lambda: now[0])
    key = "rvt_abcdefghij_" + "B" * 43
    digest = hashlib.sha256(key.encode()).digest()
    grant = Grant(uuid.uuid4(), uuid.uuid4(), Role.VIEWER, False, None)
    with pytest.raises(KeysNotLoaded):  # before the first load: not "unknown"
        keys.verify(key)
    keys.replace_all({}, started=now[0])
    with pytest.raises(InvalidToken, match="unknown"):
        keys.verify(key)

    # a reload that started before a key was created keeps it
    started = now[0]
    now[0] += 1
    keys.created(digest, grant)
    keys.replace_all({}, started)
    assert keys.verify(key) == grant
    assert keys.used == {grant.key_id}

    # a reload that started before a revocation does not bring the key back
    started = now[0]
    now[0] += 1
    keys.revoked(grant.key_id)
    keys.replace_all({digest: grant}, started)
    with pytest.raises(InvalidToken, match="revoked"):
        keys.verify(key)
    # ... and once a later reload has seen the revocation, it is forgotten
    now[0] += 1
    keys.replace_all({}, now[0])
    assert keys._revoked == {}

    expiring = Grant(uuid.uuid4(), uuid.uuid4(), Role.ADMIN, True, now[0] + 10)
    keys.replace_all({digest: expiring}, now[0])
    assert keys.verify(key) == expiring
    now[0] += 10
    with pytest.raises(InvalidToken, match="expired"):
        keys.verify(key)


async def test_last_used_is_recorded_by_the_gateway_s_report(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin: Session = await register(api, "used")
    key = await create_api_key(api, admin)
    fresh = await api.get("/api/auth/api-keys", headers=admin.headers)
    assert fresh.json()["items"][0]["last_used_at"] is None
    await services.runtimes["gateway"].runner.run_now("api-keys-used")
    listed = await api.get("/api/auth/api-keys", headers=admin.headers)
    used = listed.json()["items"][0]["last_used_at"]
    assert used is not None
    assert datetime.fromisoformat(used) > datetime.now(UTC) - timedelta(minutes=1)
    view = listed.json()["items"][0]
    assert view["secret"] is None
    assert {view["prefix"], view["role"], view["read_only"]} >= {key["prefix"], "viewer", False}
    assert view["created_by"] == admin.user["id"]
