"""Helpers and fixtures of the attack suite: two organizations with data, a client that checks
every response for leaks, the gateway's OpenAPI operations, and a valid request for each of them
(``conftest.py`` registers the fixtures; tests import the rest from here).

Every test here walks the OpenAPI document of the running gateway, so a new route is attacked
without anyone remembering to add it; where a test needs to know something about a route (a
valid body, the role it needs), a table below must cover every route or the suite fails.
"""

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from rivet_devstack.testing.helpers import Session, create_api_key, invite_member, register
from rivet_devstack.testing.services import ServiceSet

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT / "services/ocr/tests/fixtures/np_011_clean.jpg"
CSV = b"Make,Model,Serial Number,Location\nGrundfos,CR 10-4,GF-SEC-001,Boiler house\n"

LEAKS = [
    re.compile(p, re.I)
    for p in (
        r"\$argon2(id|i|d)\$",
        r"Traceback \(most recent call last\)",
        r'File "[^"]+\.py", line \d+',
        r"\basyncpg\.",
        r"\bsqlalchemy\.",
        r"\bpsycopg",
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
        r"\bINSERT INTO\b|\bSELECT\b[^\"]{0,200}\bFROM\b",
    )
]


def leaks(text: str) -> list[str]:
    return [p.pattern for p in LEAKS if p.search(text)]


@dataclass
class Tenant:
    """An organization with a team and one of everything, seen from its admin."""

    admin: Session
    technician: Session
    viewer: Session
    asset: dict[str, Any]
    other_asset: dict[str, Any]
    order: dict[str, Any]
    import_id: str
    scan_id: str
    spare: Session | None = None
    """A technician whose account the probes may switch off, on and change the role of."""
    invitation_id: str = ""
    """A pending invitation the probes may withdraw."""
    plan: dict[str, Any] = field(default_factory=dict)
    """A calendar maintenance plan on ``asset``."""
    meter: dict[str, Any] = field(default_factory=dict)
    """A counter meter on ``asset``, with one reading."""
    webhook: dict[str, Any] = field(default_factory=dict)
    """A webhook endpoint (with its secret) created before the other objects: their events
    are its deliveries."""
    delivery_id: str = ""
    """One of the webhook's deliveries (a random id if none was attempted in time)."""
    api_key: dict[str, Any] = field(default_factory=dict)
    """A viewer API key of the organization (with its ``secret``)."""
    attachment: dict[str, Any] = field(default_factory=dict)
    """A photo its technician attached to ``order``."""
    asset_photo: dict[str, Any] = field(default_factory=dict)
    """A photo its technician attached to ``asset``: the asset's picture."""
    secrets: set[str] = field(default_factory=set)
    """Strings only this organization's members may ever see."""

    @property
    def org_id(self) -> str:
        return str(self.admin.user["org_id"])

    def session(self, role: str) -> Session:
        return {"admin": self.admin, "technician": self.technician, "viewer": self.viewer}[role]


