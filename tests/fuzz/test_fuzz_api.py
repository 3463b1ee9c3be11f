"""Schemathesis against every operation of the gateway's OpenAPI document, with a real token.

The gateway app of the test session (every service running in process) is served over
loopback HTTP by uvicorn on the session's event loop; schemathesis generates requests from the
OpenAPI document in a worker thread and sends them with its own HTTP transport. Per operation:

- valid requests with generated values (ids mostly unknown: 404/422 paths),
- valid requests aimed at real objects (ids of assets, work orders, an import, a scan, a
  maintenance plan, meters and a webhook endpoint that exist in the caller's organization),
- invalid requests (negative mode): they must be refused with a 4xx.

Checks: no 5xx; status codes, content types, headers and bodies as documented; invalid data
rejected. `make test` runs a bounded pass (``RIVET_FUZZ_EXAMPLES``, default 12 per strategy);
`make fuzz` (``RIVET_FUZZ=long``) runs 150 per strategy.

Text with U+0000 is not generated: it is a known bug with its own failing test
(tests/security/test_security_errors.py).
"""

import asyncio
import contextlib
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rivet_devstack.keys import generate
from rivet_devstack.servers import free_port
from rivet_devstack.testing.helpers import register
from rivet_devstack.testing.services import ServiceSet
from rivet_gateway.app import build_runtime, create_app
from rivet_gateway.settings import GatewaySettings

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

LONG = os.environ.get("RIVET_FUZZ") == "long"
EXAMPLES = int(os.environ.get("RIVET_FUZZ_EXAMPLES", "150" if LONG else "12"))
PHOTO = Path(__file__).resolve().parents[2] / "services/ocr/tests/fixtures/np_011_clean.jpg"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@dataclass(frozen=True)
class KnownBug:
    """A reported, still open bug the fuzzer keeps finding; its failures are set aside (and
    counted) so that the pass still catches everything else. Each also has a failing test
    marked ``xfail(strict=True)`` that turns red once the bug is fixed."""

    name: str
    matches: Callable[[str, Any, Any, Failure], bool]


KNOWN_BUGS: tuple[KnownBug, ...] = ()
"""None open at present (the last one, lengths checked after stripping, is fixed)."""
KNOWN_HITS: Counter[str] = Counter()
SENT: Counter[str] = Counter()
"""Requests sent, by operation."""


def _document() -> dict[str, Any]:
    app = create_app(build_runtime(GatewaySettings(jwt_public_key=generate()[1])))
    return app.openapi()


DOCUMENT = _document()
OPERATIONS = [
    f"{method.upper()} {path}"
    for path, item in DOCUMENT["paths"].items()
    for method in item
    if path.startswith(("/api/", "/pro/")) or path == "/"
]
"""Rivet's API, Rivet Pro's (under /pro, ADR 0021) and the service's own page."""


@dataclass
class Target:
    base_url: str
    token: str
    ids: dict[str, dict[str, str]]
    """Path parameters of real objects, by path template."""


