"""Idempotent creation through the gateway: a key (the `Idempotency-Key` header or the body's
`idempotency_key`) used again in the organization answers with the order it opened - also when
the creates race - and one `wo.created`; the same key with a different request is refused (422).
Work orders keep their key for good, not the runtime's 24 hours (ADR 0015)."""

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import httpx
import nats

from rivet_devstack.testing.env import TestEnv
from rivet_devstack.testing.helpers import Session


async def _post(
    wo: Any, who: Session, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    headers = who.headers | ({"Idempotency-Key": key} if key is not None else {})
    answer: httpx.Response = await wo.api.post("/api/work-orders", json=body, headers=headers)
    return answer


async def test_a_repeated_key_answers_with_the_order_it_opened(wo: Any, test_env: TestEnv) -> None:
    team = await wo.team()
    asset = await wo.asset(team.admin)
    created: list[dict[str, Any]] = []
    nc = await nats.connect(test_env.nats_url)
    subject = wo.services.runtimes["workorders"].settings.subject("wo.created")

    async def collect(msg: Any) -> None:
        created.append(json.loads(msg.data))

    await nc.subscribe(subject, cb=collect)
    due = datetime.now(UTC) + timedelta(days=3)
    body = {
        "equipment_id": asset["id"],
        "title": "Quarterly inspection",
        "priority": "low",
        "due_at": due.isoformat(),
        "checklist": [{"text": "Look", "required": True}],
    }
    try:
        first = await _post(wo, team.technician, body, key="pm-plan-7-2026-12-07")
        assert first.status_code == 201, first.text
        order = first.json()
        # the same request again: by header, by body, by both, with defaults spelled out and
        # the due date in another time zone - the same order, as it is now
        await wo.move(team.technician, order["id"], "in_progress")
        local = due.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
        key = "pm-plan-7-2026-12-07"
        spelled_out = [{"text": "Look", "required": True, "kind": "check"}]
        for extra, header in [
            ({}, key),
            ({"idempotency_key": key}, None),
            ({"idempotency_key": key}, key),
            ({"work_type": "corrective", "due_at": local}, key),
            ({"checklist": spelled_out}, key),
        ]:
            again = await _post(wo, team.admin, body | extra, key=header)
            assert again.status_code == 201, (extra, header, again.text)
            view = again.json()
            assert (view["id"], view["number"]) == (order["id"], order["number"])
            assert view["status"] == "in_progress"
            assert view["checklist"] == order["checklist"]

        await wo.until(lambda: len(created) >= 1, what="wo.created")
        await asyncio.sleep(1.0)  # time enough for a second one to arrive, were there one
    finally:
        await nc.close()
    assert [e["data"]["work_order_id"] for e in created] == [order["id"]]
    listed = await wo.get(team.viewer, "/api/work-orders")
    assert [o["id"] for o in listed["items"]] == [order["id"]]


async def test_the_same_key_with_a_different_request_is_refused(wo: Any) -> None:
    team = await wo.team()
    asset = await wo.asset(team.admin)
    body = {"equipment_id": asset["id"], "title": "Leak at the seal"}
    order = (await _post(wo, team.technician, body, key="abc")).json()
    for changed in (
        {"title": "Leak at the flange"},
        {"priority": "high"},
        {"checklist": [{"text": "Look"}]},
        {"plan_id": str(uuid4())},
        {"equipment_id": asset["number"]},  # the same asset, named differently
    ):
        refused = await _post(wo, team.technician, body | changed, key="abc")
        assert refused.status_code == 422, (changed, refused.text)
        error = refused.json()["error"]
        assert error["code"] == "idempotency_key_reused"
        assert order["number"] in error["message"]
        assert error["details"] == {"work_order_id": order["id"], "number": order["number"]}
    listed = await wo.get(team.viewer, "/api/work-orders")
    assert len(listed["items"]) == 1
    # Keys belong to an organization: another one uses the same key for its own order.
    other = await wo.team()
    theirs = await _post(
        wo, other.admin, {"equipment_id": (await wo.asset(other.admin))["id"], "title": "x"}, "abc"
    )
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["id"] != order["id"]
    # A create that was refused used no key: corrected, it opens the order.
    past = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    late = await _post(wo, team.technician, body | {"due_at": past}, key="retry-me")
    assert late.status_code == 422
    fixed = await _post(wo, team.technician, body, key="retry-me")
    assert fixed.status_code == 201, fixed.text


async def test_racing_creates_with_one_key_open_one_order(wo: Any) -> None:
    team = await wo.team()
    asset = await wo.asset(team.admin)
    body = {"equipment_id": asset["id"], "title": "Replace filter", "checklist": [{"text": "a"}]}
    answers = await asyncio.gather(
        *(_post(wo, team.technician, body, key="race-1") for _ in range(12))
    )
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
    assert len({(a.json()["id"], a.json()["number"]) for a in answers}) == 1
    order = answers[0].json()
    assert len(order["checklist"]) == 1
    # Described by manufacturer and serial (create-or-match first), racing too.
    serial = f"R{uuid4().hex[:8]}"
    described = {
        "equipment": {"manufacturer": "Baldor", "model": "EM3615T", "serial": serial},
        "title": "Motor trips",
    }
    answers = await asyncio.gather(
        *(_post(wo, team.technician, described, key="race-2") for _ in range(6))
    )
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    # The creates that lost the race gave their numbers back: no gaps.
    listed = await wo.get(team.viewer, "/api/work-orders", sort="created_at")
    numbers = [o["number"] for o in listed["items"]]
    year = datetime.now(UTC).year
    assert numbers == [f"WO-{year}-000001", f"WO-{year}-000002"]
    later = await wo.create(team.technician, asset["id"])
    assert later["number"] == f"WO-{year}-000003"


async def test_keys_that_cannot_be_used_are_refused(wo: Any) -> None:
    team = await wo.team()
    asset = await wo.asset(team.admin)
    body = {"equipment_id": asset["id"], "title": "x"}
    for extra, key, message in [
        ({"idempotency_key": "one"}, "two", "Idempotency-Key header and the body's"),
        ({}, "k" * 256, "not valid"),
        ({"idempotency_key": "k" * 256}, None, "not valid"),
        ({"idempotency_key": ""}, None, "not valid"),
        ({"idempotency_key": "   "}, None, "not valid"),
        ({"idempotency_key": "schlüssel"}, None, "not valid"),
        ({"idempotency_key": "tab\tkey"}, None, "not valid"),
        ({"idempotency_key": 42}, None, "not valid"),
    ]:
        answer = await _post(wo, team.technician, body | extra, key=key)
        assert answer.status_code == 422, (extra, key, answer.text)
        assert message in answer.json()["error"]["message"]
    viewer = await _post(wo, team.viewer, body, key="viewer-key")
    assert viewer.status_code == 403
    listed = await wo.get(team.viewer, "/api/work-orders")
    assert listed["items"] == []
    # surrounding spaces are not part of a key
    first = await _post(wo, team.technician, body | {"idempotency_key": " spaced "})
    second = await _post(wo, team.technician, body, key="spaced")
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert first.json()["id"] == second.json()["id"]
