"""API keys on every route: a key acts only inside its organization, a read-only key never
writes, and what needs a person (API keys, members, invitations, passwords, the profile) is
refused to every key, whatever its role."""

from typing import Any

import httpx
import pytest
from security_support import Operation, Tenant, request_for

from rivet_devstack.testing.helpers import create_api_key, key_headers

pytestmark = pytest.mark.security

PERSON_ONLY = {
    "POST /api/auth/api-keys",
    "GET /api/auth/api-keys",
    "DELETE /api/auth/api-keys/{key_id}",
    "POST /api/auth/password/change",
    "POST /api/auth/email",
    "POST /api/auth/email/confirm",
    "GET /api/auth/me",
    "PUT /api/auth/users/{user_id}/role",
    "POST /api/auth/users/{user_id}/deactivate",
    "POST /api/auth/users/{user_id}/reactivate",
    "POST /api/auth/invitations",
    "GET /api/auth/invitations",
    "DELETE /api/auth/invitations/{invitation_id}",
    "POST /api/auth/link-telegram",
    "GET /pro/api/auth/me",
    "POST /pro/api/auth/link-telegram",
    "GET /pro/api/stats/summary",
}
"""Routes that answer 403 to any API key."""


def _secured(ops: list[Operation]) -> list[Operation]:
    return [op for op in ops if op.path.startswith(("/api/", "/pro/api/")) and op.secured]


async def _key(client: httpx.AsyncClient, team: Tenant, **extra: Any) -> dict[str, str]:
    return key_headers(await create_api_key(client, team.admin, "admin", **extra))


async def test_what_needs_a_person_is_refused_to_keys(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant], ops: list[Operation]
) -> None:
    team, _ = tenants
    headers = await _key(client, team)
    listed = {str(op) for op in _secured(ops)}
    assert listed >= PERSON_ONLY, sorted(PERSON_ONLY - listed)
    for op in _secured(ops):
        if str(op) not in PERSON_ONLY:
            continue
        answer = await client.request(**request_for(op, team), headers=headers)
        assert answer.status_code == 403, f"{op}: {answer.status_code} {answer.text}"
        assert "API keys cannot" in answer.json()["error"]["message"], f"{op}: {answer.text}"
    keys = await client.get("/api/auth/api-keys", headers=team.admin.headers)
    assert team.api_key["id"] in {k["id"] for k in keys.json()["items"] if not k["revoked_at"]}
    spare = await client.get("/api/auth/users", headers=team.admin.headers)
    assert team.spare is not None
    (row,) = [u for u in spare.json()["items"] if u["id"] == team.spare.user["id"]]
    assert (row["role"], row["is_active"]) == ("technician", True)


async def test_an_admin_key_reads_every_other_route(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant], ops: list[Operation]
) -> None:
    team, _ = tenants
    headers = await _key(client, team)
    for op in _secured(ops):
        if op.method != "GET" or str(op) in PERSON_ONLY:
            continue
        answer = await client.request(**request_for(op, team), headers=headers)
        assert answer.status_code in (200, 202), f"{op}: {answer.status_code} {answer.text}"


async def test_a_read_only_key_never_writes(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant], ops: list[Operation]
) -> None:
    team, _ = tenants
    headers = await _key(client, team, read_only=True)
    before = await client.get(f"/api/equipment/{team.asset['id']}", headers=team.admin.headers)
    refused = 0
    for op in _secured(ops):
        if op.method == "GET":
            continue
        answer = await client.request(**request_for(op, team), headers=headers)
        assert answer.status_code == 403, f"{op}: {answer.status_code} {answer.text}"
        refused += 1
    assert refused >= 30
    asset = await client.get(f"/api/equipment/{team.asset['id']}", headers=team.admin.headers)
    assert asset.json()["version"] == before.json()["version"]


async def test_a_key_never_reaches_another_organization(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant], ops: list[Operation]
) -> None:
    """The attacker's admin key on the victim's ids answers like an id that does not exist
    (or 403 where keys are refused anyway), and no answer carries the victim's data (beyond
    what the attacker's own admin sees: other tests give the attacker's organization copies
    of the victim's serials)."""
    attacker, victim = tenants
    headers = await _key(client, attacker)
    checked = 0
    for op in _secured(ops):
        kwargs = request_for(op, victim)
        if "json" in kwargs:
            kwargs["json"] = request_for(op, attacker)["json"]
        answer = await client.request(**kwargs, headers=headers)
        sent = await answer.request.aread()
        asked = str(answer.request.url) + sent.decode(errors="replace")
        if op.method == "GET" and not op.path_params:
            own = await client.request(**kwargs, headers=attacker.admin.headers)
            asked += own.text
        seen = [s for s in victim.secrets if s in answer.text and s not in asked]
        assert not seen, f"{op}: shows the other organization's {seen}"
        if op.path_params:
            expected = {403} if str(op) in PERSON_ONLY else {404, 405}
            assert answer.status_code in expected, f"{op}: {answer.status_code} {answer.text}"
        checked += 1
    assert checked >= 50
    # the victim's key still works, and was not revoked by the attacker's key
    answer = await client.get("/api/equipment", headers=key_headers(victim.api_key))
    assert answer.status_code == 200, answer.text