@pytest.fixture(scope="module")
async def target(services: ServiceSet, api: httpx.AsyncClient) -> AsyncIterator[Target]:
    admin = await register(api, "fuzz")
    assets = []
    for n in (1, 2):
        answer = await api.post(
            "/api/equipment",
            json={"manufacturer": "ABB", "model": f"ACS580 {n}", "serial": f"FZ-{time.time_ns()}"},
            headers=admin.headers,
        )
        assets.append(answer.json()["equipment"])
    order = await api.post(
        "/api/work-orders",
        json={
            "equipment_id": assets[0]["id"],
            "title": "Fuzzed order",
            "checklist": [
                {"text": "Look", "required": True},
                {"text": "Verdict", "kind": "pass_fail"},
                {"text": "Reading", "kind": "number", "low": 0, "high": 10},
            ],
        },
        headers=admin.headers,
    )
    imported = await api.post(
        "/api/equipment/import",
        params={"wait": 0},
        files={"file": ("a.csv", b"Make,Serial\nWEG,FZ-CSV-1\n", "text/csv")},
        headers=admin.headers,
    )
    scan = await api.post(
        "/api/upload/nameplate",
        params={"wait": 0},
        files={"photo": ("p.jpg", PHOTO.read_bytes(), "image/jpeg")},
        headers=admin.headers,
    )
    invitation = await api.post(
        "/api/auth/invitations",
        json={"email": f"fz-{time.time_ns()}@example.com", "role": "viewer"},
        headers=admin.headers,
    )
    api_key = await api.post(
        "/api/auth/api-keys", json={"name": "Fuzzed key", "role": "viewer"}, headers=admin.headers
    )
    assert api_key.status_code == 201, api_key.text
    meters = []
    for kind, extra in (("counter", {}), ("gauge", {"high_limit": 80, "deadband": 5})):
        answer = await api.post(
            "/api/meters",
            json={"equipment_id": assets[0]["id"], "name": f"Fuzzed {kind}", "kind": kind}
            | {"unit": "h"}
            | extra,
            headers=admin.headers,
        )
        assert answer.status_code == 201, answer.text
        meters.append(answer.json())
    plan = await api.post(
        "/api/maintenance/plans",
        json={
            "equipment_id": assets[0]["id"],
            "title": "Fuzzed plan",
            "trigger": {"kind": "meter", "meter_id": meters[0]["id"], "every": 500},
        },
        headers=admin.headers,
    )
    assert plan.status_code == 201, plan.text
    webhook = await api.post(
        "/api/integrations/webhooks",
        json={"url": "https://fuzz.example.com/hook", "event_types": ["*"]},
        headers=admin.headers,
    )
    assert webhook.status_code == 201, webhook.text
    attached = await api.post(
        f"/api/work-orders/{order.json()['id']}/attachments",
        files={"file": ("p.jpg", PHOTO.read_bytes(), "image/jpeg")},
        headers=admin.headers,
    )
    assert attached.status_code == 201, attached.text
    attachment = {"attachment_id": attached.json()["id"]}
    hook = {"webhook_id": webhook.json()["id"]}
    ids = {"asset": assets[0]["id"], "order": order.json()["id"], "plan": plan.json()["id"]}
    real = {
        "/api/equipment/{ref}": {"ref": ids["asset"]},
        "/api/equipment/{ref}/retire": {"ref": assets[1]["id"]},
        "/api/equipment/{ref}/reinstate": {"ref": assets[1]["id"]},
        "/api/equipment/{ref}/history": {"ref": ids["asset"]},
        "/api/equipment/{ref}/picture": {"ref": ids["asset"]},
        "/api/equipment/{equipment_id}/work-orders": {"equipment_id": ids["asset"]},
        "/api/work-orders/equipment/{equipment_id}/work-orders": {"equipment_id": ids["asset"]},
        "/api/work-orders/{ref}": {"ref": ids["order"]},
        "/api/work-orders/{ref}/comments": {"ref": ids["order"]},
        "/api/work-orders/{ref}/checklist/{item}": {"ref": ids["order"], "item": "3"},
        # the admin themself: every change is refused (the last admin), nothing moves
        "/api/auth/users/{user_id}/role": {"user_id": admin.user["id"]},
        "/api/auth/invitations/{invitation_id}": {"invitation_id": invitation.json()["id"]},
        "/api/auth/users/{user_id}/deactivate": {"user_id": admin.user["id"]},
        "/api/auth/users/{user_id}/reactivate": {"user_id": admin.user["id"]},
        "/api/auth/api-keys/{key_id}": {"key_id": api_key.json()["id"]},
        "/api/equipment/import/{import_id}": {"import_id": imported.json()["id"]},
        "/api/scans/{scan_id}": {"scan_id": scan.json()["id"]},
        "/api/scans/{scan_id}/confirm": {"scan_id": scan.json()["id"]},
        "/api/maintenance/plans/{plan_id}": {"plan_id": ids["plan"]},
        "/api/maintenance/plans/{plan_id}/pause": {"plan_id": ids["plan"]},
        "/api/maintenance/plans/{plan_id}/resume": {"plan_id": ids["plan"]},
        "/api/meters/{meter_id}": {"meter_id": meters[0]["id"]},
        "/api/meters/{meter_id}/readings": {"meter_id": meters[1]["id"]},
        "/api/integrations/webhooks/{webhook_id}": hook,
        "/api/integrations/webhooks/{webhook_id}/rotate-secret": hook,
        "/api/integrations/webhooks/{webhook_id}/deliveries": hook,
        "/api/integrations/webhooks/{webhook_id}/replay": hook,
        "/api/work-orders/{ref}/attachments": {"ref": ids["order"]},
        "/api/equipment/{ref}/attachments": {"ref": ids["asset"]},
        "/api/attachments/{attachment_id}": attachment,
        "/api/attachments/{attachment_id}/content": attachment,
        "/pro/api/equipment/{equipment_id}": {"equipment_id": ids["asset"]},
        "/pro/api/work-orders/{work_order_id}": {"work_order_id": ids["order"]},
        "/pro/api/work-orders/equipment/{equipment_id}/work-orders": {"equipment_id": ids["asset"]},
    }
    port = free_port()
    assert services.app is not None
    config = uvicorn.Config(
        services.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(100):
        if server.started:
            break
        await asyncio.sleep(0.05)
    try:
        yield Target(f"http://127.0.0.1:{port}", admin.tokens["access_token"], real)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)


