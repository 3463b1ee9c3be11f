"""Roles hold on every route: viewers only read, technicians cannot do what admins do, and
planning fields or someone else's assignment stay with admins."""

import uuid
from typing import Any

import httpx
import pytest
from security_support import STATIC_OPS, Operation, Tenant, request_for

pytestmark = pytest.mark.security

RANK = {"viewer": 0, "technician": 1, "admin": 2}
MIN_ROLE: dict[str, str | None] = {
    # None: no token needed (the route is for signing in).
    "POST /api/auth/register": None,
    "POST /api/auth/login": None,
    "POST /api/auth/refresh": None,
    "POST /api/auth/logout": None,
    "POST /api/auth/invitations/accept": None,
    "POST /api/auth/password/forgot": None,
    "POST /api/auth/password/reset": None,
    "POST /api/auth/password/change": "viewer",
    "PUT /api/auth/users/{user_id}/role": "admin",
    "POST /api/auth/users/{user_id}/deactivate": "admin",
    "POST /api/auth/users/{user_id}/reactivate": "admin",
    "GET /api/auth/me": "viewer",
    "GET /api/auth/users": "viewer",
    "POST /api/auth/invitations": "admin",
    "GET /api/auth/invitations": "admin",
    "GET /api/auth/organization": "viewer",
    "GET /api/auth/audit": "admin",
    "POST /api/auth/email": "viewer",
    "POST /api/auth/email/confirm": "viewer",
    "PATCH /api/auth/organization": "admin",
    "DELETE /api/auth/invitations/{invitation_id}": "admin",
    "POST /api/auth/link-telegram": "viewer",
    "POST /api/auth/api-keys": "admin",
    "GET /api/auth/api-keys": "admin",
    "DELETE /api/auth/api-keys/{key_id}": "admin",
    "GET /api/equipment": "viewer",
    "POST /api/equipment": "technician",
    "GET /api/equipment/search/fuzzy": "viewer",
    "POST /api/equipment/import": "admin",
    "GET /api/equipment/import/{import_id}": "admin",
    "GET /api/equipment/{ref}": "viewer",
    "PUT /api/equipment/{ref}": "technician",
    "PATCH /api/equipment/{ref}": "technician",
    "DELETE /api/equipment/{ref}": "viewer",  # 405 for everyone: assets are never deleted
    "POST /api/equipment/{ref}/retire": "admin",
    "POST /api/equipment/{ref}/reinstate": "admin",
    "GET /api/equipment/export": "viewer",
    "GET /api/equipment/{ref}/history": "viewer",
    "PUT /api/equipment/{ref}/picture": "technician",
    "GET /api/work-orders": "viewer",
    "POST /api/work-orders": "technician",
    "GET /api/work-orders/equipment/{equipment_id}/work-orders": "viewer",
    "GET /api/equipment/{equipment_id}/work-orders": "viewer",
    "GET /api/work-orders/{ref}": "viewer",
    "PATCH /api/work-orders/{ref}": "technician",
    "PUT /api/work-orders/{ref}": "technician",
    "POST /api/work-orders/{ref}/comments": "technician",
    "POST /api/work-orders/{ref}/checklist/{item}": "technician",
    "GET /api/stats/overview": "viewer",
    "GET /api/stats/equipment-health": "viewer",
    "GET /api/stats/work-order-trends": "viewer",
    "GET /api/stats/summary": "viewer",
    "GET /api/stats/kpis": "viewer",
    "POST /api/upload/nameplate": "technician",
    "GET /api/scans/{scan_id}": "viewer",
    "POST /api/scans/{scan_id}/confirm": "technician",
    "GET /api/maintenance/plans": "viewer",
    "POST /api/maintenance/plans": "admin",
    "GET /api/maintenance/plans/{plan_id}": "viewer",
    "PATCH /api/maintenance/plans/{plan_id}": "admin",
    "POST /api/maintenance/plans/{plan_id}/pause": "admin",
    "POST /api/maintenance/plans/{plan_id}/resume": "admin",
    "GET /api/meters": "viewer",
    "POST /api/meters": "admin",
    "GET /api/meters/{meter_id}": "viewer",
    "PATCH /api/meters/{meter_id}": "admin",
    "GET /api/meters/{meter_id}/readings": "viewer",
    "POST /api/meters/{meter_id}/readings": "technician",
    "GET /api/maintenance/forecast": "viewer",
    "GET /api/maintenance/overdue": "viewer",
    "GET /api/maintenance/kpis": "viewer",
    "GET /api/integrations/webhooks": "admin",
    "POST /api/integrations/webhooks": "admin",
    "GET /api/integrations/webhooks/{webhook_id}": "admin",
    "PATCH /api/integrations/webhooks/{webhook_id}": "admin",
    "DELETE /api/integrations/webhooks/{webhook_id}": "admin",
    "POST /api/integrations/webhooks/{webhook_id}/rotate-secret": "admin",
    "GET /api/integrations/webhooks/{webhook_id}/deliveries": "admin",
    "POST /api/integrations/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver": "admin",
    "POST /api/integrations/webhooks/{webhook_id}/replay": "admin",
    "POST /api/work-orders/{ref}/attachments": "technician",
    "GET /api/work-orders/{ref}/attachments": "viewer",
    "POST /api/equipment/{ref}/attachments": "technician",
    "GET /api/equipment/{ref}/attachments": "viewer",
    "GET /api/attachments/{attachment_id}": "viewer",
    "GET /api/attachments/{attachment_id}/content": "viewer",
    "PATCH /api/attachments/{attachment_id}": "technician",
    "DELETE /api/attachments/{attachment_id}": "technician",
    "GET /api/attachments/usage": "admin",
    # Rivet Pro's API (ADR 0021): the roles of the Rivet routes each one uses
    "POST /pro/api/auth/register": None,
    "POST /pro/api/auth/login": None,
    "GET /pro/api/auth/me": "viewer",
    "POST /pro/api/auth/link-telegram": "viewer",
    "POST /pro/api/equipment/": "technician",
    "GET /pro/api/equipment/": "viewer",
    "GET /pro/api/equipment/search/fuzzy": "viewer",
    "GET /pro/api/equipment/{equipment_id}": "viewer",
    "PUT /pro/api/equipment/{equipment_id}": "technician",
    "POST /pro/api/work-orders/": "technician",
    "GET /pro/api/work-orders/": "viewer",
    "GET /pro/api/work-orders/equipment/{equipment_id}/work-orders": "viewer",
    "GET /pro/api/work-orders/{work_order_id}": "viewer",
    "PUT /pro/api/work-orders/{work_order_id}": "technician",
    "GET /pro/api/stats/overview": "viewer",
    "GET /pro/api/stats/equipment-health": "viewer",
    "GET /pro/api/stats/work-order-trends": "viewer",
    "GET /pro/api/stats/summary": "viewer",
    "POST /pro/api/upload/nameplate": "technician",
}
API_PREFIXES = ("/api/", "/pro/api/")
"""Rivet's API and Rivet Pro's (the service's own pages, `/` and `/pro/health`, need no one)."""


