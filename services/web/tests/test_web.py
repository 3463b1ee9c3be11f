"""The web app against the running stack: sign-in, cookies, CSRF, pages, status changes with
the API's rules, and the live feed fed by the work-order events."""

import asyncio
import time
from typing import Any

import httpx
import pytest
from web_support import SECRET, browser_client, csrf_of, set_session, sign_in, web_app

from rivet_devstack.testing.helpers import Session, register
from rivet_devstack.testing.services import ServiceSet
from rivet_web.live import LiveHub
from rivet_web.session import SESSION_COOKIE, CookieCodec


async def _order(api: httpx.AsyncClient, admin: Session, title: str) -> dict[str, Any]:
    asset = await api.post(
        "/api/equipment",
        json={"manufacturer": "Grundfos", "model": "CR 10", "serial": f"W-{time.time_ns()}"},
        headers=admin.headers,
    )
    assert asset.status_code == 201, asset.text
    order = await api.post(
        "/api/work-orders",
        json={"equipment_id": asset.json()["equipment"]["id"], "title": title},
        headers=admin.headers,
    )
    assert order.status_code == 201, order.text
    body: dict[str, Any] = order.json()
    return body


@pytest.fixture(scope="module")
async def web(services: ServiceSet) -> Any:
    async with web_app(services) as started:
        yield started


async def test_sign_in_sets_a_private_cookie_and_a_new_session_each_time(
    api: httpx.AsyncClient, web: Any
) -> None:
    app, _ = web
    admin = await register(api, "web")
    async with browser_client(app) as browser:
        assert (await browser.get("/dashboard")).status_code == 303  # to the sign-in page
        signed = await sign_in(browser, admin.email, admin.password)
        assert signed.status_code == 303
        assert signed.headers["location"] == "/dashboard"
        cookie = next(
            h for h in signed.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)
        )
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Path=/" in cookie
        assert "Secure" not in cookie  # plain http, WEB_COOKIE_SECURE unset
        first = browser.cookies[SESSION_COOKIE]
        assert admin.tokens["refresh_token"].split(".")[0] not in first  # encrypted
        again = await sign_in(browser, admin.email, admin.password)
        assert again.status_code == 303
        assert browser.cookies[SESSION_COOKIE] != first
        dashboard = await browser.get("/dashboard")
        assert dashboard.status_code == 200
        assert "default-src 'none'" in dashboard.headers["content-security-policy"]
        out = await browser.post("/sign-out", data={"csrf_token": csrf_of(dashboard.text)})
        assert out.status_code == 303
        assert SESSION_COOKIE not in browser.cookies
    # the refresh token of that session no longer works: the API ended the session
    async with browser_client(app) as other:
        set_session(other, SESSION_COOKIE, first)
        # the first cookie's session was replaced by the second sign-in, which still works
        assert (await other.get("/dashboard")).status_code in (200, 303)


async def test_secure_cookie_over_tls(services: ServiceSet, api: httpx.AsyncClient) -> None:
    admin = await register(api, "websec")
    async with (
        web_app(services, web_cookie_secure=True) as (app, _),
        browser_client(app, "https") as browser,
    ):
        signed = await sign_in(browser, admin.email, admin.password)
        assert signed.status_code == 303, signed.text
        cookie = next(
            h for h in signed.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)
        )
        assert "Secure" in cookie


async def test_sign_in_refuses_a_form_without_its_csrf_token_and_shows_the_api_message(
    api: httpx.AsyncClient, web: Any
) -> None:
    app, _ = web
    admin = await register(api, "webcsrf")
    async with browser_client(app) as browser:
        forged = await browser.post(
            "/sign-in", data={"email": admin.email, "password": admin.password}
        )
        assert forged.status_code == 403
        assert SESSION_COOKIE not in browser.cookies
        wrong = await sign_in(browser, admin.email, "not the password")
        assert wrong.status_code == 401
        assert "Incorrect" in wrong.text or "password" in wrong.text.lower()
        cross = await browser.post(
            "/sign-in",
            data={"email": admin.email, "password": admin.password},
            headers={"Origin": "https://evil.example"},
        )
        assert cross.status_code == 403


async def test_dashboard_shows_the_apis_figures(api: httpx.AsyncClient, web: Any) -> None:
    app, _ = web
    admin = await register(api, "webdash")
    await _order(api, admin, "Dashboard pump")
    await _order(api, admin, "Dashboard fan")
    deadline = time.monotonic() + 5  # the figures are counted from the events
    while (await api.get("/api/stats/overview", headers=admin.headers)).json()["work_orders"][
        "open"
    ] != 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    async with browser_client(app) as browser:
        await sign_in(browser, admin.email, admin.password)
        page = await browser.get("/dashboard")
        assert page.status_code == 200
        assert '<span class="figure" id="kpi-open">2</span>' in page.text
        assert "<svg" in page.text
        assert "<polyline" in page.text


