"""What the gateway and the services show to the network beyond the API itself.

- The interactive docs (/docs, /redoc, where people type their password) load every file from the
  gateway, work without internet access, and their Content-Security-Policy allows no other
  origin and no inline script.
- /metrics is not on the gateway's public port: by default it has a port of its own, and
  METRICS_PORT can move it or turn it off for any service.
- Services listen on the loopback interface unless told otherwise; ``make run`` keeps the
  internal ones there.
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic_settings import BaseSettings

from rivet_devstack.cli import service_env
from rivet_devstack.keys import generate
from rivet_devstack.servers import free_port
from rivet_devstack.services import SERVICES, installed, spec
from rivet_gateway.app import build_runtime, create_app
from rivet_gateway.settings import GatewaySettings
from rivet_runtime.service import ServiceRuntime
from rivet_runtime.settings import ServiceSettings

pytestmark = pytest.mark.security

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DOCS_PAGES = ["/docs", "/redoc"]
LOOPBACK = "127.0.0.1"
DEAD_NATS = "nats://127.0.0.1:1"
DEAD_DATABASE = "postgresql://rivet@127.0.0.1:1/rivet"


# --- the docs -----------------------------------------------------------------------------------


class _Page(HTMLParser):
    """The URLs an HTML page makes a browser load, and its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href", "spec-url", "data-openapi-url"):
            if values.get(name):
                self.urls.append(str(values[name]))
        if tag == "script" and not values.get("src"):
            self.inline_scripts += 1
        for name, _ in attrs:
            assert not name.startswith("on"), f"inline event handler {name}= on <{tag}>"


def _page(html: str) -> _Page:
    parser = _Page()
    parser.feed(html)
    return parser


@pytest.fixture
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection to an address other than the loopback interface fails, as offline."""
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost"):
            raise OSError(f"offline: no route to {host}")
        real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


def _gateway(**overrides: Any) -> FastAPI:
    """The gateway's app as its entry point makes it (not started: the pages and headers
    tested here need neither NATS nor the services)."""
    settings = GatewaySettings.model_validate(
        {"jwt_public_key": generate()[1], "nats_url": DEAD_NATS} | overrides
    )
    return create_app(build_runtime(settings))


def _client(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://rivet.test")


@pytest.mark.parametrize("page", DOCS_PAGES)
async def test_docs_load_every_file_from_the_gateway_without_internet(
    no_internet: None, page: str
) -> None:
    """Every file the page needs is named by a path on the gateway and served by it from the
    installed packages: the docs work on a machine without internet access."""
    async with _client(_gateway()) as api:  # a gateway built and used offline
        answer = await api.get(page)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/html")
        parsed = _page(answer.text)
        assert parsed.inline_scripts == 0, "inline <script> on the page"
        assert parsed.urls, "the page loads nothing?"
        kinds: set[str] = set()
        for url in parsed.urls:
            assert url.startswith("/"), f"{page} loads {url}"
            assert not url.startswith("//"), f"{page} loads {url}"
            asset = await api.get(url)
            assert asset.status_code == 200, f"{page}: {url} answers {asset.status_code}"
            assert asset.content, f"{page}: {url} is empty"
            kinds.add(asset.headers["content-type"].split(";")[0])
        # the script and (Swagger UI) the style sheet are real files, not error pages
        assert "text/javascript" in kinds
        if page == "/docs":
            assert "text/css" in kinds
            bundle = await api.get("/docs/static/swagger-ui-bundle.js")
            assert b"SwaggerUIBundle" in bundle.content
            start = await api.get("/docs/static/swagger-init.js")
            assert b"SwaggerUIBundle(" in start.content
        else:
            bundle = await api.get("/docs/static/redoc.standalone.js")
            assert b"Redoc" in bundle.content
            assert len(bundle.content) > 100_000


def _csp(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


@pytest.mark.parametrize("path", [*DOCS_PAGES, "/docs/static/swagger-init.js"])
async def test_docs_policy_allows_no_other_origin_and_no_inline_script(path: str) -> None:
    async with _client(_gateway()) as api:
        answer = await api.get(path)
    assert answer.status_code == 200
    header = answer.headers["content-security-policy"]
    policy = _csp(header)
    sources = [s for values in policy.values() for s in values]
    foreign = [s for s in sources if re.match(r"(https?:|wss?:|\*|//)", s) or "." in s]
    assert not foreign, f"{path}: the docs policy allows {foreign}"
    scripts = policy.get("script-src", policy.get("default-src"))
    assert scripts == ["'self'"], f"{path}: script-src {scripts}"
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]


# --- metrics ------------------------------------------------------------------------------------


async def test_gateway_api_port_does_not_serve_metrics() -> None:
    """Route names, traffic and error rates are not for the internet: by default the gateway
    serves /metrics on a port of its own, not on the API port."""
    async with _client(_gateway()) as api:
        assert (await api.get("/metrics")).status_code == 404
        assert (await api.get("/health")).status_code == 200
    default = GatewaySettings.model_fields["metrics_port"].default
    assert isinstance(default, int)
    assert default != GatewaySettings.model_fields["http_port"].default
    # the deployment files scrape that port (tests/deploy checks them against this)
    assert spec("gateway").scrape_port == default


async def test_metrics_can_be_turned_off_for_any_service() -> None:
    for value, expected in (("http", 200), ("off", 404)):
        # a service without an API of its own: the runtime's ops app
        settings = ServiceSettings(nats_url=DEAD_NATS, metrics_port=value)
        runtime: ServiceRuntime[None] = ServiceRuntime(settings, None)
        async with _client(runtime.ops_app()) as ops:
            assert (await ops.get("/metrics")).status_code == expected
            assert (await ops.get("/health")).status_code == 200
        async with _client(_gateway(metrics_port=value)) as api:
            assert (await api.get("/metrics")).status_code == expected


# --- binding ------------------------------------------------------------------------------------


def test_services_listen_on_loopback_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HTTP_HOST", raising=False)
    assert ServiceSettings().http_host == LOOPBACK
    for entry in installed():
        cls: type[BaseSettings] = entry.load("settings")
        assert cls.model_fields["http_host"].default == LOOPBACK, entry.name


def test_make_run_keeps_internal_services_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even with HTTP_HOST=0.0.0.0 in the developer's shell (to reach the API from a phone),
    ``make run`` starts the internal services on 127.0.0.1; the gateway and the web app (the
    two front doors) follow HTTP_HOST."""
    for outer in ({}, {"HTTP_HOST": "0.0.0.0"}):
        base = {"PATH": os.environ.get("PATH", "")} | outer
        for entry in SERVICES:
            env = service_env(entry, base)
            assert env["HTTP_PORT"] == str(entry.port)
            if entry.name in ("gateway", "web"):
                assert env["HTTP_HOST"] == outer.get("HTTP_HOST", LOOPBACK), entry.name
                continue
            assert env["HTTP_HOST"] == LOOPBACK, entry.name
            if entry.installed():
                for name, value in env.items():
                    monkeypatch.setenv(name, value)
                cls: type[ServiceSettings] = entry.load("settings")
                assert cls().http_host == LOOPBACK, entry.name