async def _tenant(api: httpx.AsyncClient, name: str) -> Tenant:
    admin = await register(api, f"sec-{name}", organization_name=f"Security {name}")
    webhook = await api.post(
        "/api/integrations/webhooks",
        json={"url": f"https://hooks-{name}.example.com/rivet", "event_types": ["*"]},
        headers=admin.headers,
    )
    assert webhook.status_code == 201, webhook.text
    technician = await invite_member(api, admin, "technician")
    viewer = await invite_member(api, admin, "viewer")
    spare = await invite_member(api, admin, "technician")
    invitation = await api.post(
        "/api/auth/invitations",
        json={"email": f"pending-{uuid.uuid4().hex[:8]}@example.com", "role": "viewer"},
        headers=admin.headers,
    )
    assert invitation.status_code == 201, invitation.text
    tag = uuid.uuid4().hex[:8].upper()
    assets = []
    for n in (1, 2):
        answer = await api.post(
            "/api/equipment",
            json={
                "manufacturer": "Siemens",
                "model": f"1LE1 {tag}{n}",
                "serial": f"SEC-{tag}-{n}",
                "name": f"Secret pump {tag}{n}",
                "location": f"Vault {tag}",
            },
            headers=admin.headers,
        )
        assert answer.status_code == 201, answer.text
        assets.append(answer.json()["equipment"])
    order = await api.post(
        "/api/work-orders",
        json={
            "equipment_id": assets[0]["id"],
            "title": f"Secret job {tag}",
            "priority": "high",
            "checklist": [{"text": f"Secret step {tag}", "required": True}],
        },
        headers=admin.headers,
    )
    assert order.status_code == 201, order.text
    imported = await api.post(
        "/api/equipment/import",
        params={"wait": 0},
        files={"file": ("assets.csv", CSV.replace(b"GF-SEC-001", f"GF-{tag}".encode()))},
        headers=admin.headers,
    )
    assert imported.status_code in (200, 202), imported.text
    scan = await api.post(
        "/api/upload/nameplate",
        params={"wait": 0},
        files={"photo": ("plate.jpg", PHOTO.read_bytes(), "image/jpeg")},
        headers=admin.headers,
    )
    assert scan.status_code in (200, 202), scan.text
    meter = await api.post(
        "/api/meters",
        json={
            "equipment_id": assets[0]["id"],
            "name": f"Secret hours {tag}",
            "kind": "counter",
            "unit": "h",
        },
        headers=admin.headers,
    )
    assert meter.status_code == 201, meter.text
    reading = await api.post(
        f"/api/meters/{meter.json()['id']}/readings",
        json={"value": 120},
        headers=technician.headers,
    )
    assert reading.status_code == 201, reading.text
    plan = await api.post(
        "/api/maintenance/plans",
        json={
            "equipment_id": assets[0]["id"],
            "title": f"Secret plan {tag}",
            "instructions": f"Secret steps {tag}",
            "assignee_id": str(technician.user["id"]),
            "trigger": {
                "kind": "calendar",
                "every": 3,
                "unit": "months",
                "first_due": "2031-01-31",
            },
        },
        headers=admin.headers,
    )
    assert plan.status_code == 201, plan.text
    tenant = Tenant(
        admin,
        technician,
        viewer,
        assets[0],
        assets[1],
        order.json(),
        imported.json()["id"],
        scan.json()["id"],
        spare,
        invitation.json()["id"],
        plan=plan.json(),
        meter=reading.json()["meter"],
        webhook=webhook.json(),
        delivery_id=await _a_delivery(api, admin, webhook.json()["id"]),
        api_key=await create_api_key(api, admin, "viewer", name=f"Secret key {tag}"),
    )
    attached = await api.post(
        f"/api/work-orders/{tenant.order['id']}/attachments",
        files={"file": (f"secret-{tag}.jpg", PHOTO.read_bytes(), "image/jpeg")},
        data={"caption": f"Secret photo {tag}"},
        headers=technician.headers,
    )
    assert attached.status_code == 201, attached.text
    tenant.attachment = attached.json()
    tenant.order = await _order_once_attached(api, admin, tenant.order["id"])
    pictured = await api.post(
        f"/api/equipment/{tenant.asset['id']}/attachments",
        files={"file": (f"secret-plate-{tag}.jpg", PHOTO.read_bytes(), "image/jpeg")},
        headers=technician.headers,
    )
    assert pictured.status_code == 201, pictured.text
    tenant.asset_photo = pictured.json()
    tenant.asset = await _asset_once_pictured(api, admin, tenant.asset["id"])
    tenant.secrets = {
        tag,
        tenant.org_id,
        *(a["id"] for a in assets),
        tenant.order["id"],
        *(item["id"] for item in tenant.order["checklist"]),
        tenant.import_id,
        tenant.scan_id,
        tenant.plan["id"],
        tenant.webhook["id"],
        tenant.webhook["secret"],
        tenant.delivery_id,
        tenant.meter["id"],
        tenant.api_key["id"],
        tenant.api_key["prefix"],
        tenant.attachment["id"],
        tenant.asset_photo["id"],
        admin.email,
        technician.email,
        viewer.email,
    }
    return tenant


