"""The web app in a real headless Chromium (Playwright; the system's ``chromium`` package, never
a downloaded browser) against the running stack: sign in, the board, an order changed through
the API moving on the open board within a second without a reload, a status change with a
reason from the page, a resumed live connection, and the phone width without sideways scroll.
"""

import asyncio
import json
import shutil
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from web_support import web_app

from rivet_devstack.testing.helpers import Session, register
from rivet_devstack.testing.services import ServiceSet

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium on PATH: install Debian's package (`apt-get install chromium`); the "
    "browser tests never download a browser",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Site:
    """The web app served on a real socket (the browser needs one); ``drop`` stops the server
    and serves the same app again on the same port, as a proxy or network break would cut
    every open connection."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: uvicorn.Server | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            lifespan="off",
            timeout_graceful_shutdown=0,
        )
        self.server = uvicorn.Server(config)
        self.task = asyncio.create_task(self.server.serve())
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the web app did not start"
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        assert self.server is not None
        assert self.task is not None
        self.server.should_exit = True
        await self.task

    async def drop(self, during: Any) -> None:
        await self.stop()
        await during()
        await self.start()


@pytest.fixture(scope="module")
async def served(services: ServiceSet) -> AsyncIterator[Site]:
    async with web_app(services) as (app, _):
        site = Site(app)
        await site.start()
        yield site
        await site.stop()


@pytest.fixture
def site(served: Site) -> str:
    return served.url


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        launched = await p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        await launched.close()


async def _order(api: httpx.AsyncClient, admin: Session, title: str) -> dict[str, Any]:
    asset = await api.post(
        "/api/equipment",
        json={"manufacturer": "ABB", "model": "ACS580", "serial": f"B-{time.time_ns()}"},
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


async def _signed_in_page(browser: Any, site: str, admin: Session, **context: Any) -> Any:
    ctx = await browser.new_context(**context)
    page = await ctx.new_page()
    await page.goto(f"{site}/sign-in")
    await page.get_by_label("E-mail address").fill(admin.email)
    await page.get_by_label("Password").fill(admin.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{site}/dashboard")
    return page


async def test_an_order_changed_through_the_api_moves_on_the_open_board_within_a_second(
    api: httpx.AsyncClient, site: str, served: Site, browser: Any
) -> None:
    admin = await register(api, "browser")
    order = await _order(api, admin, "Conveyor belt slips")
    number = order["number"]
    page = await _signed_in_page(browser, site, admin)
    assert await page.get_by_role("heading", name="Dashboard").is_visible()
    await page.get_by_role("link", name="Board", exact=True).click()
    await page.wait_for_url(f"{site}/work-orders/board")
    card = page.locator(f"#card-{number}")
    await card.wait_for()
    assert await card.evaluate("el => el.closest('.column').dataset.status") == "open"
    await page.wait_for_selector("body[data-live=open]")
    await page.evaluate("window.__sameDocument = true")
    moved = await api.patch(
        f"/api/work-orders/{number}", json={"status": "in_progress"}, headers=admin.headers
    )
    assert moved.status_code == 200, moved.text
    started = time.monotonic()
    await page.wait_for_selector(f'.column[data-status="in_progress"] #card-{number}', timeout=1000)
    took = time.monotonic() - started
    assert took < 1.0, took
    load = await page.evaluate("performance.getEntriesByType('navigation')[0].duration")
    print(f"board: loaded in {load:.0f} ms; a card moved {took * 1000:.0f} ms after the API answer")
    assert await page.evaluate("window.__sameDocument === true")  # no reload
    assert await page.locator(f"#card-{number}").count() == 1
    # the connection drops and the order changes meanwhile: the browser reconnects with
    # Last-Event-ID and the change arrives

    async def while_down() -> None:
        await page.wait_for_selector("body[data-live=reconnecting]", timeout=5000)
        held = await api.patch(
            f"/api/work-orders/{number}", json={"status": "on_hold"}, headers=admin.headers
        )
        assert held.status_code == 200, held.text
        await asyncio.sleep(0.3)  # the event reaches the web app while the page is away

    await served.drop(while_down)
    await page.wait_for_selector(f'.column[data-status="on_hold"] #card-{number}', timeout=5000)
    assert await page.evaluate("window.__sameDocument === true")
    await page.context.close()


async def test_a_dropped_live_connection_resumes_from_its_last_event_id(
    api: httpx.AsyncClient, site: str, browser: Any
) -> None:
    """The same at the protocol level: a second connection with Last-Event-ID gets what the
    first missed, and an id this replica does not hold asks for a reload."""
    admin = await register(api, "resume")
    order = await _order(api, admin, "Compressor oil")
    page = await _signed_in_page(browser, site, admin)
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    await page.context.close()
    async with httpx.AsyncClient(base_url=site, cookies=cookies, timeout=10) as client:
        first_id = None
        async with client.stream("GET", "/live") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            moved = await api.patch(
                f"/api/work-orders/{order['number']}",
                json={"status": "in_progress"},
                headers=admin.headers,
            )
            assert moved.status_code == 200
            async for line in stream.aiter_lines():
                if line.startswith("id: "):
                    first_id = line[4:]
                    break
        assert first_id
        # disconnected; two more changes happen
        for status in ("on_hold", "in_progress"):
            answer = await api.patch(
                f"/api/work-orders/{order['number']}",
                json={"status": status},
                headers=admin.headers,
            )
            assert answer.status_code == 200
        await asyncio.sleep(0.3)  # the events reach the web app
        statuses = []
        headers = {"Last-Event-ID": first_id}
        async with client.stream("GET", "/live", headers=headers) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    statuses.append(json.loads(line[6:])["status"])
                if len(statuses) == 2:
                    break
        assert statuses == ["on_hold", "in_progress"]
        async with client.stream("GET", "/live", headers={"Last-Event-ID": "0.1"}) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("event: "):
                    assert line == "event: resync"
                    break
        async with httpx.AsyncClient(base_url=site) as anonymous:
            assert (await anonymous.get("/live")).status_code == 401


async def test_a_status_change_from_the_page_with_a_reason_and_the_apis_refusal(
    api: httpx.AsyncClient, site: str, browser: Any
) -> None:
    from playwright.async_api import expect

    admin = await register(api, "status")
    order = await _order(api, admin, "Leaking valve")
    number = order["number"]
    page = await _signed_in_page(browser, site, admin)
    await page.goto(f"{site}/work-orders/{number}")
    await page.get_by_label("New status").select_option("cancelled")
    await page.get_by_role("button", name="Change status").click()
    alert = page.get_by_role("alert")
    await alert.wait_for()
    assert "reason" in (await alert.inner_text()).lower()
    await page.get_by_label("New status").select_option("cancelled")
    await page.get_by_label("Reason").fill("Raised twice by the night shift")
    await page.get_by_role("button", name="Change status").click()
    await page.wait_for_url(f"{site}/work-orders/{number}")
    assert await page.locator("#order-status").inner_text() == "Cancelled"
    assert await page.get_by_text("Raised twice by the night shift").is_visible()
    now = await api.get(f"/api/work-orders/{number}", headers=admin.headers)
    assert now.json()["status"] == "cancelled"
    # the order's page is live too: reopened through the API, it shows at once
    await page.wait_for_selector("body[data-live=open]")
    reopened = await api.patch(
        f"/api/work-orders/{number}",
        json={"status": "open", "reason": "The other one was closed"},
        headers=admin.headers,
    )
    assert reopened.status_code == 200, reopened.text
    await expect(page.locator("#order-status")).to_have_text("Open", timeout=2000)
    assert await page.get_by_text("The other one was closed").is_visible()
    # keyboard: the skip link is the first stop and leads to the content
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
    await page.context.close()


async def test_every_page_fits_a_phone_without_sideways_scrolling(
    api: httpx.AsyncClient, site: str, browser: Any
) -> None:
    admin = await register(api, "phone")
    order = await _order(api, admin, "A rather long title " * 6)
    page = await _signed_in_page(
        browser, site, admin, viewport={"width": 375, "height": 812}, is_mobile=True
    )
    for path in (
        "/dashboard",
        "/work-orders/board",
        "/work-orders",
        f"/work-orders/{order['number']}",
    ):
        await page.goto(f"{site}{path}")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, (path, width)
    await page.context.close()
    # and the sign-in page
    ctx = await browser.new_context(viewport={"width": 375, "height": 812})
    page = await ctx.new_page()
    await page.goto(f"{site}/sign-in")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await ctx.close()
