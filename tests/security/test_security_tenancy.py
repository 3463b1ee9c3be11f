"""Nobody reaches another organization's data: for every route of the OpenAPI document,
another organization's id (or number) answers exactly like an id that does not exist (404),
changes nothing, and no answer ever carries the other organization's data."""

import uuid
from typing import Any

import httpx
import pytest
from security_support import Operation, Tenant, request_for

from rivet_devstack.testing.helpers import key_headers

pytestmark = pytest.mark.security

ANY_ID_405 = {"DELETE /api/equipment/{ref}"}
"""Routes that refuse the method whatever the id (assets are retired, never deleted)."""


def _absent(op: Operation) -> dict[str, str]:
    fake = str(uuid.uuid4())
    return {
        "ref": "WO-2026-999999" if op.path.startswith("/api/work-orders/") else fake,
        "equipment_id": fake,
        "work_order_id": fake,
        "import_id": fake,
        "scan_id": fake,
        "user_id": fake,
        "invitation_id": fake,
        "item": "1",
        "webhook_id": fake,
        "delivery_id": fake,
        "plan_id": fake,
        "meter_id": fake,
        "key_id": fake,
        "attachment_id": fake,
    }


def _assert_no_secrets(answer: httpx.Response, victim: Tenant, what: str) -> None:
    """The answer shows nothing of the victim's that the request did not itself name (a 404
    may repeat the id it was asked for)."""
    try:
        sent = answer.request.content.decode(errors="replace")
    except httpx.RequestNotRead:  # a multipart upload, streamed as it was sent
        sent = ""
    asked = str(answer.request.url) + sent
    seen = [s for s in victim.secrets if s in answer.text and s not in asked]
    assert not seen, f"{what}: answer shows the other organization's {seen}"


async def test_every_route_with_an_id_hides_other_organizations(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant], ops: list[Operation]
) -> None:
    attacker, victim = tenants
    checked = 0
    for op in ops:
        if not op.path_params:
            continue
        for role in ("admin", "viewer"):
            headers = attacker.session(role).headers
            absent = await client.request(
                **request_for(op, attacker, path_ids=_absent(op)), headers=headers
            )
            for numbers in (False, True):
                kwargs = request_for(op, victim, numbers=numbers)
                if op.method in ("POST", "PUT", "PATCH") and "json" in kwargs:
                    kwargs["json"] = request_for(op, attacker)["json"]
                answer = await client.request(**kwargs, headers=headers)
                what = f"{op} as {role} of another organization ({kwargs['url']})"
                _assert_no_secrets(answer, victim, what)
                checked += 1
                if numbers:
                    # Numbers count per organization: the attacker may have its own object
                    # with the same number, and then sees that one, never the victim's.
                    assert victim.org_id not in answer.text, what
                    continue
                expected = 405 if str(op) in ANY_ID_405 else 404
                if role == "viewer" and absent.status_code == 403:
                    expected = 403  # refused before any lookup: reveals nothing either
                assert answer.status_code == expected, f"{what}: {answer.status_code} {answer.text}"
                assert answer.status_code == absent.status_code, what
                if answer.status_code == 404:
                    assert answer.json()["error"]["code"] == absent.json()["error"]["code"]
    assert checked >= 40  # every route with an id, by id and by number, as two roles


async def test_nothing_of_the_victim_changed(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant], ops: list[Operation]
) -> None:
    """After every write route was tried on the victim's objects (above, and again here)."""
    attacker, victim = tenants
    for op in ops:
        if op.path_params and op.method in ("POST", "PUT", "PATCH", "DELETE"):
            kwargs = request_for(op, victim)
            if "json" in kwargs:
                kwargs["json"] = request_for(op, attacker)["json"]
            await client.request(**kwargs, headers=attacker.admin.headers)
    asset = await client.get(f"/api/equipment/{victim.asset['id']}", headers=victim.admin.headers)
    assert asset.json()["version"] == victim.asset["version"]
    assert asset.json()["status"] == "in_service"
    assert asset.json()["picture"]["attachment_id"] == victim.asset_photo["id"]
    assert asset.json()["attachment_count"] == 1
    order = await client.get(f"/api/work-orders/{victim.order['id']}", headers=victim.admin.headers)
    assert order.json()["version"] == victim.order["version"]
    assert [e["kind"] for e in order.json()["timeline"]] == ["created", "attachment_added"]
    assert order.json()["attachment_count"] == 1
    plan = await client.get(
        f"/api/maintenance/plans/{victim.plan['id']}", headers=victim.admin.headers
    )
    assert (plan.json()["status"], plan.json()["version"]) == ("active", victim.plan["version"])
    assert plan.json()["title"] == victim.plan["title"]
    meter = await client.get(f"/api/meters/{victim.meter['id']}", headers=victim.admin.headers)
    assert meter.json()["name"] == victim.meter["name"]
    assert meter.json()["updated_at"] == victim.meter["updated_at"]
    readings = await client.get(
        f"/api/meters/{victim.meter['id']}/readings", headers=victim.admin.headers
    )
    assert [r["value"] for r in readings.json()["items"]] == [120]
    hook = await client.get(
        f"/api/integrations/webhooks/{victim.webhook['id']}", headers=victim.admin.headers
    )
    assert hook.status_code == 200, "the attacker's DELETE did not reach it"
    assert hook.json()["url"] == victim.webhook["url"]
    assert hook.json()["secret_hint"] == victim.webhook["secret_hint"]
    keys = await client.get("/api/auth/api-keys", headers=victim.admin.headers)
    (key,) = [k for k in keys.json()["items"] if k["id"] == victim.api_key["id"]]
    assert key["revoked_at"] is None
    answer = await client.get("/api/equipment", headers=key_headers(victim.api_key))
    assert answer.status_code == 200, answer.text