def _listening(port: int) -> set[str]:
    """Addresses something listens on at ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as lines:
            for line in list(lines)[1:]:
                local, state = line.split()[1], line.split()[3]
                address, _, hex_port = local.partition(":")
                if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                    continue
                raw = bytes.fromhex(address)
                if len(raw) == 4:
                    found.add(socket.inet_ntop(socket.AF_INET, raw[::-1]))
                else:  # four little-endian 32-bit words
                    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                    found.add(socket.inet_ntop(socket.AF_INET6, words))
    return found


@contextlib.contextmanager
def _process(name: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(BIN / spec(name).command)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"exited {proc.returncode}:\n{log.read_text()[-3000:]}"
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy:\n{log.read_text()[-3000:]}")


def _devstack_env(name: str, port: int) -> dict[str, str]:
    """The environment ``make run`` gives ``name``, on a free port, with servers that are not
    there (the HTTP endpoint answers /health before they are reached)."""
    private, public = generate()
    base = {k: v for k, v in os.environ.items() if k not in ("HTTP_HOST", "METRICS_PORT")} | {
        "NATS_URL": DEAD_NATS,
        "DATABASE_URL": DEAD_DATABASE,
        "JWT_PRIVATE_KEY": private,
        "JWT_PUBLIC_KEY": public,
        "LOG_JSON": "false",
    }
    return service_env(spec(name), base) | {"HTTP_PORT": str(port)}


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's socket table")
def test_internal_service_started_by_make_run_listens_on_loopback_only(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "auth.log"
    with _process("auth", _devstack_env("auth", port), log) as proc:
        _wait_healthy(f"http://127.0.0.1:{port}/health", proc, log)
        assert _listening(port) == {LOOPBACK}
        # its metrics are where they were: beside /health, on the loopback interface
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 200


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's socket table")
def test_gateway_process_serves_metrics_on_their_own_port_only(tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    log = tmp_path / "gateway.log"
    env = _devstack_env("gateway", port) | {"METRICS_PORT": str(metrics_port)}
    with _process("gateway", env, log) as proc:
        _wait_healthy(f"http://127.0.0.1:{port}/health", proc, log)
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 404
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
        assert scraped.status_code == 200
        assert 'rivet_http_request_duration_seconds_count{method="GET",route="/docs"' in (
            scraped.text
        )
        assert _listening(port) == {LOOPBACK}
        assert _listening(metrics_port) == {LOOPBACK}
