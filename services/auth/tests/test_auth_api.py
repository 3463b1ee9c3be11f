"""Auth behaviour end to end: HTTP -> gateway -> NATS -> auth service -> PostgreSQL."""

import asyncio

import httpx

from rivet_devstack.testing.helpers import PASSWORD, invite_member, login, register, unique_email


async def test_register_login_me(api: httpx.AsyncClient) -> None:
    admin = await register(api, organization_name="Acme Plant 2")
    assert admin.user["role"] == "admin"
    assert admin.user["organization_name"] == "Acme Plant 2"
    assert admin.tokens["token_type"] == "bearer"
    assert admin.tokens["expires_in"] == 900
    me = await api.get("/api/auth/me", headers=admin.headers)
    assert me.status_code == 200
    assert me.json()["email"] == admin.email
    assert "password" not in me.text
    assert "argon2" not in me.text


async def test_email_is_case_insensitive_and_unique(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    again = await api.post(
        "/api/auth/register",
        json={"email": admin.email.upper(), "password": PASSWORD, "full_name": "Copy"},
    )
    # the same answer as a new account (no enumeration), but no second account is made
    assert again.status_code == 201
    assert again.json()["id"] != admin.user["id"]
    assert (await login(api, admin.email.upper())).status_code == 200
    users = await api.get("/api/auth/users", headers=admin.headers)
    assert [u["email"] for u in users.json()["items"]] == [admin.email]


async def test_register_validation(api: httpx.AsyncClient) -> None:
    bad = await api.post(
        "/api/auth/register", json={"email": "not-an-email", "password": "s3cr3t", "full_name": ""}
    )
    assert bad.status_code == 422
    fields = {tuple(d["loc"])[-1] for d in bad.json()["error"]["details"]}
    assert {"email", "password", "full_name"} <= fields
    assert "s3cr3t" not in bad.text  # the offending password is never echoed


async def test_register_cannot_choose_role_or_org(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/auth/register",
        json={
            "email": unique_email(),
            "password": PASSWORD,
            "full_name": "Sneaky",
            "role": "admin",
            "org_id": "00000000-0000-0000-0000-000000000001",
        },
    )
    assert response.status_code == 422


async def test_wrong_password_and_unknown_user_get_the_same_answer(
    api: httpx.AsyncClient,
) -> None:
    admin = await register(api)
    wrong = await login(api, admin.email, "wrong password!")
    unknown = await login(api, unique_email("nobody"), "wrong password!")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_refresh_rotates_and_replay_revokes_the_family(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    first = admin.tokens["refresh_token"]
    rotated = await api.post("/api/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first
    assert (await api.get("/api/auth/me", headers=_bearer(rotated.json()))).status_code == 200

    replay = await api.post("/api/auth/refresh", json={"refresh_token": first})
    assert replay.status_code == 401
    assert "reuse" in replay.json()["error"]["message"]
    # The thief's replay ended the whole session, including the legitimate newer token.
    after = await api.post("/api/auth/refresh", json={"refresh_token": second})
    assert after.status_code == 401


async def test_concurrent_refreshes_exactly_one_succeeds(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    token = admin.tokens["refresh_token"]
    answers = await asyncio.gather(
        *(api.post("/api/auth/refresh", json={"refresh_token": token}) for _ in range(5))
    )
    assert sorted(a.status_code for a in answers) == [200, 401, 401, 401, 401]


async def test_refresh_rejects_garbage(api: httpx.AsyncClient) -> None:
    for token in ("x" * 20, "0" * 32 + ".secretsecretsecret", "nodot" * 5):
        answer = await api.post("/api/auth/refresh", json={"refresh_token": token})
        assert answer.status_code == 401, token


async def test_logout_revokes_the_session(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    out = await api.post("/api/auth/logout", json={"refresh_token": admin.tokens["refresh_token"]})
    assert out.status_code == 200
    assert out.json() == {"done": True}
    again = await api.post(
        "/api/auth/refresh", json={"refresh_token": admin.tokens["refresh_token"]}
    )
    assert again.status_code == 401


async def test_invitation_roles_and_admin_only_actions(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    viewer = await invite_member(api, admin, "viewer")
    technician = await invite_member(api, admin, "technician")
    assert viewer.user["org_id"] == admin.user["org_id"]
    assert viewer.user["role"] == "viewer"
    for member in (viewer, technician):
        attempt = await api.post(
            "/api/auth/invitations",
            json={"email": unique_email(), "role": "admin"},
            headers=member.headers,
        )
        assert attempt.status_code == 403
        assert attempt.json()["error"]["code"] == "forbidden"
    users = await api.get("/api/auth/users", headers=viewer.headers)
    assert {u["email"] for u in users.json()["items"]} == {
        admin.email,
        viewer.email,
        technician.email,
    }


async def test_invitation_is_single_use(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    invitation = await api.post(
        "/api/auth/invitations",
        json={"email": unique_email(), "role": "technician"},
        headers=admin.headers,
    )
    token = invitation.json()["token"]
    body = {"token": token, "password": PASSWORD, "full_name": "New Tech"}
    assert (await api.post("/api/auth/invitations/accept", json=body)).status_code == 201
    second = await api.post("/api/auth/invitations/accept", json=body)
    assert second.status_code == 404


async def test_organizations_do_not_see_each_other(api: httpx.AsyncClient) -> None:
    first, second = await register(api), await register(api)
    listed = await api.get("/api/auth/users", headers=second.headers)
    assert [u["email"] for u in listed.json()["items"]] == [second.email]
    assert first.user["org_id"] != second.user["org_id"]


def _bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}
