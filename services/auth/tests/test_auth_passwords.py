"""Passwords through the gateway, with mail read from a real local SMTP server: a reset link
by mail (same answer and timing for unknown addresses, once, 30 minutes, throttled per
account), a reset that ends every session, a change that needs the current password and keeps
only the session that made it."""

import asyncio
import re
import statistics
import time
import uuid
from email.message import EmailMessage
from typing import Any

import asyncpg
import httpx
import pytest

from rivet_devstack.testing.helpers import PASSWORD, Session, login, register, unique_email
from rivet_devstack.testing.services import ServiceSet

NEW_PASSWORD = "tulip orbit saddle 42"
TOKEN = re.compile(r"token=([0-9a-f]{32}\.[A-Za-z0-9_-]{43})")


async def _mails_to(services: ServiceSet, address: str, count: int = 1) -> list[EmailMessage]:
    deadline = time.monotonic() + 15
    while True:
        found = [m for m in services.mail.received if m["To"] == address]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} of {count} mails to {address}"
        await asyncio.sleep(0.1)


def _token(message: EmailMessage) -> str:
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = TOKEN.search(text)
    assert found, text
    return found.group(1)


async def _forgot(api: httpx.AsyncClient, email: str) -> httpx.Response:
    return await api.post("/api/auth/password/forgot", json={"email": email})


async def _reset(api: httpx.AsyncClient, token: str, password: str) -> httpx.Response:
    return await api.post(
        "/api/auth/password/reset", json={"token": token, "new_password": password}
    )


async def _sql(services: ServiceSet, query: str, *args: Any) -> Any:
    db = await asyncpg.connect(services.env.database_url)
    try:
        return await db.fetch(query, *args)
    finally:
        await db.close()