def _api_ops(ops: list[Operation]) -> list[Operation]:
    return [op for op in ops if op.path.startswith(API_PREFIXES)]


def test_every_route_has_a_declared_role(ops: list[Operation]) -> None:
    """A new route must be added to MIN_ROLE, and a token-free one must be meant that way."""
    listed = {str(op) for op in _api_ops(ops)}
    assert listed == set(MIN_ROLE), {
        "routes without a role here": sorted(listed - set(MIN_ROLE)),
        "roles of routes that are gone": sorted(set(MIN_ROLE) - listed),
    }
    for op in _api_ops(ops):
        assert op.secured == (MIN_ROLE[str(op)] is not None), f"{op}: token requirement"


async def test_lower_roles_are_refused_on_every_route(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant], ops: list[Operation]
) -> None:
    team, _ = tenants
    refused = 0
    for op in _api_ops(ops):
        needed = MIN_ROLE[str(op)]
        if needed is None:
            continue
        for role in ("viewer", "technician"):
            if RANK[role] >= RANK[needed]:
                continue
            answer = await client.request(
                **request_for(op, team), headers=team.session(role).headers
            )
            assert answer.status_code == 403, f"{op} as {role}: {answer.status_code} {answer.text}"
            assert answer.json()["error"]["code"] == "forbidden"
            refused += 1
    assert refused >= 15
    # Nothing the refused calls tried happened.
    asset = await client.get(f"/api/equipment/{team.asset['id']}", headers=team.admin.headers)
    assert asset.json()["status"] == "in_service"
    assert asset.json()["version"] == team.asset["version"]
    plan = await client.get(f"/api/maintenance/plans/{team.plan['id']}", headers=team.admin.headers)
    assert (plan.json()["status"], plan.json()["version"]) == ("active", team.plan["version"])
    meter = await client.get(f"/api/meters/{team.meter['id']}", headers=team.admin.headers)
    assert meter.json()["updated_at"] == team.meter["updated_at"]
    readings = await client.get(
        f"/api/meters/{team.meter['id']}/readings", headers=team.admin.headers
    )
    assert [r["value"] for r in readings.json()["items"]] == [120]
    hook = await client.get(
        f"/api/integrations/webhooks/{team.webhook['id']}", headers=team.admin.headers
    )
    assert hook.status_code == 200, "not deleted by a lower role"
    assert hook.json()["secret_hint"] == team.webhook["secret_hint"], "nor its secret rotated"


