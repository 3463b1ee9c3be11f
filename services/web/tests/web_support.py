"""Starts the web app against the in-process stack: its runtime on the run's NATS (it hears the
work-order events), its calls to the gateway app through an ASGI transport (no socket)."""

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from rivet_devstack.testing.services import ServiceSet
from rivet_web.app import build_runtime, create_app
from rivet_web.live import LiveHub

SECRET = "test-secret-for-the-web-cookies-0123456789"


@contextlib.asynccontextmanager
async def web_app(services: ServiceSet, **overrides: Any) -> AsyncIterator[tuple[Any, LiveHub]]:
    assert services.app is not None
    values: dict[str, Any] = {
        "gateway_url": "http://rivet.test",
        "web_session_secret": SECRET,
        "web_cookie_secure": False,
        "metrics_port": "http",
    }
    settings = services.settings_for("web", **(values | overrides))
    runtime = build_runtime(settings)
    transport = httpx.ASGITransport(app=services.app, client=("127.0.0.1", 40000))
    app = create_app(runtime, transport=transport)
    await runtime.start()
    try:
        yield app, runtime.state
    finally:
        await runtime.stop()


def browser_client(app: Any, scheme: str = "http") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40001))
    return httpx.AsyncClient(transport=transport, base_url=f"{scheme}://web.test")


def set_session(client: httpx.AsyncClient, name: str, value: str) -> None:
    """Replace the browser's cookie (the jar keys cookies by domain and path)."""
    client.cookies.delete(name)
    client.cookies.set(name, value, domain="web.test", path="/")


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    form = await client.get("/sign-in")
    token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return await client.post(
        "/sign-in", data={"csrf_token": token, "email": email, "password": password}
    )


def csrf_of(html: str) -> str:
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
