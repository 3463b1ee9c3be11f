"""The lifecycle through the gateway: every transition, reasons, timestamps, the timeline, and
the events a notifier receives."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from itertools import product
from typing import Any

import nats

from rivet_devstack.testing.env import TestEnv

STATUSES = ["open", "in_progress", "on_hold", "completed", "cancelled"]
ALLOWED = {
    ("open", "in_progress"),
    ("open", "cancelled"),
    ("in_progress", "on_hold"),
    ("in_progress", "completed"),
    ("in_progress", "cancelled"),
    ("on_hold", "in_progress"),
    ("on_hold", "completed"),
    ("on_hold", "cancelled"),
    ("completed", "open"),
    ("cancelled", "open"),
}
PATH = {
    "open": [],
    "in_progress": ["in_progress"],
    "on_hold": ["in_progress", "on_hold"],
    "completed": ["in_progress", "completed"],
    "cancelled": ["cancelled"],
}


async def test_every_allowed_and_forbidden_transition(wo: Any) -> None:
    team = await wo.team()
    asset = await wo.asset(team.admin)

    async def attempt(current: str, target: str) -> None:
        order = await wo.create(team.technician, asset["id"])
        for step in PATH[current]:
            await wo.move(team.technician, order["id"], step, reason="getting there")
        answer = await wo.patch(team.technician, order["id"], status=target, reason="a test")
        if (current, target) in ALLOWED:
            assert answer.status_code == 200, (current, target, answer.text)
            assert answer.json()["status"] == target
        else:
            assert answer.status_code == 409, (current, target, answer.text)
            error = answer.json()["error"]
            assert error["code"] == "invalid_transition"
            assert error["details"]["from"] == current
            expected = sorted(t for c, t in ALLOWED if c == current)
            assert sorted(error["details"]["allowed"]) == expected
            assert all(name in error["message"] for name in expected)

    await asyncio.gather(*(attempt(c, t) for c, t in product(STATUSES, STATUSES)))


async def test_cancel_and_reopen_require_a_reason(wo: Any) -> None:
    team = await wo.team()
    asset = await wo.asset(team.admin)
    order = await wo.create(team.technician, asset["id"])
    ref = order["number"]
    missing = await wo.patch(team.technician, ref, status="cancelled")
    assert missing.status_code == 422
    assert "reason is required to cancel" in missing.json()["error"]["message"]
    short = await wo.patch(team.technician, ref, status="cancelled", reason="no")
    assert short.status_code == 422
    await wo.move(team.technician, ref, "cancelled", reason="reported twice")
    reopen = await wo.patch(team.technician, ref, status="open")
    assert reopen.status_code == 422
    assert "reason is required to reopen" in reopen.json()["error"]["message"]
    await wo.move(team.technician, ref, "open", reason="it was not a duplicate")
    orphan = await wo.patch(team.technician, ref, reason="without a status")
    assert orphan.status_code == 422
    timeline = (await wo.get(team.viewer, f"/api/work-orders/{ref}"))["timeline"]
    changes = [
        (e["from_status"], e["to_status"], e["body"])
        for e in timeline
        if e["kind"] == "status_changed"
    ]
    assert changes == [
        ("open", "cancelled", "reported twice"),
        ("cancelled", "open", "it was not a duplicate"),
    ]


async def test_timestamps_of_every_status_change_and_the_timeline(wo: Any) -> None:
    team = await wo.team()
    asset = await wo.asset(team.admin)
    t0 = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    at = [t0 + timedelta(hours=h) for h in range(8)]
    tech = team.technician
    wo.clock.freeze(at[0])
    order = await wo.create(tech, asset["id"], priority="high", assignee_id=tech.user["id"])
    assert order["due_at"] == _iso(at[0] + timedelta(days=1))  # high: 1 day
    ref = order["id"]
    wo.clock.freeze(at[1])
    await wo.move(tech, ref, "in_progress")
    wo.clock.freeze(at[2])
    note = await wo.patch(
        tech, ref, status="on_hold", reason="waiting for a bearing", note="ordered 6205"
    )
    assert note.status_code == 200
    wo.clock.freeze(at[3])
    await wo.move(tech, ref, "in_progress")
    wo.clock.freeze(at[4])
    await wo.move(tech, ref, "completed")
    wo.clock.freeze(at[5])
    await wo.move(tech, ref, "open", reason="noise is back")
    wo.clock.freeze(at[6])
    await wo.move(tech, ref, "in_progress")
    view = await wo.get(team.viewer, f"/api/work-orders/{ref}")
    assert view["acknowledged_at"] == _iso(at[1])  # the first start; never moves
    assert view["started_at"] == _iso(at[6])
    assert view["on_hold_at"] == _iso(at[2])
    assert view["completed_at"] is None  # reopened since
    assert view["reopened_at"] == _iso(at[5])
    assert view["status_changed_at"] == _iso(at[6])
    assert view["version"] == 7
    assert view["description"] is None  # notes are timeline entries, not description text
    entries = [
        (e["kind"], e["at"], e["from_status"], e["to_status"], e["body"], e["author_name"])
        for e in view["timeline"]
    ]
    name = tech.user["full_name"]
    assert entries == [
        ("created", _iso(at[0]), None, "open", None, name),
        ("status_changed", _iso(at[1]), "open", "in_progress", None, name),
        ("status_changed", _iso(at[2]), "in_progress", "on_hold", "waiting for a bearing", name),
        ("comment", _iso(at[2]), None, None, "ordered 6205", name),
        ("status_changed", _iso(at[3]), "on_hold", "in_progress", None, name),
        ("status_changed", _iso(at[4]), "in_progress", "completed", None, name),
        ("status_changed", _iso(at[5]), "completed", "open", "noise is back", name),
        ("status_changed", _iso(at[6]), "open", "in_progress", None, name),
    ]
    stale = await wo.patch(tech, ref, labour_hours=2, expected_version=3)
    assert stale.status_code == 409
    assert stale.json()["error"]["details"] == {"version": 7}


async def test_events_carry_what_a_notifier_needs(wo: Any, test_env: TestEnv) -> None:
    team = await wo.team()
    asset = await wo.asset(team.admin, name="Feed pump 2")
    received: list[dict[str, Any]] = []
    nc = await nats.connect(test_env.nats_url)
    subject = wo.services.runtimes["workorders"].settings.subject("wo.>")

    async def collect(msg: Any) -> None:
        received.append(json.loads(msg.data))

    await nc.subscribe(subject, cb=collect)
    try:
        order = await wo.create(team.technician, asset["id"], title="Seal leaks")
        ref = order["id"]
        me = team.technician.user["id"]
        await wo.move(team.technician, ref, "in_progress")
        assert (await wo.patch(team.technician, ref, assignee_id=me)).status_code == 200
        comment = await wo.api.post(
            f"/api/work-orders/{ref}/comments",
            json={"body": "leak at the gland"},
            headers=team.technician.headers,
        )
        assert comment.status_code == 201
        assert (await wo.patch(team.admin, ref, priority="critical")).status_code == 200
        await wo.until(lambda: _count(received, ref) >= 5, what="five events")
    finally:
        await nc.close()
    events = {e["type"]: e for e in received if e["data"]["work_order_id"] == ref}
    assert set(events) == {
        "wo.created",
        "wo.status_changed",
        "wo.assigned",
        "wo.commented",
        "wo.updated",
    }
    for event in events.values():
        data = event["data"]
        assert event["org_id"] == team.org_id
        assert data["number"] == order["number"]
        assert data["title"] == "Seal leaks"
        assert data["equipment_number"] == asset["number"]
        assert data["equipment_name"] == "Feed pump 2"
        assert data["requester_id"] == me
    changed = events["wo.status_changed"]["data"]
    assert (changed["from_status"], changed["to_status"], changed["actor_id"]) == (
        "open",
        "in_progress",
        me,
    )
    assigned = events["wo.assigned"]["data"]
    assert (assigned["assignee_id"], assigned["previous_assignee_id"]) == (me, None)
    assert events["wo.commented"]["data"]["body"] == "leak at the gland"
    updated = events["wo.updated"]["data"]
    assert (updated["changed"], updated["priority"], updated["actor_id"]) == (
        ["priority"],
        "critical",
        team.admin.user["id"],
    )
    assert events["wo.commented"]["actor"]["user_id"] == me


def _count(received: list[dict[str, Any]], ref: str) -> int:
    return sum(1 for e in received if e["data"]["work_order_id"] == ref)


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