async def test_a_picture_is_never_another_organization_s_file(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant]
) -> None:
    """The attacker's own asset cannot show the victim's photo: the victim's attachment id
    answers like one that does not exist."""
    attacker, victim = tenants
    url = f"/api/equipment/{attacker.asset['id']}/picture"
    headers = attacker.technician.headers
    theirs = await client.put(
        url, json={"attachment_id": victim.asset_photo["id"]}, headers=headers
    )
    absent = await client.put(url, json={"attachment_id": str(uuid.uuid4())}, headers=headers)
    assert (theirs.status_code, absent.status_code) == (404, 404), theirs.text
    assert theirs.json()["error"]["code"] == absent.json()["error"]["code"]
    _assert_no_secrets(theirs, victim, "PUT picture with another organization's attachment")
    mine = await client.get(f"/api/equipment/{attacker.asset['id']}", headers=headers)
    assert mine.json()["picture"]["attachment_id"] == attacker.asset_photo["id"]


async def test_lists_searches_and_stats_never_show_other_organizations(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant], ops: list[Operation]
) -> None:
    """Every GET without an id in the path, its id-like filters pointed at the victim's
    objects and its search text at the victim's serial."""
    attacker, victim = tenants
    values: dict[str, Any] = {
        "parent_id": victim.asset["id"],
        "equipment_id": victim.asset["id"],
        "assignee_id": victim.admin.user["id"],
        "query": victim.asset["serial"],
        "manufacturer": "Siemens",
        "location": victim.asset["location"],
    }
    checked = 0
    for op in ops:
        if op.method != "GET" or op.path_params or not op.secured:
            continue
        for filtered in (False, True):
            names = {p["name"] for p in op.query_params}
            params = {k: v for k, v in values.items() if k in names} if filtered else {}
            if "query" in names and not filtered:
                params["query"] = "Secret pump"
            answer = await client.get(op.path, params=params, headers=attacker.admin.headers)
            what = f"GET {op.path} {params}"
            assert answer.status_code in (200, 404, 422), f"{what}: {answer.text}"
            _assert_no_secrets(answer, victim, what)
            checked += 1
    assert checked >= 20


async def test_storage_usage_counts_only_the_organization_s_own_files(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant]
) -> None:
    """A file the victim adds moves the victim's usage and never the attacker's."""
    attacker, victim = tenants

    async def usage(tenant: Tenant) -> dict[str, Any]:
        answer = await client.get("/api/attachments/usage", headers=tenant.admin.headers)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    theirs, mine = await usage(victim), await usage(attacker)
    assert theirs["files"] >= 2  # the fixture's photos on the victim's order and asset
    added = await client.post(
        f"/api/work-orders/{victim.order['id']}/attachments",
        files={"file": ("usage.pdf", b"%PDF-1.4\n% usage\n%%EOF\n", "application/pdf")},
        headers=victim.admin.headers,
    )
    assert added.status_code == 201, added.text
    after = await usage(victim)
    assert after["files"] == theirs["files"] + 1
    assert after["bytes_used"] == theirs["bytes_used"] + added.json()["size_bytes"]
    assert after["bytes_left"] == after["quota_bytes"] - after["bytes_used"]
    assert await usage(attacker) == mine
    removed = await client.delete(
        f"/api/attachments/{added.json()['id']}", headers=victim.admin.headers
    )
    assert removed.status_code == 200, removed.text
    assert await usage(victim) == theirs


def _plan(equipment: str, trigger: dict[str, Any] | None = None) -> dict[str, Any]:
    calendar = {"kind": "calendar", "every": 1, "unit": "weeks", "first_due": "2031-01-06"}
    return {"equipment_id": equipment, "title": "Steal", "trigger": trigger or calendar}