async def test_allowed_roles_get_through(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant], ops: list[Operation]
) -> None:
    """The other side of the table: each role reaches what it may (no 401/403), so the
    refusals above are about roles, not broken requests."""
    team, _ = tenants
    for op in _api_ops(ops):
        needed = MIN_ROLE[str(op)]
        if needed is None or op.method != "GET":
            continue
        for role in ("viewer", "technician", "admin"):
            if RANK[role] < RANK[needed]:
                continue
            answer = await client.request(
                **request_for(op, team), headers=team.session(role).headers
            )
            assert answer.status_code in (200, 202), f"{op} as {role}: {answer.text}"


@pytest.mark.parametrize(
    "changes",
    [
        {"priority": "low"},
        {"due_at": "2030-01-01T00:00:00Z"},
        {"title": "Renamed by a technician"},
        {"description": "rewritten"},
        {"work_type": "preventive"},
    ],
)
async def test_technicians_cannot_change_planning_fields(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant], changes: dict[str, Any]
) -> None:
    team, _ = tenants
    answer = await client.patch(
        f"/api/work-orders/{team.order['id']}", json=changes, headers=team.technician.headers
    )
    assert answer.status_code == 403, answer.text


async def test_technicians_assign_only_themselves(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant]
) -> None:
    team, _ = tenants
    url = f"/api/work-orders/{team.order['id']}"
    other = await client.patch(
        url, json={"assignee_id": team.admin.user["id"]}, headers=team.technician.headers
    )
    assert other.status_code == 403, other.text
    viewer = await client.patch(
        url, json={"assignee_id": team.viewer.user["id"]}, headers=team.admin.headers
    )
    assert viewer.status_code == 422, "viewers cannot be given work"


async def test_only_admins_complete_over_open_required_checklist_items(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant]
) -> None:
    """A required step not done holds the completion back; an override is an admin's, and a
    technician's attempt changes nothing."""
    team, _ = tenants
    made = await client.post(
        "/api/work-orders",
        json={
            "equipment_id": team.asset["id"],
            "title": "Override probe",
            "checklist": [{"text": "Torque the bolts", "required": True}],
        },
        headers=team.technician.headers,
    )
    assert made.status_code == 201, made.text
    url = f"/api/work-orders/{made.json()['id']}"
    started = await client.patch(url, json={"status": "in_progress"}, headers=team.admin.headers)
    assert started.status_code == 200, started.text
    for role in ("technician", "viewer"):
        answer = await client.patch(
            url,
            json={"status": "completed", "override_reason": "skip the step"},
            headers=team.session(role).headers,
        )
        assert answer.status_code == 403, f"{role}: {answer.text}"
    plain = await client.patch(url, json={"status": "completed"}, headers=team.admin.headers)
    assert plain.status_code == 409, plain.text
    order = await client.get(url, headers=team.admin.headers)
    assert order.json()["status"] == "in_progress"
    assert order.json()["version"] == started.json()["version"]


async def test_invitations_cannot_escalate(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant]
) -> None:
    team, _ = tenants
    for role in ("viewer", "technician"):
        answer = await client.post(
            "/api/auth/invitations",
            json={"email": "boss@example.com", "role": "admin"},
            headers=team.session(role).headers,
        )
        assert answer.status_code == 403, answer.text


