"""Attacks on the web app: another organization's orders, forged and cross-site forms, forged or
fixed session cookies, script in data, and the headers every answer carries. The web app is a
client of the API, so the API's own checks apply behind it; these tests make sure the web app
adds no way around them."""

import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rivet_devstack.testing.helpers import Session, register
from rivet_devstack.testing.services import ServiceSet

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services/web/tests"))

from web_support import browser_client, csrf_of, sign_in, web_app

pytestmark = pytest.mark.security


@pytest.fixture(scope="module")
async def web(services: ServiceSet) -> AsyncIterator[Any]:
    async with web_app(services) as (app, _):
        yield app


async def _order(api: httpx.AsyncClient, admin: Session, title: str) -> dict[str, Any]:
    asset = await api.post(
        "/api/equipment",
        json={"manufacturer": "KSB", "model": "Etanorm", "serial": f"S-{time.time_ns()}"},
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


def _state_changing_routes(app: Any) -> list[str]:
    return sorted(
        route.path
        for route in app.routes
        if "POST" in getattr(route, "methods", set()) and route.path != "/sign-in"
    )


async def test_another_organizations_order_is_not_found_through_the_web_app(
    api: httpx.AsyncClient, web: Any
) -> None:
    mine, theirs = await register(api, "webten-a"), await register(api, "webten-b")
    secret = await _order(api, theirs, "Their secret job")
    await _order(api, mine, "My job")  # the same number exists in my organization too
    their_id = secret["id"]
    async with browser_client(web) as browser:
        await sign_in(browser, mine.email, mine.password)
        page = await browser.get("/work-orders/board")
        csrf = csrf_of(page.text)
        assert "Their secret job" not in page.text
        seen = await browser.get(f"/work-orders/{their_id}")
        assert seen.status_code == 404
        assert "Their secret job" not in seen.text
        moved = await browser.post(
            f"/work-orders/{their_id}/status",
            data={"csrf_token": csrf, "status": "cancelled", "reason": "Not yours to cancel"},
        )
        assert moved.status_code == 404
        commented = await browser.post(
            f"/work-orders/{their_id}/comments", data={"csrf_token": csrf, "body": "hello"}
        )
        assert commented.status_code == 404
        listed = await browser.get("/work-orders")
        assert "Their secret job" not in listed.text
    after = await api.get(f"/api/work-orders/{their_id}", headers=theirs.headers)
    assert after.json()["status"] == "open"
    assert all(e["kind"] != "comment" for e in after.json()["timeline"])


async def test_every_state_changing_route_needs_the_sessions_csrf_token_and_same_origin(
    api: httpx.AsyncClient, web: Any
) -> None:
    admin = await register(api, "webforge")
    order = await _order(api, admin, "Forgery target")
    routes = _state_changing_routes(web)
    assert routes == [
        "/sign-out",
        "/work-orders/{ref}/comments",
        "/work-orders/{ref}/status",
    ], "a new form: add it here and make sure it checks the CSRF token"
    async with browser_client(web) as browser:
        await sign_in(browser, admin.email, admin.password)
        csrf = csrf_of((await browser.get("/dashboard")).text)
        body = {"status": "cancelled", "reason": "Forged by another site", "body": "forged"}
        for route in routes:
            path = route.replace("{ref}", order["number"])
            assert (await browser.post(path, data=body)).status_code == 403, path
            wrong = body | {"csrf_token": "x" * 43}
            assert (await browser.post(path, data=wrong)).status_code == 403, path
            cross = await browser.post(
                path, data=body | {"csrf_token": csrf}, headers={"Origin": "https://evil.example"}
            )
            assert cross.status_code == 403, path
        # still signed in, nothing changed
        assert (await browser.get("/dashboard")).status_code == 200
    now = await api.get(f"/api/work-orders/{order['number']}", headers=admin.headers)
    assert now.json()["status"] == "open"
    assert all(e["kind"] != "comment" for e in now.json()["timeline"])


async def test_forged_and_fixed_session_cookies_get_nothing(
    api: httpx.AsyncClient, web: Any
) -> None:
    admin = await register(api, "webfix")
    async with browser_client(web) as browser:
        # a cookie planted before sign-in (fixation) is never the session after it
        browser.cookies.set("rivet_session", "planted-by-an-attacker", domain="web.test")
        assert (await browser.get("/dashboard")).status_code == 303
        signed = await sign_in(browser, admin.email, admin.password)
        assert signed.status_code == 303
        assert browser.cookies["rivet_session"] != "planted-by-an-attacker"
        assert (await browser.get("/dashboard")).status_code == 200
    async with browser_client(web) as stranger:
        stranger.cookies.set("rivet_session", "gAAAAABforged" + "A" * 100, domain="web.test")
        assert (await stranger.get("/dashboard")).status_code == 303
        assert (await stranger.get("/live")).status_code == 401
        assert (await stranger.post("/sign-out", data={})).status_code == 401


async def test_script_in_data_stays_text_and_every_page_has_the_security_headers(
    api: httpx.AsyncClient, web: Any
) -> None:
    admin = await register(api, "webxss")
    order = await _order(api, admin, '"><img src=x onerror=alert(1)><script>alert(2)</script>')
    async with browser_client(web) as browser:
        sign_in_page = await browser.get("/sign-in")
        await sign_in(browser, admin.email, admin.password)
        pages = [sign_in_page]
        for path in (
            "/dashboard",
            "/work-orders/board",
            "/work-orders",
            f"/work-orders/{order['number']}",
            "/work-orders/WO-0000-000000",
        ):
            pages.append(await browser.get(path))
        for page in pages:
            assert "<script>alert(2)</script>" not in page.text
            assert "<img src=x" not in page.text
            headers = page.headers
            csp = headers["content-security-policy"]
            assert "script-src 'self'" in csp
            assert "unsafe-inline" not in csp
            assert "frame-ancestors 'none'" in csp
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["cache-control"] == "no-store"
            assert "Traceback" not in page.text