async def _number_only_they_have(
    client: httpx.AsyncClient, attacker: Tenant, victim: Tenant
) -> str:
    """An equipment number of the victim's that the attacker's organization does not have
    (numbers count per organization, so the victim's first asset shares its number with the
    attacker's own)."""

    async def latest(tenant: Tenant) -> str:
        page = await client.get(
            "/api/equipment", params={"sort": "-number", "limit": 1}, headers=tenant.admin.headers
        )
        number: str = page.json()["items"][0]["number"]
        return number

    while (number := await latest(victim)) <= await latest(attacker):
        made = await client.post(
            "/api/equipment",
            json={"manufacturer": "ABB", "serial": f"ONLY-{uuid.uuid4().hex[:10]}"},
            headers=victim.admin.headers,
        )
        assert made.status_code == 201, made.text
    return number


async def test_bodies_cannot_point_at_other_organizations(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant]
) -> None:
    attacker, victim = tenants
    headers = attacker.admin.headers
    theirs = victim.asset["id"]
    their_number = await _number_only_they_have(client, attacker, victim)
    their_item = victim.order["checklist"][0]["id"]
    their_meter = victim.meter["id"]
    attempts = [
        ("POST", "/api/work-orders", {"equipment_id": theirs, "title": "Steal"}),
        ("POST", "/api/work-orders", {"equipment_id": their_number, "title": "Steal"}),
        ("POST", "/api/equipment", {"manufacturer": "ABB", "serial": "X-1", "parent_id": theirs}),
        ("POST", "/api/equipment", {"manufacturer": "Siemens", "merge_into": theirs}),
        ("PATCH", f"/api/equipment/{attacker.asset['id']}", {"parent_id": theirs}),
        (
            "PATCH",
            f"/api/work-orders/{attacker.order['id']}",
            {"assignee_id": victim.admin.user["id"]},
        ),
        (  # the victim's checklist item, named on the attacker's own order
            "POST",
            f"/api/work-orders/{attacker.order['id']}/checklist/{their_item}",
            {"done": True},
        ),
        ("POST", f"/api/scans/{attacker.scan_id}/confirm", {"merge_into": theirs}),
        # the victim's photo as the picture of the attacker's own asset
        (
            "PUT",
            f"/api/equipment/{attacker.asset['id']}/picture",
            {"attachment_id": victim.asset_photo["id"]},
        ),
        # plans and meters on the victim's asset, watching the victim's meter, assigned to them
        ("POST", "/api/maintenance/plans", _plan(theirs)),
        ("POST", "/api/maintenance/plans", _plan(their_number)),
        (
            "POST",
            "/api/maintenance/plans",
            _plan(attacker.asset["id"], {"kind": "meter", "meter_id": their_meter, "every": 500}),
        ),
        (
            "POST",
            "/api/maintenance/plans",
            _plan(attacker.asset["id"], {"kind": "condition", "meter_id": their_meter}),
        ),
        (
            "POST",
            "/api/maintenance/plans",
            _plan(attacker.asset["id"]) | {"assignee_id": victim.technician.user["id"]},
        ),
        (
            "PATCH",
            f"/api/maintenance/plans/{attacker.plan['id']}",
            {"equipment_id": theirs},
        ),
        (
            "PATCH",
            f"/api/maintenance/plans/{attacker.plan['id']}",
            {"assignee_id": victim.technician.user["id"]},
        ),
        (
            "POST",
            "/api/meters",
            {"equipment_id": theirs, "name": "Steal", "kind": "counter", "unit": "h"},
        ),
    ]
    for method, url, body in attempts:
        answer = await client.request(method, url, json=body, headers=headers)
        what = f"{method} {url} {body}"
        assert answer.status_code in (404, 409, 422), f"{what}: {answer.status_code} {answer.text}"
        _assert_no_secrets(answer, victim, what)
    mine = await client.get(f"/api/equipment/{attacker.asset['id']}", headers=headers)
    assert mine.json()["parent_id"] is None
    assert mine.json()["picture"]["attachment_id"] == attacker.asset_photo["id"]
    plan = await client.get(f"/api/maintenance/plans/{attacker.plan['id']}", headers=headers)
    assert plan.json()["version"] == attacker.plan["version"]
    plans = await client.get("/api/maintenance/plans", params={"limit": 200}, headers=headers)
    assert not [p for p in plans.json()["items"] if p["title"] == "Steal"]
    meters = await client.get("/api/meters", params={"limit": 500}, headers=headers)
    assert not [m for m in meters.json()["items"] if m["name"] == "Steal"]
    # The victim's serial is free to use in another organization: no cross-organization match.
    same_serial = await client.post(
        "/api/equipment",
        json={"manufacturer": "Siemens", "serial": victim.asset["serial"]},
        headers=headers,
    )
    assert same_serial.status_code == 201
    assert same_serial.json()["equipment"]["id"] != theirs