def test_collection_time_document_is_the_served_one(
    ops: list[Operation], openapi: dict[str, Any]
) -> None:
    """Tests parametrized at collection time see the same routes as the running gateway."""
    assert sorted(map(str, STATIC_OPS)) == sorted(map(str, ops))


async def _asset(client: httpx.AsyncClient, team: Tenant, *, retired: bool) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:10].upper()
    made = await client.post(
        "/api/equipment",
        json={"manufacturer": "Lenze", "model": "i550", "serial": f"LC-{tag}"},
        headers=team.admin.headers,
    )
    assert made.status_code == 201, made.text
    asset: dict[str, Any] = made.json()["equipment"]
    if retired:
        answer = await client.post(
            f"/api/equipment/{asset['id']}/retire",
            json={"reason": "scrapped"},
            headers=team.admin.headers,
        )
        assert answer.status_code == 200, answer.text
        asset = answer.json()
    return asset


@pytest.mark.parametrize("role", ["viewer", "technician", "admin"])
@pytest.mark.parametrize("method", ["PATCH", "PUT"])
@pytest.mark.parametrize(
    ("start", "target"),
    [("in_service", "retired"), ("retired", "in_service"), ("retired", "out_of_service")],
)
async def test_status_edits_never_retire_or_reinstate(
    client: httpx.AsyncClient,
    tenants: tuple[Tenant, Tenant],
    role: str,
    method: str,
    start: str,
    target: str,
) -> None:
    """Retiring and reinstating are admins' decisions with a reason, on their own routes: an
    edit that tries either is refused for every role (403 below admin, 422 naming the route for
    an admin), and nothing changes."""
    team, _ = tenants
    asset = await _asset(client, team, retired=start == "retired")
    body = {"status": target} | ({"manufacturer": "Lenze"} if method == "PUT" else {})
    answer = await client.request(
        method,
        f"/api/equipment/{asset['id']}",
        json=body,
        headers=team.session(role).headers,
    )
    assert answer.status_code == (422 if role == "admin" else 403), answer.text
    if role == "admin":
        route = "retire" if target == "retired" else "reinstate"
        assert f"/{route}" in answer.json()["error"]["message"]
    now = await client.get(f"/api/equipment/{asset['id']}", headers=team.admin.headers)
    assert (now.json()["status"], now.json()["version"]) == (start, asset["version"])


async def test_retire_and_reinstate_need_an_admin_and_a_reason(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant]
) -> None:
    team, _ = tenants
    asset = await _asset(client, team, retired=False)
    url = f"/api/equipment/{asset['id']}"
    for route in ("retire", "reinstate"):  # the second undoes the first
        for role in ("viewer", "technician"):
            answer = await client.post(
                f"{url}/{route}", json={"reason": "mine"}, headers=team.session(role).headers
            )
            assert answer.status_code == 403, f"{route} as {role}: {answer.text}"
        for body in ({}, {"reason": ""}, {"reason": "   "}):
            answer = await client.post(f"{url}/{route}", json=body, headers=team.admin.headers)
            assert answer.status_code == 422, f"{route} {body}: {answer.text}"
        done = await client.post(
            f"{url}/{route}", json={"reason": f"{route} for the test"}, headers=team.admin.headers
        )
        assert done.status_code == 200, done.text
    history = await client.get(f"{url}/history", headers=team.admin.headers)
    actions = [(e["action"], e["reason"]) for e in history.json()["items"]]
    assert actions[:2] == [
        ("reinstated", "reinstate for the test"),
        ("retired", "retire for the test"),
    ]
    assert history.json()["items"][0]["changes"]["status"] == ["retired", "in_service"]


@pytest.mark.parametrize("role", ["technician", "admin"])
async def test_a_new_asset_cannot_start_retired(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant], role: str
) -> None:
    team, _ = tenants
    serial = f"NEW-RETIRED-{uuid.uuid4().hex[:8]}"
    answer = await client.post(
        "/api/equipment",
        json={"manufacturer": "ABB", "serial": serial, "status": "retired"},
        headers=team.session(role).headers,
    )
    assert answer.status_code == (422 if role == "admin" else 403), answer.text
    found = await client.get(
        "/api/equipment/search/fuzzy", params={"query": serial}, headers=team.admin.headers
    )
    assert all(hit["equipment"]["serial"] != serial for hit in found.json()["items"])
