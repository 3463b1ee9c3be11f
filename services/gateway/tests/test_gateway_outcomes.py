"""Success statuses come from the service's ``Rivet-Outcome`` header, never from a reply body.

Against fake services on a namespace of their own: a fake answers whatever body and headers a
test sets, so a body that says one thing and a header another shows which one the gateway
follows.
"""

import ast
import inspect
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from fastapi.routing import APIRoute
from nats.aio.client import Client
from nats.aio.msg import Msg

import rivet_gateway
from rivet_auth.security.jwt import TokenSigner
from rivet_contracts import Headers, Role, Rpc, ocr
from rivet_contracts.catalog import RPCS
from rivet_devstack.keys import generate
from rivet_devstack.testing.env import TestEnv
from rivet_gateway.app import build_runtime, create_app
from rivet_gateway.forward import SUCCESS_STATUS
from rivet_gateway.routes import ROUTERS
from rivet_gateway.settings import GatewaySettings

Answer = tuple[bytes, dict[str, str]]


@dataclass
class Fakes:
    """Services that answer each subject with the answers a test queued (the last one repeats)."""

    nc: Client
    namespace: str
    answers: dict[str, list[Answer]] = field(default_factory=dict)
    asked: dict[str, int] = field(default_factory=dict)

    async def serve(self, subject: str, *answers: Answer) -> None:
        first = subject not in self.answers
        self.answers[subject] = list(answers)
        self.asked[subject] = 0
        if not first:
            return

        async def respond(msg: Msg) -> None:
            queued = self.answers[subject]
            body, headers = queued.pop(0) if len(queued) > 1 else queued[0]
            self.asked[subject] += 1
            await self.nc.publish(msg.reply, body, headers=headers)

        await self.nc.subscribe(f"{self.namespace}.{subject}", cb=respond)
        await self.nc.flush()


@dataclass
class Gateway:
    http: httpx.AsyncClient
    fakes: Fakes
    auth: dict[str, str]


def _token(private_pem: str) -> str:
    signer = TokenSigner(private_pem, issuer="rivet-auth", audience="rivet", ttl=600)
    return signer.access_token(
        user_id=uuid.uuid4(), org_id=uuid.uuid4(), role=Role.ADMIN, session_id=uuid.uuid4()
    )


@pytest.fixture
async def gateway(
    test_env: TestEnv, signing_keys: tuple[str, str], namespace: str
) -> AsyncIterator[Gateway]:
    settings = GatewaySettings.model_validate(
        test_env.common() | {"jwt_public_key": signing_keys[1], "nats_namespace": namespace}
    )
    runtime = build_runtime(settings)
    app = create_app(runtime)
    nc = await nats.connect(test_env.nats_url)
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            auth = {"Authorization": f"Bearer {_token(signing_keys[0])}"}
            yield Gateway(http, Fakes(nc, namespace), auth)
    finally:
        await runtime.stop()
        await nc.close()


async def test_the_success_status_is_the_outcome_s_and_the_body_passes_untouched(
    gateway: Gateway,
) -> None:
    # The body says "matched"; only the header counts.
    body = b'{"outcome":  "matched", "equipment": null, "candidates": []}'
    cases = [
        ({}, 200),
        ({Headers.OUTCOME: "created"}, 201),
        ({Headers.OUTCOME: "accepted"}, 202),
        ({Headers.OUTCOME: "something_newer"}, 200),  # unknown to this gateway: done
    ]
    for headers, status in cases:
        await gateway.fakes.serve(Rpc.ASSETS_CREATE, (body, headers))
        answer = await gateway.http.post(
            "/api/equipment", json={"manufacturer": "ABB"}, headers=gateway.auth
        )
        assert (answer.status_code, answer.content) == (status, body), headers


