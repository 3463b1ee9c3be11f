"""Members through the gateway: admins change roles and switch accounts off and on; an
organization always keeps an active admin; a revoked access token (a new role, a switched-off
account, a logout, a new password) is refused within seconds, also by a gateway started after
the revocation."""

import asyncio
import time
from typing import Any

import httpx

from rivet_devstack.testing.helpers import (
    PASSWORD,
    Session,
    invite_member,
    login,
    register,
)
from rivet_devstack.testing.services import ServiceSet

REFUSED_WITHIN = 5.0


async def _refused(
    api: httpx.AsyncClient, who: Session, headers: dict[str, str] | None = None
) -> float:
    """Seconds until ``/me`` with the token is refused (asserting it happens in time)."""
    started = time.monotonic()
    while True:
        answer = await api.get("/api/auth/me", headers=headers or who.headers)
        if answer.status_code == 401:
            return time.monotonic() - started
        assert answer.status_code == 200, answer.text
        assert time.monotonic() - started < REFUSED_WITHIN, "the revoked token still works"
        await asyncio.sleep(0.05)


async def _refresh(api: httpx.AsyncClient, token: str) -> httpx.Response:
    return await api.post("/api/auth/refresh", json={"refresh_token": token})


async def _role(api: httpx.AsyncClient, admin: Session, user_id: str, role: str) -> httpx.Response:
    return await api.put(
        f"/api/auth/users/{user_id}/role", json={"role": role}, headers=admin.headers
    )


async def test_a_new_role_ends_the_old_tokens_and_the_next_refresh_carries_it(
    api: httpx.AsyncClient,
) -> None:
    admin = await register(api)
    tech = await invite_member(api, admin, "technician")
    changed = await _role(api, admin, tech.user["id"], "viewer")
    assert changed.status_code == 200, changed.text
    assert changed.json()["role"] == "viewer"
    await _refused(api, tech)
    refreshed = await _refresh(api, tech.tokens["refresh_token"])
    assert refreshed.status_code == 200
    tech.tokens = refreshed.json()
    me = await api.get("/api/auth/me", headers=tech.headers)
    assert me.json()["role"] == "viewer"
    # a viewer cannot open work orders any more
    assert (await api.post("/api/work-orders", json={}, headers=tech.headers)).status_code in (
        403,
        422,
    )


async def test_a_switched_off_account_is_refused_everywhere_and_can_come_back(
    api: httpx.AsyncClient,
) -> None:
    admin = await register(api)
    tech = await invite_member(api, admin, "technician")
    off = await api.post(f"/api/auth/users/{tech.user['id']}/deactivate", headers=admin.headers)
    assert off.status_code == 200, off.text
    assert off.json()["is_active"] is False
    took = await _refused(api, tech)
    assert took < REFUSED_WITHIN
    assert (await _refresh(api, tech.tokens["refresh_token"])).status_code == 401
    assert (await login(api, tech.email)).status_code == 401
    listed = await api.get("/api/auth/users", headers=admin.headers)
    assert tech.user["id"] not in {u["id"] for u in listed.json()["items"]}
    everyone = await api.get(
        "/api/auth/users", params={"include_inactive": "true"}, headers=admin.headers
    )
    found = {u["id"]: u for u in everyone.json()["items"]}
    assert found[tech.user["id"]]["is_active"] is False

    on = await api.post(f"/api/auth/users/{tech.user['id']}/reactivate", headers=admin.headers)
    assert on.status_code == 200
    assert on.json()["is_active"] is True
    assert (await login(api, tech.email)).status_code == 200