def _fuzz(target: Target, operation: str) -> list[str]:
    """Runs in a worker thread; returns the failures found (empty: none)."""
    method, path = operation.split(" ", 1)
    config = schemathesis.Config.from_dict(
        {"generation": {"allow-x00": False, "max-examples": EXAMPLES}}
    )
    schema = schemathesis.openapi.from_dict(DOCUMENT, config=config)
    op = schema[path][method]
    headers = {"Authorization": f"Bearer {target.token}"}
    strategies: list[tuple[str, Any, list[Any]]] = [
        ("generated", op.as_strategy(GenerationMode.POSITIVE), CHECKS),
        ("invalid", op.as_strategy(GenerationMode.NEGATIVE), [*CHECKS, negative_data_rejection]),
    ]
    if path in target.ids:
        strategy = op.as_strategy(GenerationMode.POSITIVE, path_parameters=target.ids[path])
        strategies.append(("real ids", strategy, CHECKS))
    failures = []
    for name, strategy, checks in strategies:
        try:
            _run(operation, target.base_url, headers, strategy, checks)
        except Unsatisfiable:
            continue  # nothing about this operation can be made invalid (no parameters)
        except Exception as exc:
            failures.append(f"[{name}] {exc}")
    return failures


def _run(
    operation: str, base_url: str, headers: dict[str, str], strategy: Any, checks: list[Any]
) -> None:
    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not LONG,
        phases=[Phase.explicit, Phase.generate, Phase.shrink] if LONG else [Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=15)
        SENT[operation] += 1
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except (FailureGroup, Failure) as exc:
            found = list(exc.exceptions) if isinstance(exc, FailureGroup) else [exc]
            left = []
            for failure in found:
                bug = next(
                    (b for b in KNOWN_BUGS if b.matches(operation, case, response, failure)), None
                )
                if bug is None:
                    left.append(failure)
                else:
                    KNOWN_HITS[bug.name] += 1
            if left:
                raise FailureGroup(left) from None

    run()


@pytest.mark.timeout(3600 if LONG else 120)
@pytest.mark.parametrize("operation", OPERATIONS)
async def test_fuzz_operation(target: Target, operation: str) -> None:
    failures = await asyncio.to_thread(_fuzz, target, operation)
    assert not failures, "\n\n".join(failures)


async def test_document_is_the_served_one(api: httpx.AsyncClient) -> None:
    """The operations fuzzed (read at collection time) are those the gateway serves."""
    served = (await api.get("/openapi.json")).json()
    assert served["paths"].keys() == DOCUMENT["paths"].keys()


def test_known_bugs_report(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints how often each known bug was hit by this run's fuzzing (figures for the docs)."""
    with capsys.disabled():
        print(
            f"\nfuzz: {len(OPERATIONS)} operations, {EXAMPLES} examples per strategy, "
            f"{sum(SENT.values())} requests"
        )
        for bug in KNOWN_BUGS:
            print(f"  known bug hit {KNOWN_HITS[bug.name]:>4}x: {bug.name}")