async def test_board_list_detail_and_status_changes_follow_the_apis_rules(
    api: httpx.AsyncClient, web: Any
) -> None:
    app, _ = web
    admin = await register(api, "webwo")
    order = await _order(api, admin, "<script>alert(1)</script> leaking seal")
    number = order["number"]
    async with browser_client(app) as browser:
        await sign_in(browser, admin.email, admin.password)
        board = await browser.get("/work-orders/board")
        assert board.status_code == 200
        assert f'id="card-{number}"' in board.text
        assert "<script>alert(1)</script>" not in board.text  # escaped, stays text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in board.text
        listed = await browser.get("/work-orders", params={"status": "open"})
        assert number in listed.text
        bad = await browser.get("/work-orders", params={"priority": "urgent"})
        assert bad.status_code == 422
        assert 'role="alert"' in bad.text
        detail = await browser.get(f"/work-orders/{number}")
        assert detail.status_code == 200
        assert "Timeline" in detail.text
        csrf = csrf_of(detail.text)
        # without the CSRF token nothing changes
        forged = await browser.post(f"/work-orders/{number}/status", data={"status": "cancelled"})
        assert forged.status_code == 403
        # the API's rule: cancelling needs a reason; its message is shown
        refused = await browser.post(
            f"/work-orders/{number}/status", data={"csrf_token": csrf, "status": "cancelled"}
        )
        assert refused.status_code == 422
        assert 'role="alert"' in refused.text
        assert "reason" in refused.text.lower()
        moved = await browser.post(
            f"/work-orders/{number}/status",
            data={"csrf_token": csrf, "status": "in_progress", "reason": ""},
        )
        assert moved.status_code == 303
        now = await api.get(f"/api/work-orders/{number}", headers=admin.headers)
        assert now.json()["status"] == "in_progress"
        # a move the API does not allow: its 409 message
        done = await browser.post(
            f"/work-orders/{number}/status",
            data={"csrf_token": csrf, "status": "open", "reason": "Not my call"},
        )
        assert done.status_code in (303, 409)
        cancelled = await browser.post(
            f"/work-orders/{number}/status",
            data={"csrf_token": csrf, "status": "cancelled", "reason": "Duplicate of another"},
        )
        assert cancelled.status_code == 303
        comment = await browser.post(
            f"/work-orders/{number}/comments",
            data={"csrf_token": csrf, "body": "Seal <b>ordered</b>"},
        )
        assert comment.status_code == 303
        page = await browser.get(f"/work-orders/{number}")
        assert "Duplicate of another" in page.text
        assert "Seal &lt;b&gt;ordered&lt;/b&gt;" in page.text
        missing = await browser.get("/work-orders/WO-1999-999999")
        assert missing.status_code == 404
        weird = await browser.get("/work-orders/..%2F..%2Fapi%2Fauth%2Fusers")
        assert weird.status_code == 404


async def test_an_expired_access_token_is_refreshed_and_the_cookie_rewritten(
    api: httpx.AsyncClient, web: Any
) -> None:
    app, _ = web
    admin = await register(api, "webrefresh")
    codec = CookieCodec(SECRET, 3600)
    async with browser_client(app) as browser:
        await sign_in(browser, admin.email, admin.password)
        data = codec.load(browser.cookies[SESSION_COOKIE])
        assert data is not None
        data["access_token"] = "not-a-token"
        set_session(browser, SESSION_COOKIE, codec.dump(data))
        page = await browser.get("/dashboard")
        assert page.status_code == 200, page.headers.get("location")
        renewed = codec.load(browser.cookies[SESSION_COOKIE])
        assert renewed is not None
        assert renewed["access_token"] != "not-a-token"
        # a session whose refresh token no longer works is sent to sign in again
        data["refresh_token"] = "00000000-0000-0000-0000-000000000000.nope"
        set_session(browser, SESSION_COOKIE, codec.dump(data))
        ended = await browser.get("/dashboard")
        assert ended.status_code == 303
        assert "/sign-in" in ended.headers["location"]


async def test_the_live_feed_hears_changes_of_its_organization_only(
    api: httpx.AsyncClient, web: Any
) -> None:
    _, hub = web
    assert isinstance(hub, LiveHub)
    mine, theirs = await register(api, "weblive"), await register(api, "webother")
    start = f"{hub.boot}.0"
    order = await _order(api, mine, "Live belt")
    other = await _order(api, theirs, "Other belt")
    moved = await api.patch(
        f"/api/work-orders/{order['number']}",
        json={"status": "in_progress"},
        headers=mine.headers,
    )
    assert moved.status_code == 200, moved.text
    deadline = time.monotonic() + 5
    org = str(mine.user["org_id"])
    while True:
        seen = hub.missed(org, start) or []
        if any(c.order["status"] == "in_progress" for c in seen):
            break
        assert time.monotonic() < deadline, seen
        await asyncio.sleep(0.05)
    assert {c.order["title"] for c in seen} == {order["title"]}
    assert other["title"] not in {c.order["title"] for c in seen}
    # resuming after the first change gives the ones after it, in order
    after_first = hub.missed(org, hub.event_id(seen[0]))
    assert after_first == seen[1:]
