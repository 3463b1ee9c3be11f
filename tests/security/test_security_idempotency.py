"""Idempotency keys never hand one caller's answer to another: not across organizations, not
between members of one, not to a caller whose role is refused - and a refused request does not
take the key from the one allowed to use it. Replies holding a secret shown once (an API key)
are the cases that matter."""

import uuid

import httpx
import pytest
from security_support import Tenant

pytestmark = pytest.mark.security


async def test_a_key_is_scoped_to_its_organization_and_its_caller(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant]
) -> None:
    ours, theirs = tenants
    key = f"sec-{uuid.uuid4().hex[:8]}"
    body = {"name": "ERP link", "role": "viewer"}
    headers = {"Idempotency-Key": key}
    made = await client.post("/api/auth/api-keys", json=body, headers=ours.admin.headers | headers)
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    # the same admin again: the same key, secret included (it was shown once, to them)
    again = await client.post("/api/auth/api-keys", json=body, headers=ours.admin.headers | headers)
    assert (again.status_code, again.json()["secret"]) == (201, secret)
    # another organization's admin, same key and body: their own key, never ours
    other = await client.post(
        "/api/auth/api-keys", json=body, headers=theirs.admin.headers | headers
    )
    assert other.status_code == 201, other.text
    assert other.json()["secret"] != secret
    assert other.json()["id"] != made.json()["id"]


async def test_another_member_with_the_key_is_refused_not_answered(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant]
) -> None:
    ours, _ = tenants
    key = f"sec-{uuid.uuid4().hex[:8]}"
    body = {"body": "Checked the seal, no leak."}
    path = f"/api/work-orders/{ours.order['id']}/comments"
    first = await client.post(
        path, json=body, headers=ours.technician.headers | {"Idempotency-Key": key}
    )
    assert first.status_code == 201, first.text
    other = await client.post(
        path, json=body, headers=ours.admin.headers | {"Idempotency-Key": key}
    )
    assert other.status_code == 422, other.text
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert first.json()["id"] not in other.text


async def test_a_refused_caller_does_not_take_the_key(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant]
) -> None:
    ours, _ = tenants
    key = f"sec-{uuid.uuid4().hex[:8]}"
    body = {"name": "Probe", "role": "viewer"}
    # a technician may not create API keys: 403, and the key stays free
    refused = await client.post(
        "/api/auth/api-keys", json=body, headers=ours.technician.headers | {"Idempotency-Key": key}
    )
    assert refused.status_code == 403, refused.text
    made = await client.post(
        "/api/auth/api-keys", json=body, headers=ours.admin.headers | {"Idempotency-Key": key}
    )
    assert made.status_code == 201, made.text
    # and the admin's answer is not the technician's to replay
    replay = await client.post(
        "/api/auth/api-keys", json=body, headers=ours.technician.headers | {"Idempotency-Key": key}
    )
    assert replay.status_code == 403, replay.text
    assert made.json()["secret"] not in replay.text