async def test_a_reset_link_by_mail_sets_a_new_password_and_ends_every_session(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    user = await register(api, "forgetful")
    answer = await _forgot(api, user.email.upper())  # any case
    assert answer.status_code == 202, answer.text
    (mail,) = await _mails_to(services, user.email)
    assert mail["Subject"] == "Choose a new Rivet password"
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "reset-password?token=" in html
    token = _token(mail)

    assert (await _reset(api, token, "password")).status_code == 422  # policy still applies
    assert (await _reset(api, token, NEW_PASSWORD)).status_code == 200
    again = await _reset(api, token, NEW_PASSWORD + "x")  # once
    assert again.status_code == 422
    assert "invalid, used or expired" in again.json()["error"]["message"]

    assert (await login(api, user.email, PASSWORD)).status_code == 401
    assert (await login(api, user.email, NEW_PASSWORD)).status_code == 200
    old_session = await api.post(
        "/api/auth/refresh", json={"refresh_token": user.tokens["refresh_token"]}
    )
    assert old_session.status_code == 401  # the session from before the reset has ended


async def test_an_expired_or_forged_link_does_nothing(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    user = await register(api, "slow")
    await _forgot(api, user.email)
    token = _token((await _mails_to(services, user.email))[0])
    await _sql(
        services,
        "UPDATE auth.password_resets SET expires_at = now() - interval '1 second' "
        "WHERE user_id = $1",
        uuid.UUID(user.user["id"]),
    )
    assert (await _reset(api, token, NEW_PASSWORD)).status_code == 422
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert (await _reset(api, forged, NEW_PASSWORD)).status_code == 422
    assert (await _reset(api, "not a token at all", NEW_PASSWORD)).status_code == 422
    assert (await login(api, user.email, PASSWORD)).status_code == 200


async def test_unknown_addresses_get_the_same_answer_in_the_same_time_and_no_mail(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    user = await register(api, "known")
    nobody = unique_email("nobody")
    known, unknown = await _forgot(api, user.email), await _forgot(api, nobody)
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    # timing: the request does the same work either way (the job looks the address up later)
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    for _ in range(15):
        for who, email in (("known", user.email), ("unknown", unique_email("nobody"))):
            started = time.perf_counter()
            await _forgot(api, email)
            times[who].append(time.perf_counter() - started)
    a, b = (statistics.median(times[k]) for k in ("known", "unknown"))
    assert abs(a - b) < max(0.003, 0.5 * min(a, b)), (a, b)
    await _mails_to(services, user.email, 3)  # the known address got mail (3 an hour at most)
    await asyncio.sleep(1.5)
    assert not [m for m in services.mail.received if m["To"] == nobody]
    assert len([m for m in services.mail.received if m["To"] == user.email]) == 3


async def test_change_needs_the_current_password_and_keeps_only_this_session(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    user = await register(api, "changer")
    other = await login(api, user.email)  # a second session, e.g. on a phone
    assert other.status_code == 200
    wrong = await api.post(
        "/api/auth/password/change",
        json={"current_password": "not it at all", "new_password": NEW_PASSWORD},
        headers=user.headers,
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["message"] == "the current password is wrong"
    changed = await api.post(
        "/api/auth/password/change",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=user.headers,
    )
    assert changed.status_code == 200, changed.text
    pair = changed.json()
    for spent in (user.tokens["refresh_token"], other.json()["refresh_token"]):
        refreshed = await api.post("/api/auth/refresh", json={"refresh_token": spent})
        assert refreshed.status_code == 401  # every other session has ended
    kept = await api.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert kept.status_code == 200
    assert (await login(api, user.email, NEW_PASSWORD)).status_code == 200
    needs_login = await api.post(
        "/api/auth/password/change",
        json={"current_password": NEW_PASSWORD, "new_password": PASSWORD + "!"},
    )
    assert needs_login.status_code == 401


async def test_wrong_current_passwords_are_throttled(api: httpx.AsyncClient) -> None:
    user: Session = await register(api, "guesser")
    statuses = []
    for attempt in range(8):
        answer = await api.post(
            "/api/auth/password/change",
            json={"current_password": f"guess number {attempt}", "new_password": NEW_PASSWORD},
            headers=user.headers,
        )
        statuses.append(answer.status_code)
    assert statuses[:5] == [422] * 5
    assert 429 in statuses[5:]


async def test_logins_are_recorded(api: httpx.AsyncClient, services: ServiceSet) -> None:
    user = await register(api, "recorded")
    rows = await _sql(
        services,
        "SELECT last_login_at, email_verified FROM auth.users WHERE email = $1",
        user.email,
    )
    assert rows[0]["last_login_at"] is not None
    assert rows[0]["email_verified"] is False


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "x" * 400}, {"email": None}],
)
async def test_bad_forgot_requests_are_refused(
    api: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    assert (await api.post("/api/auth/password/forgot", json=body)).status_code == 422


async def test_registering_a_taken_address_looks_the_same_and_tells_the_owner(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    owner = await register(api, "owner")
    body = {"email": owner.email, "password": "tulip orbit saddle 42", "full_name": "Impostor"}
    again = await api.post("/api/auth/register", json=body)
    fresh = await api.post("/api/auth/register", json=body | {"email": unique_email("fresh")})
    assert again.status_code == fresh.status_code == 201
    assert set(again.json()) == set(fresh.json())
    assert again.json()["email"] == owner.email
    (warning,) = await _mails_to(services, owner.email)
    assert warning["Subject"] == "Someone tried to open a Rivet account with your address"
    # nothing changed: the owner's password still works, the impostor's does not
    assert (await login(api, owner.email, PASSWORD)).status_code == 200
    assert (await login(api, owner.email, "tulip orbit saddle 42")).status_code == 401


CODE = re.compile(r"\b([0-9]{6})\b")


async def test_an_address_is_proved_with_a_mailed_code(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    user = await register(api, "prover")
    new = unique_email("new-address")
    started = await api.post("/api/auth/email", json={"email": new}, headers=user.headers)
    assert started.status_code == 202, started.text
    (message,) = await _mails_to(services, new)
    code = CODE.search(message["Subject"])
    assert code is not None
    wrong = "000000" if code.group(1) != "000000" else "111111"
    bad = await api.post("/api/auth/email/confirm", json={"code": wrong}, headers=user.headers)
    assert bad.status_code == 422
    good = await api.post(
        "/api/auth/email/confirm", json={"code": code.group(1)}, headers=user.headers
    )
    assert good.status_code == 200, good.text
    assert (good.json()["email"], good.json()["email_verified"]) == (new, True)
    assert (await login(api, new)).status_code == 200  # the new address signs in
    again = await api.post(
        "/api/auth/email/confirm", json={"code": code.group(1)}, headers=user.headers
    )
    assert again.status_code == 422  # used


async def test_codes_allow_five_tries_and_addresses_stay_unique(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    user, other = await register(api, "tries"), await register(api, "taken")
    await api.post("/api/auth/email", json={"email": other.email}, headers=user.headers)
    (message,) = await _mails_to(services, other.email)
    code = CODE.search(message["Subject"])
    assert code is not None
    taken = await api.post(
        "/api/auth/email/confirm", json={"code": code.group(1)}, headers=user.headers
    )
    assert taken.status_code == 409
    await api.post("/api/auth/email", headers=user.headers, json={})
    (own,) = await _mails_to(services, user.email)
    real = CODE.search(own["Subject"])
    assert real is not None
    wrong = "000000" if real.group(1) != "000000" else "111111"
    for _ in range(5):
        answer = await api.post(
            "/api/auth/email/confirm", json={"code": wrong}, headers=user.headers
        )
        assert answer.status_code == 422
    late = await api.post(
        "/api/auth/email/confirm", json={"code": real.group(1)}, headers=user.headers
    )
    assert late.status_code == 422  # five wrong tries: the code is spent
    assert "ask for a new one" in late.json()["error"]["message"]