async def test_an_error_is_an_error_whatever_else_the_reply_says(gateway: Gateway) -> None:
    refusal = b'{"code":"conflict","message":"taken"}'
    await gateway.fakes.serve(
        Rpc.ASSETS_CREATE, (refusal, {Headers.ERROR: "conflict", Headers.OUTCOME: "created"})
    )
    answer = await gateway.http.post(
        "/api/equipment", json={"manufacturer": "ABB"}, headers=gateway.auth
    )
    assert answer.status_code == 409
    assert answer.json() == {"error": {"code": "conflict", "message": "taken"}}


async def test_routes_have_no_success_status_of_their_own(gateway: Gateway) -> None:
    """`POST /api/auth/register` is documented 201 because its subject's catalogue entry says
    `created`; the status itself comes from the reply."""
    user = b'{"id": "as the service wrote it"}'
    register = {"email": "ana@example.com", "password": "a long password", "full_name": "Ana"}
    for headers, status in (({Headers.OUTCOME: "created"}, 201), ({}, 200)):
        await gateway.fakes.serve(Rpc.AUTH_REGISTER, (user, headers))
        answer = await gateway.http.post("/api/auth/register", json=register)
        assert (answer.status_code, answer.content) == (status, user)


def _scan(status: ocr.ScanStatus, scan_id: uuid.UUID) -> bytes:
    now = datetime.now(UTC)
    view = ocr.ScanView(id=scan_id, status=status, location=None, created_at=now, updated_at=now)
    return view.model_dump_json().encode()


async def test_waiting_for_a_job_follows_the_outcome_not_the_body(gateway: Gateway) -> None:
    scan_id = uuid.uuid4()
    running = {Headers.OUTCOME: "accepted"}
    await gateway.fakes.serve(Rpc.OCR_CONFIRM, (_scan(ocr.ScanStatus.MATCHING, scan_id), running))
    confirm = f"/api/scans/{scan_id}/confirm"

    # The body says resolved, the service says still running: the gateway keeps waiting.
    await gateway.fakes.serve(Rpc.OCR_GET_SCAN, (_scan(ocr.ScanStatus.RESOLVED, scan_id), running))
    answer = await gateway.http.post(confirm, params={"wait": 0.5}, json={}, headers=gateway.auth)
    assert answer.status_code == 202
    assert answer.headers["location"] == f"/api/scans/{scan_id}"
    assert gateway.fakes.asked[Rpc.OCR_GET_SCAN] > 1

    # Running, then done: the answer of the first reply without the outcome.
    done = _scan(ocr.ScanStatus.RESOLVED, scan_id)
    await gateway.fakes.serve(Rpc.OCR_GET_SCAN, (done, running), (done, running), (done, {}))
    answer = await gateway.http.post(confirm, params={"wait": 5}, json={}, headers=gateway.auth)
    assert (answer.status_code, answer.content) == (200, done)
    assert gateway.fakes.asked[Rpc.OCR_GET_SCAN] == 3
    assert "location" not in answer.headers


