"""Weak passwords are refused wherever an account gets one (NIST SP 800-63B): common ones, the
account's own e-mail, name or organization (also with digits added), repeated characters and
sequences. The answer is a 422 that says which rule was broken, never echoes the password, and
changes nothing: the e-mail stays free, the invitation stays usable."""

import uuid

import httpx
import pytest

from rivet_devstack.testing.helpers import PASSWORD, register

pytestmark = pytest.mark.security

NAME = "Marta Quist"
ORGANIZATION = "Quarry Works"
RULES = {"password_common", "password_personal", "password_pattern"}


def _weak(email: str, organization: str | None = ORGANIZATION) -> list[str]:
    """Weak passwords for the account ``email`` / ``NAME`` / ``organization``."""
    local = email.partition("@")[0]
    own = [f"{organization} 1", f"{organization.lower().replace(' ', '')}!"] if organization else []
    return [
        *own,
        "password",
        "12345678",
        "password123",
        "Password123!",
        "iloveyou",
        email,
        email.upper(),
        f"{local}123",
        NAME,
        f"{NAME.lower().replace(' ', '')}2024",
        "aaaaaaaa",
        "zzzzzzzzzzzz",
        "abcdefgh",
        "87654321",
        "23456789",
        "pqpqpqpqpq",
    ]


def _assert_refused(answer: httpx.Response, password: str) -> None:
    assert answer.status_code == 422, f"{password!r}: {answer.status_code} {answer.text}"
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert "choose another" in error["message"], error
    [detail] = error["details"]
    assert detail["loc"][-1] == "password"
    assert detail["type"] in RULES
    assert detail["msg"] == error["message"]
    if password.lower() not in error["message"]:  # "password" is in "this password is ..."
        assert password.lower() not in answer.text.lower()  # never echoed


async def test_registration_refuses_weak_passwords(client: httpx.AsyncClient) -> None:
    email = f"marta-{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "full_name": NAME, "organization_name": ORGANIZATION}
    for password in _weak(email):
        answer = await client.post("/api/auth/register", json=body | {"password": password})
        _assert_refused(answer, password)
    # Nothing was created by the refusals: the e-mail is still free for a strong password.
    strong = await client.post("/api/auth/register", json=body | {"password": PASSWORD})
    assert strong.status_code == 201, strong.text
    login = await client.post("/api/auth/login", data={"username": email, "password": PASSWORD})
    assert login.status_code == 200


async def test_registration_explains_each_rule(client: httpx.AsyncClient) -> None:
    email = f"rules-{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "full_name": NAME}
    expected = {
        "password123": ("password_common", "too common"),
        f"{email.partition('@')[0]}123": ("password_personal", "e-mail address"),
        "Marta Quist!": ("password_personal", "name"),
        "zzzzzzzzzzzz": ("password_pattern", "repeated"),
        "ghijklmnop": ("password_pattern", "sequence"),
    }
    for password, (rule, words) in expected.items():
        answer = await client.post("/api/auth/register", json=body | {"password": password})
        _assert_refused(answer, password)
        error = answer.json()["error"]
        assert error["details"][0]["type"] == rule, (password, error)
        assert words in error["message"], (password, error)


async def test_invitation_accept_refuses_weak_passwords(client: httpx.AsyncClient) -> None:
    admin = await register(client, "inviter", organization_name="Pump House North")
    email = f"invitee-{uuid.uuid4().hex[:10]}@example.com"
    invitation = await client.post(
        "/api/auth/invitations", json={"email": email, "role": "technician"}, headers=admin.headers
    )
    assert invitation.status_code == 201, invitation.text
    body = {"token": invitation.json()["token"], "full_name": NAME}
    own_organization = ["Pump House North", "pumphouse2024", "NORTH HOUSE 99!"]
    for password in [*_weak(email, organization=None), *own_organization]:
        answer = await client.post(
            "/api/auth/invitations/accept", json=body | {"password": password}
        )
        _assert_refused(answer, password)
    # The refusals did not spend the invitation.
    joined = await client.post("/api/auth/invitations/accept", json=body | {"password": PASSWORD})
    assert joined.status_code == 201, joined.text
    assert joined.json()["email"] == email