async def test_a_switched_off_member_cannot_be_given_work(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    tech = await invite_member(api, admin, "technician")
    asset = await api.post(
        "/api/equipment",
        json={"manufacturer": "WEG", "model": "W22", "serial": f"M-{time.time_ns()}"},
        headers=admin.headers,
    )
    body = {"title": "Check the fan", "equipment_id": asset.json()["equipment"]["id"],
            "assignee_id": tech.user["id"]}  # fmt: skip
    assert (await api.post("/api/work-orders", json=body, headers=admin.headers)).status_code == 201
    await api.post(f"/api/auth/users/{tech.user['id']}/deactivate", headers=admin.headers)
    deadline = time.monotonic() + 10
    while True:  # the work-order service hears of it through its replica
        answer = await api.post("/api/work-orders", json=body, headers=admin.headers)
        if answer.status_code == 422:
            assert "switched off" in answer.json()["error"]["message"]
            break
        assert time.monotonic() < deadline, answer.text
        await asyncio.sleep(0.1)


async def test_an_organization_keeps_an_active_admin(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    me = admin.user["id"]
    assert (await _role(api, admin, me, "technician")).status_code == 409
    demoted_self = await api.post(f"/api/auth/users/{me}/deactivate", headers=admin.headers)
    assert demoted_self.status_code == 409
    assert "active admin" in demoted_self.json()["error"]["message"]
    second = await invite_member(api, admin, "admin")
    assert (await _role(api, admin, me, "technician")).status_code == 200  # another admin now
    assert (await _role(api, second, second.user["id"], "viewer")).status_code == 409


async def test_admins_manage_only_their_own_organization(api: httpx.AsyncClient) -> None:
    admin, other = await register(api), await register(api, "other")
    foreign = other.user["id"]
    assert (await _role(api, admin, foreign, "viewer")).status_code == 404
    answer = await api.post(f"/api/auth/users/{foreign}/deactivate", headers=admin.headers)
    assert answer.status_code == 404
    me = await api.get("/api/auth/me", headers=other.headers)
    assert me.status_code == 200
    assert me.json()["is_active"] is True


async def test_logout_ends_that_session_s_access_tokens_only(api: httpx.AsyncClient) -> None:
    user = await register(api, "two-devices")
    phone: dict[str, Any] = (await login(api, user.email)).json()
    logout = await api.post(
        "/api/auth/logout", json={"refresh_token": user.tokens["refresh_token"]}
    )
    assert logout.status_code == 200
    await _refused(api, user)
    phone_headers = {"Authorization": f"Bearer {phone['access_token']}"}
    assert (await api.get("/api/auth/me", headers=phone_headers)).status_code == 200


async def test_a_new_password_ends_the_old_access_tokens(api: httpx.AsyncClient) -> None:
    user = await register(api, "changes")
    old = dict(user.headers)
    changed = await api.post(
        "/api/auth/password/change",
        json={"current_password": PASSWORD, "new_password": "tulip orbit saddle 42"},
        headers=user.headers,
    )
    assert changed.status_code == 200
    await _refused(api, user, old)
    new_headers = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert (await api.get("/api/auth/me", headers=new_headers)).status_code == 200


async def test_a_gateway_started_later_knows_the_revocations(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin = await register(api)
    tech = await invite_member(api, admin, "technician")
    await api.post(f"/api/auth/users/{tech.user['id']}/deactivate", headers=admin.headers)
    await _refused(api, tech)
    runtime, app = services.gateway()  # another gateway process: it loads them at start
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fresh.test") as fresh:
            started = time.monotonic()
            while (await fresh.get("/api/auth/me", headers=tech.headers)).status_code != 401:
                assert time.monotonic() - started < REFUSED_WITHIN
                await asyncio.sleep(0.05)
            assert (await fresh.get("/api/auth/me", headers=admin.headers)).status_code == 200
    finally:
        await runtime.stop()


async def test_invitations_arrive_by_mail_and_can_be_withdrawn(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin = await register(api, "inviter")
    email = f"invitee-{time.time_ns()}@example.com"
    sent = await api.post(
        "/api/auth/invitations", json={"email": email, "role": "technician"}, headers=admin.headers
    )
    assert sent.status_code == 201, sent.text
    token = sent.json()["token"]
    deadline = time.monotonic() + 15
    while not (mails := [m for m in services.mail.received if m["To"] == email]):
        assert time.monotonic() < deadline, "no invitation mail"
        await asyncio.sleep(0.1)
    text = mails[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"join?token={token}" in text
    assert "Inviter Person invites you" in mails[0]["Subject"]
    pending = await api.get("/api/auth/invitations", headers=admin.headers)
    (listed,) = [i for i in pending.json()["items"] if i["email"] == email]
    assert listed["token"] is None  # shown once only
    withdrawn = await api.delete(f"/api/auth/invitations/{listed['id']}", headers=admin.headers)
    assert withdrawn.status_code == 200
    again = await api.delete(f"/api/auth/invitations/{listed['id']}", headers=admin.headers)
    assert again.status_code == 404
    joined = await api.post(
        "/api/auth/invitations/accept",
        json={"token": token, "password": "tulip orbit saddle 42", "full_name": "Late Comer"},
    )
    assert joined.status_code == 404  # the withdrawn link no longer works
    assert email not in {i["email"] for i in (await api.get(
        "/api/auth/invitations", headers=admin.headers)).json()["items"]}  # fmt: skip


async def test_admins_set_the_organization_s_time_zone_and_hours(
    api: httpx.AsyncClient,
) -> None:
    admin = await register(api, "settings")
    viewer = await invite_member(api, admin, "viewer")
    got = await api.get("/api/auth/organization", headers=viewer.headers)
    assert got.status_code == 200
    assert (got.json()["time_zone"], got.json()["working_hours_per_week"]) == ("UTC", 40.0)
    body = {"time_zone": "America/Chicago", "working_hours_per_week": 37.5}
    changed = await api.patch("/api/auth/organization", json=body, headers=admin.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["time_zone"] == "America/Chicago"
    assert changed.json()["name"] == got.json()["name"]  # left out: unchanged
    refused = await api.patch("/api/auth/organization", json=body, headers=viewer.headers)
    assert refused.status_code == 403
    bad = await api.patch(
        "/api/auth/organization", json={"time_zone": "Mars/Olympus"}, headers=admin.headers
    )
    assert bad.status_code == 422
    assert "IANA" in bad.text
    hours = await api.patch(
        "/api/auth/organization", json={"working_hours_per_week": 0}, headers=admin.headers
    )
    assert hours.status_code == 422


async def test_the_audit_log_records_security_events_for_admins_only(
    api: httpx.AsyncClient,
) -> None:
    admin = await register(api, "audited")
    tech = await invite_member(api, admin, "technician")
    assert (await login(api, tech.email, "wrong password!")).status_code == 401
    await _role(api, admin, tech.user["id"], "viewer")
    await api.post(f"/api/auth/users/{tech.user['id']}/deactivate", headers=admin.headers)
    assert (await api.get("/api/auth/audit", headers=tech.headers)).status_code in (401, 403)
    entries: list[dict[str, Any]] = []
    before = None
    while True:  # newest first, paged
        params = {"limit": 3} | ({"before": before} if before else {})
        page = await api.get("/api/auth/audit", params=params, headers=admin.headers)
        assert page.status_code == 200, page.text
        entries += page.json()["items"]
        before = page.json()["next_before"]
        if before is None:
            break
    actions = [e["action"] for e in reversed(entries)]
    assert actions == [
        "registered", "login", "invited", "joined", "login", "login_failed", "role_changed",
        "deactivated",
    ]  # fmt: skip
    failed = next(e for e in entries if e["action"] == "login_failed")
    assert (failed["user_id"], failed["actor_id"]) == (tech.user["id"], None)
    other = await register(api, "elsewhere")
    theirs = await api.get("/api/auth/audit", headers=other.headers)
    assert {e["action"] for e in theirs.json()["items"]} == {"registered", "login"}