async def _a_delivery(api: httpx.AsyncClient, admin: Session, webhook_id: str) -> str:
    """A delivery of the webhook once one was attempted (its host does not resolve here, or
    is refused: each attempt fails and is logged); a random id after 15 seconds."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        log = await api.get(
            f"/api/integrations/webhooks/{webhook_id}/deliveries", headers=admin.headers
        )
        assert log.status_code == 200, log.text
        if log.json()["items"]:
            return str(log.json()["items"][0]["delivery_id"])
        await asyncio.sleep(0.25)
    return str(uuid.uuid4())


@pytest.fixture(scope="session")
async def client(services: ServiceSet) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway, in process; every response is checked for leaked secrets of the server
    (password hashes, stack traces, SQL, keys) before the test sees it."""

    async def check(response: httpx.Response) -> None:
        await response.aread()
        found = leaks(response.text)
        assert not found, f"{response.request.method} {response.request.url}: leaks {found}"

    async with services.client() as api:
        api.event_hooks["response"] = [check]
        yield api


@pytest.fixture(scope="session")
async def tenants(client: httpx.AsyncClient) -> tuple[Tenant, Tenant]:
    """Organization A (the attacker's) and B (the victim's)."""
    return await _tenant(client, "a"), await _tenant(client, "b")


@pytest.fixture(scope="session")
async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    schema: dict[str, Any] = answer.json()
    return schema


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    @property
    def secured(self) -> bool:
        return bool(self.spec.get("security"))

    @property
    def path_params(self) -> list[str]:
        return [p["name"] for p in self.spec.get("parameters", []) if p["in"] == "path"]

    @property
    def query_params(self) -> list[dict[str, Any]]:
        return [p for p in self.spec.get("parameters", []) if p["in"] == "query"]

    @property
    def body_types(self) -> list[str]:
        return list(self.spec.get("requestBody", {}).get("content", {}))

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def operations(schema: dict[str, Any]) -> list[Operation]:
    return [
        Operation(method.upper(), path, spec)
        for path, item in schema["paths"].items()
        for method, spec in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


@pytest.fixture(scope="session")
def ops(openapi: dict[str, Any]) -> list[Operation]:
    return operations(openapi)


def static_openapi() -> dict[str, Any]:
    """The gateway's OpenAPI document without a running system, to parametrize tests at
    collection time (a test checks it is the one the running gateway serves)."""
    from rivet_devstack.keys import generate
    from rivet_gateway.app import build_runtime, create_app
    from rivet_gateway.settings import GatewaySettings

    app = create_app(build_runtime(GatewaySettings(jwt_public_key=generate()[1])))
    return app.openapi()


STATIC_OPS = operations(static_openapi())


# --- a valid request for every operation ------------------------------------------------------

JSON_BODIES: dict[str, Any] = {
    "POST /api/auth/register": {
        "email": "someone@example.com",
        "password": "correct horse battery",
        "full_name": "Some One",
    },
    "POST /api/auth/refresh": {"refresh_token": "0" * 20 + "." + "1" * 43},
    "POST /api/auth/logout": {"refresh_token": "0" * 20 + "." + "1" * 43},
    "POST /api/auth/invitations": {"email": "newcomer@example.com", "role": "technician"},
    "POST /api/auth/invitations/accept": {
        "token": "x" * 43,
        "password": "correct horse battery",
        "full_name": "New Comer",
    },
    "POST /api/auth/password/forgot": {"email": "nobody-probe@example.com"},
    "PUT /api/auth/users/{user_id}/role": {"role": "technician"},
    "PATCH /api/auth/organization": {"working_hours_per_week": 40},
    "POST /api/auth/email": {},
    "POST /api/auth/email/confirm": {"code": "123456"},
    "POST /api/auth/password/reset": {
        "token": "0" * 32 + "." + "1" * 43,
        "new_password": "tulip orbit saddle 42",
    },
    # a wrong current password: the probe must not change the tenants' passwords
    "POST /api/auth/password/change": {
        "current_password": "not the password",
        "new_password": "tulip orbit saddle 42",
    },
    "POST /api/equipment": {"manufacturer": "WEG", "model": "W22", "serial": "PROBE-1"},
    "PUT /api/equipment/{ref}": {"manufacturer": "WEG", "model": "W22"},
    "PATCH /api/equipment/{ref}": {"location": "Probe bay"},
    "POST /api/equipment/{ref}/retire": {"reason": "probe retirement"},
    "POST /api/equipment/{ref}/reinstate": {"reason": "probe reinstatement"},
    "POST /api/work-orders": {"title": "Probe job"},  # + equipment_id (filled in)
    "PATCH /api/work-orders/{ref}": {"note": "probe note"},
    "PUT /api/work-orders/{ref}": {"note": "probe note"},
    "POST /api/work-orders/{ref}/comments": {"body": "probe comment"},
    "POST /api/work-orders/{ref}/checklist/{item}": {"done": True, "note": "probe note"},
    "POST /api/scans/{scan_id}/confirm": {"corrections": {"serial": "PROBE-SERIAL"}},
    "PATCH /api/attachments/{attachment_id}": {"caption": "Probe caption"},
    "PUT /api/equipment/{ref}/picture": {},  # + attachment_id (filled in)
    # + equipment_id (filled in)
    "POST /api/maintenance/plans": {
        "title": "Probe plan",
        "trigger": {"kind": "calendar", "every": 1, "unit": "months", "first_due": "2031-01-01"},
    },
    "PATCH /api/maintenance/plans/{plan_id}": {"title": "Probe plan"},
    "POST /api/maintenance/plans/{plan_id}/pause": {"reason": "probe pause"},
    "POST /api/meters": {"name": "Probe hours", "kind": "counter", "unit": "h"},  # + equipment_id
    "PATCH /api/meters/{meter_id}": {"name": "Probe meter"},
    "POST /api/meters/{meter_id}/readings": {"value": 1},
    "POST /api/integrations/webhooks": {
        "url": "https://probe.example.com/hook",
        "event_types": ["wo.*"],
    },
    "PATCH /api/integrations/webhooks/{webhook_id}": {"description": "probe"},
    "POST /api/integrations/webhooks/{webhook_id}/replay": {
        "since": "2026-01-01T00:00:00Z",
        "until": "2026-01-02T00:00:00Z",
    },
    "POST /api/auth/api-keys": {"name": "Probe key", "role": "viewer"},
    # Rivet Pro's API (ADR 0021): Rivet Pro's bodies
    "POST /pro/api/auth/register": {
        "email": "someone-pro@example.com",
        "password": "correct horse battery",
    },
    "POST /pro/api/auth/link-telegram": {"telegram_user_id": "123456789"},
    "POST /pro/api/equipment/": {
        "manufacturer": "WEG",
        "model_number": "W22",
        "serial_number": "PROBE-PRO-1",
    },
    "PUT /pro/api/equipment/{equipment_id}": {"location": "Probe bay"},
    "POST /pro/api/work-orders/": {"title": "Probe job", "description": "probe"},
    "PUT /pro/api/work-orders/{work_order_id}": {"notes": "probe note"},
}
WITH_ASSET = {
    "POST /api/work-orders",
    "POST /api/maintenance/plans",
    "POST /api/meters",
    "POST /pro/api/work-orders/",
}
"""Bodies that name an asset: the tenant's own is filled in."""
WITH_PICTURE = {"PUT /api/equipment/{ref}/picture"}
"""Bodies that name an image of the asset: the tenant's asset photo is filled in."""
FORM_BODIES: dict[str, dict[str, str]] = {
    "POST /api/auth/login": {"username": "nobody@example.com", "password": "wrong password"},
    "POST /pro/api/auth/login": {"username": "nobody@example.com", "password": "wrong password"},
}
FILES: dict[str, dict[str, tuple[str, bytes, str]]] = {
    "POST /api/equipment/import": {"file": ("assets.csv", CSV, "text/csv")},
    "POST /api/upload/nameplate": {"photo": ("plate.jpg", PHOTO.read_bytes(), "image/jpeg")},
    "POST /api/work-orders/{ref}/attachments": {
        "file": ("probe.jpg", PHOTO.read_bytes(), "image/jpeg")
    },
    "POST /api/equipment/{ref}/attachments": {
        "file": ("probe.jpg", PHOTO.read_bytes(), "image/jpeg")
    },
    "POST /pro/api/upload/nameplate": {"file": ("plate.jpg", PHOTO.read_bytes(), "image/jpeg")},
}
QUICK = {"wait": 0}
"""Query parameters that keep routes that wait for work from waiting in these tests."""
REQUIRED_QUERY = {"query": "pump"}
"""Values of required query parameters."""


def ids_of(tenant: Tenant, path: str, *, numbers: bool = False) -> dict[str, str]:
    """Path parameters of ``path`` filled with ``tenant``'s objects."""
    asset = tenant.asset["number"] if numbers else tenant.asset["id"]
    order = tenant.order["number"] if numbers else tenant.order["id"]
    return {
        "ref": order if path.startswith("/api/work-orders/") else asset,
        "equipment_id": asset,
        "work_order_id": order,
        "import_id": tenant.import_id,
        "scan_id": tenant.scan_id,
        "user_id": str(tenant.spare.user["id"]) if tenant.spare else "",
        "invitation_id": tenant.invitation_id,
        "item": "1",  # the first step of the order's checklist
        "plan_id": tenant.plan["id"],
        "webhook_id": tenant.webhook["id"],
        "delivery_id": tenant.delivery_id,
        "meter_id": tenant.meter["id"],
        "key_id": tenant.api_key.get("id", ""),
        "attachment_id": tenant.attachment.get("id", ""),
    }


def request_for(
    op: Operation, tenant: Tenant, *, numbers: bool = False, path_ids: dict[str, str] | None = None
) -> dict[str, Any]:
    """``httpx`` keyword arguments of a valid request for ``op`` about ``tenant``'s objects."""
    key = str(op)
    values = path_ids if path_ids is not None else ids_of(tenant, op.path, numbers=numbers)
    missing = [p for p in op.path_params if p not in values]
    assert not missing, f"{key}: no test object for path parameter(s) {missing}; add one"
    url = op.path.format(**{p: values[p] for p in op.path_params})
    kwargs: dict[str, Any] = {"method": op.method, "url": url}
    names = {p["name"] for p in op.query_params}
    params: dict[str, Any] = {k: v for k, v in QUICK.items() if k in names}
    for p in op.query_params:
        if p.get("required"):
            assert p["name"] in REQUIRED_QUERY, f"{key}: add a value for ?{p['name']}"
            params[p["name"]] = REQUIRED_QUERY[p["name"]]
    if params:
        kwargs["params"] = params
    if "application/json" in op.body_types:
        assert key in JSON_BODIES, f"{key}: add a valid JSON body to JSON_BODIES"
        body = dict(JSON_BODIES[key])
        if key in WITH_ASSET:
            body["equipment_id"] = tenant.asset["id"]
        if key in WITH_PICTURE:
            body["attachment_id"] = tenant.asset_photo.get("id", "")
        kwargs["json"] = body
    elif "application/x-www-form-urlencoded" in op.body_types:
        assert key in FORM_BODIES, f"{key}: add a valid form to FORM_BODIES"
        kwargs["data"] = FORM_BODIES[key]
    elif "multipart/form-data" in op.body_types:
        assert key in FILES, f"{key}: add a valid file to FILES"
        kwargs["files"] = FILES[key]
    return kwargs


async def _asset_once_pictured(api: httpx.AsyncClient, admin: Any, asset_id: str) -> dict[str, Any]:
    """The asset as its view shows it once the assets service counted its photo (an event
    after the upload) and made it the asset's picture."""
    for _ in range(100):
        asset = await api.get(f"/api/equipment/{asset_id}", headers=admin.headers)
        if asset.status_code == 200 and asset.json()["picture"]:
            found: dict[str, Any] = asset.json()
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("the assets service never showed the tenant's asset photo")


async def _order_once_attached(api: httpx.AsyncClient, admin: Any, order_id: str) -> dict[str, Any]:
    """The order as its view shows it once the work-order service counted the attachment
    (an event after the upload): the state the tenancy checks compare against."""
    for _ in range(100):
        order = await api.get(f"/api/work-orders/{order_id}", headers=admin.headers)
        if order.status_code == 200 and order.json()["attachment_count"] == 1:
            found: dict[str, Any] = order.json()
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("the work-order service never counted the tenant's attachment")