async def test_uploads_are_capped_by_the_gateway_s_settings(
    test_env: TestEnv, signing_keys: tuple[str, str]
) -> None:
    settings = GatewaySettings.model_validate(
        test_env.common()
        | {"jwt_public_key": signing_keys[1], "photo_max_bytes": 2048, "import_max_bytes": 4096}
    )
    app = create_app(build_runtime(settings))
    auth = {"Authorization": f"Bearer {_token(signing_keys[0])}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        photo = {"photo": ("p.jpg", b"x" * 3000, "image/jpeg")}
        answer = await c.post("/api/upload/nameplate", files=photo, headers=auth)
        assert answer.status_code == 413
        assert answer.json()["error"]["message"] == "photos up to 2048 bytes"
        sheet = {"file": ("a.csv", b"x" * 5000, "text/csv")}
        answer = await c.post("/api/equipment/import", files=sheet, headers=auth)
        assert answer.json()["error"]["message"] == "files up to 4096 bytes"
        # the middleware's cap while reading: the limit plus room for the form around the file
        huge = {"file": ("a.csv", b"x" * (4096 + 70 * 1024), "text/csv")}
        answer = await c.post("/api/equipment/import", files=huge, headers=auth)
        assert answer.status_code == 413
        assert answer.json()["error"]["message"] == f"body exceeds {4096 + 64 * 1024} bytes"


# Without servers: what the code of the gateway does with replies.

PACKAGE = Path(rivet_gateway.__file__).parent
READS_JSON = {"loads", "load", "model_validate_json", "validate_json"}


def _calls(tree: ast.AST) -> list[tuple[str, ast.Call]]:
    """Every call in ``tree`` with the name of the function it is in."""
    found: list[tuple[str, ast.Call]] = []

    def visit(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = (
                child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else where
            )
            if isinstance(child, ast.Call):
                found.append((inner, child))
            visit(child, inner)

    visit(tree, "<module>")
    return found


def test_no_gateway_code_parses_a_reply_or_sets_a_status_from_one() -> None:
    """JSON is parsed only in ``forward._error_reply`` (an error's ``retry_after``); replies a
    route acts on are parsed by the typed client (``Forwarder.fetch``). No code changes the
    status of a response it got from the forwarder."""
    parsed: list[str] = []
    status_set: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        name = str(path.relative_to(PACKAGE))
        for where, call in _calls(tree):
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr in READS_JSON:
                parsed.append(f"{name}:{where}:{call.lineno}")
        status_set += [
            f"{name}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and node.attr == "status_code"
        ]
    assert [p.rsplit(":", 1)[0] for p in parsed] == ["forward.py:_error_reply"], parsed
    assert status_set == []


def test_each_route_documents_the_status_its_subject_s_outcome_gives() -> None:
    """A route that forwards a subject with a fixed outcome documents that outcome's status as
    its success; one whose subject has none documents 200."""
    checked = 0
    for route in (route for router in ROUTERS for route in router.routes):
        assert isinstance(route, APIRoute)
        forwarded = re.findall(r"fwd\.call\(\s*Rpc\.(\w+)", inspect.getsource(route.endpoint))
        if len(forwarded) != 1:
            continue  # waits on a job, streams, or forwards nothing
        spec = RPCS[getattr(Rpc, forwarded[0])]
        documented = route.status_code or 200
        assert documented == SUCCESS_STATUS.get(spec.outcome, 200), (route.path, spec.subject)
        checked += 1
    assert checked > 20


def test_outcome_statuses_are_documented(gateway_openapi: dict[str, Any]) -> None:
    """Routes whose reply may say `created` or `accepted` list 201 / 202 among their answers."""
    paths = gateway_openapi["paths"]
    assert "201" in paths["/api/equipment"]["post"]["responses"]
    assert "202" in paths["/api/equipment/import/{import_id}"]["get"]["responses"]
    assert "202" in paths["/api/scans/{scan_id}"]["get"]["responses"]


def test_older_duplicate_routes_are_deprecated_and_name_their_replacement(
    gateway_openapi: dict[str, Any],
) -> None:
    paths = gateway_openapi["paths"]
    legacy = paths["/api/work-orders/equipment/{equipment_id}/work-orders"]["get"]
    assert legacy["deprecated"] is True
    assert "GET /api/equipment/{equipment_id}/work-orders" in legacy["description"]
    put = paths["/api/work-orders/{ref}"]["put"]
    assert put["deprecated"] is True
    assert "PATCH /api/work-orders/{ref}" in put["description"]
    assert "deprecated" not in paths["/api/equipment/{equipment_id}/work-orders"]["get"]
    assert "deprecated" not in paths["/api/work-orders/{ref}"]["patch"]


@pytest.fixture(scope="module")
def gateway_openapi() -> dict[str, Any]:
    app = create_app(build_runtime(GatewaySettings(jwt_public_key=generate()[1])))
    return app.openapi()
