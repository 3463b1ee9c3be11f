"""Work orders through the gateway: creation (equipment-first), numbering, listing, comments,
roles, organization isolation and bad input."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest


async def test_create_defaults_and_lookup_by_id_or_number(wo: Any) -> None:
    team = await wo.team()
    asset = await wo.asset(team.admin, name="Chiller 1", location="Roof")
    now = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    wo.clock.freeze(now)
    offsets = {"critical": timedelta(hours=4), "high": timedelta(days=1),
               "medium": timedelta(days=7), "low": timedelta(days=30)}  # fmt: skip
    for priority, offset in offsets.items():
        order = await wo.create(
            team.technician,
            asset["number"],
            priority=priority,
            fault_codes=["e101", "E101", "f2"],
            symptoms=["noise", "noise", "heat"],
            description="since Monday",
        )
        assert datetime.fromisoformat(order["due_at"]) == now + offset, priority
    assert order["number"] == "WO-2026-000004"
    assert order["fault_codes"] == ["E101", "F2"]
    assert order["symptoms"] == ["noise", "heat"]
    assert order["work_type"] == "corrective"
    assert order["source"] == "api"
    assert order["requester_id"] == team.technician.user["id"]
    assert order["equipment"]["number"] == asset["number"]
    assert order["equipment"]["name"] == "Chiller 1"
    assert order["allowed_transitions"] == ["in_progress", "cancelled"]
    by_number = await wo.get(team.viewer, f"/api/work-orders/{order['number'].lower()}")
    by_id = await wo.get(team.viewer, f"/api/work-orders/{order['id']}")
    assert by_number["id"] == by_id["id"] == order["id"]
    assert by_id["timeline"][0]["kind"] == "created"


async def test_fifty_parallel_creates_get_fifty_distinct_numbers(wo: Any) -> None:
    team = await wo.team()
    asset = await wo.asset(team.admin)
    answers = await asyncio.gather(
        *(
            wo.api.post(
                "/api/work-orders",
                json={"equipment_id": asset["id"], "title": f"Job {i}"},
                headers=team.technician.headers,
            )
            for i in range(50)
        )
    )
    assert all(a.status_code == 201 for a in answers), [
        a.text for a in answers if a.status_code != 201
    ]
    numbers = {a.json()["number"] for a in answers}
    year = datetime.now(UTC).year
    assert numbers == {f"WO-{year}-{n:06d}" for n in range(1, 51)}


async def test_equipment_first_creation_by_manufacturer_model_serial(wo: Any) -> None:
    team = await wo.team()
    body = {
        "equipment": {"manufacturer": "baldor", "model": "EM3615T", "serial": "Z1234",
                      "name": "Conveyor motor", "location": "Line 3"},
        "title": "Motor trips on start",
    }  # fmt: skip
    first = await wo.api.post("/api/work-orders", json=body, headers=team.technician.headers)
    assert first.status_code == 201, first.text
    equipment = first.json()["equipment"]
    assert equipment["number"].startswith("EQ-")
    assert (equipment["manufacturer"], equipment["serial"], equipment["name"]) == (
        "Baldor", "Z1234", "Conveyor motor",
    )  # fmt: skip
    registered = await wo.get(team.viewer, f"/api/equipment/{equipment['id']}")
    assert registered["serial"] == "Z1234"  # the assets service registered it
    again = {**body, "equipment": {"manufacturer": "Baldor", "model": "EM3615T", "serial": "z1234"}}
    second = await wo.api.post("/api/work-orders", json=again, headers=team.technician.headers)
    assert second.status_code == 201, second.text
    assert second.json()["equipment"]["id"] == equipment["id"]  # matched by serial, not a new one
    for path in (
        f"/api/equipment/{equipment['id']}/work-orders",
        f"/api/work-orders/equipment/{equipment['number']}/work-orders",
    ):
        page = await wo.get(team.viewer, path)
        assert [o["id"] for o in page["items"]] == [second.json()["id"], first.json()["id"]]
        assert page["items"][0]["equipment"]["name"] == "Conveyor motor"


async def test_possible_duplicates_come_back_to_the_caller(wo: Any) -> None:
    team = await wo.team()
    pump = await wo.asset(team.admin, manufacturer="Grundfos", model="CR 10-4", serial=None)
    body = {
        "equipment": {"manufacturer": "GRUNDFOS", "model": "CR10-4", "serial": "P-77"},
        "title": "Pump leaks",
    }
    doubt = await wo.api.post("/api/work-orders", json=body, headers=team.technician.headers)
    assert doubt.status_code == 409, doubt.text
    error = doubt.json()["error"]
    assert error["code"] == "conflict"
    assert "choose" in error["message"]
    assert error["details"]["outcome"] == "possible_duplicates"
    assert error["details"]["candidates"][0]["equipment"]["id"] == pump["id"]
    listed = await wo.get(team.viewer, "/api/work-orders")
    assert listed["items"] == []  # nothing was created behind the caller's back

    body["equipment"]["merge_into"] = pump["id"]
    chosen = await wo.api.post("/api/work-orders", json=body, headers=team.technician.headers)
    assert chosen.status_code == 201, chosen.text
    assert chosen.json()["equipment"]["id"] == pump["id"]


async def test_unknown_malformed_and_retired_equipment_is_refused(wo: Any) -> None:
    team = await wo.team()
    for ref, message in [
        (str(uuid4()), "not found in your organization"),
        ("EQ-1999-999999", "not found in your organization"),
        ("pump-7", "give an asset id or an equipment number"),
    ]:
        answer = await wo.api.post(
            "/api/work-orders", json={"equipment_id": ref, "title": "x"}, headers=team.admin.headers
        )
        assert answer.status_code == 422, (ref, answer.text)
        assert message in answer.json()["error"]["message"]
    old = await wo.asset(team.admin)
    retire = await wo.api.post(
        f"/api/equipment/{old['id']}/retire",
        json={"reason": "Scrapped"},
        headers=team.admin.headers,
    )
    assert retire.status_code == 200, retire.text

    async def replicated() -> bool:
        overview = await wo.get(team.admin, "/api/stats/overview")
        return bool(overview["equipment"]["by_status"].get("retired") == 1)

    await wo.until(replicated, what="the retirement to reach the replica")
    refused = await wo.api.post(
        "/api/work-orders",
        json={"equipment_id": old["id"], "title": "x"},
        headers=team.admin.headers,
    )
    assert refused.status_code == 422
    assert "retired" in refused.json()["error"]["message"]


async def test_listing_filters_and_pages(wo: Any) -> None:
    team = await wo.team()
    pump, fan = await wo.asset(team.admin), await wo.asset(team.admin)
    now = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    wo.clock.freeze(now)
    me = team.technician.user["id"]
    a = await wo.create(team.technician, pump["id"], priority="critical", assignee_id=me)
    wo.clock.freeze(now + timedelta(minutes=1))
    b = await wo.create(team.technician, pump["id"], priority="low", work_type="preventive")
    wo.clock.freeze(now + timedelta(minutes=2))
    c = await wo.create(team.admin, fan["id"], priority="high", assignee_id=me)
    await wo.move(team.technician, c["id"], "in_progress")
    wo.clock.freeze(now + timedelta(minutes=3))
    d = await wo.create(team.admin, fan["id"], priority="low")
    await wo.move(team.admin, d["id"], "cancelled", reason="duplicate of another order")
    wo.clock.freeze(now + timedelta(hours=5))  # a (critical, due +4 h) is now overdue

    async def ids(**params: Any) -> list[str]:
        page = await wo.get(team.viewer, "/api/work-orders", **params)
        return [o["id"] for o in page["items"]]

    assert await ids() == [d["id"], c["id"], b["id"], a["id"]]
    assert await ids(status=["open", "in_progress"]) == [c["id"], b["id"], a["id"]]
    assert await ids(priority="low") == [d["id"], b["id"]]
    assert await ids(assignee_id=me) == [c["id"], a["id"]]
    assert await ids(equipment_id=fan["number"]) == [d["id"], c["id"]]
    assert await ids(work_type="preventive") == [b["id"]]
    assert await ids(overdue="true") == [a["id"]]
    assert await ids(overdue="false") == [d["id"], c["id"], b["id"]]
    assert await ids(sort="due_at", status="open") == [a["id"], b["id"]]
    first = await wo.get(team.viewer, "/api/work-orders", limit=3)
    assert first["next_offset"] == 3
    rest = await wo.get(team.viewer, "/api/work-orders", limit=3, offset=3)
    assert ([o["id"] for o in rest["items"]], rest["next_offset"]) == ([a["id"]], None)
    listed = (await wo.get(team.viewer, "/api/work-orders", status="open"))["items"]
    assert {o["id"]: o["overdue"] for o in listed} == {a["id"]: True, b["id"]: False}


async def test_comments_and_notes_are_timeline_entries(wo: Any) -> None:
    team = await wo.team()
    order = await wo.create(team.technician, (await wo.asset(team.admin))["id"], description="d")
    path = f"/api/work-orders/{order['number']}/comments"
    posted = await wo.api.post(
        path, json={"body": "checked the fuse"}, headers=team.technician.headers
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["kind"] == "comment"
    assert posted.json()["author_name"] == team.technician.user["full_name"]
    note = await wo.patch(team.technician, order["id"], note="fuse was fine")
    assert note.status_code == 200
    view = note.json()
    assert view["description"] == "d"
    assert [e["body"] for e in view["timeline"] if e["kind"] == "comment"] == [
        "checked the fuse",
        "fuse was fine",
    ]
    for body in ({"body": ""}, {"body": "x" * 5001}, {"text": "hi"}):
        bad = await wo.api.post(path, json=body, headers=team.technician.headers)
        assert bad.status_code == 422, body


async def test_roles(wo: Any) -> None:
    team = await wo.team()
    asset = await wo.asset(team.admin)
    tech, admin, viewer = team.technician, team.admin, team.viewer
    body = {"equipment_id": asset["id"], "title": "x"}
    denied = await wo.api.post("/api/work-orders", json=body, headers=viewer.headers)
    assert denied.status_code == 403
    assert "technician" in denied.json()["error"]["message"]
    order = await wo.create(tech, asset["id"])
    ref = order["id"]
    comment = f"/api/work-orders/{ref}/comments"
    for attempt in (
        wo.patch(viewer, ref, status="in_progress"),
        wo.patch(viewer, ref, note="hi"),
        wo.api.post(comment, json={"body": "hi"}, headers=viewer.headers),
    ):
        assert (await attempt).status_code == 403
    assert (await wo.api.get(f"/api/work-orders/{ref}", headers=viewer.headers)).status_code == 200
    for planning in ({"priority": "high"}, {"due_at": "2030-01-01T00:00:00Z"}, {"title": "y"}):
        refused = await wo.patch(tech, ref, **planning)
        assert refused.status_code == 403, planning
        assert "only admins" in refused.json()["error"]["message"]
        assert (await wo.patch(admin, ref, **planning)).status_code == 200
    other = admin.user["id"]
    assert (await wo.patch(tech, ref, assignee_id=other)).status_code == 403
    assert (await wo.patch(tech, ref, assignee_id=tech.user["id"])).status_code == 200
    assert (await wo.patch(tech, ref, assignee_id=None)).status_code == 200  # gives it back
    assert (await wo.patch(admin, ref, assignee_id=other)).status_code == 200
    taken = await wo.patch(tech, ref, assignee_id=tech.user["id"])  # someone else's order
    assert taken.status_code == 403
    viewer_assignee = await wo.patch(admin, ref, assignee_id=viewer.user["id"])
    assert viewer_assignee.status_code == 422
    assert "viewers cannot be assigned" in viewer_assignee.json()["error"]["message"]
    recorded = await wo.patch(
        tech, ref, estimated_hours=1.5, labour_hours=0.75, status="in_progress"
    )
    assert recorded.status_code == 200
    assert (recorded.json()["estimated_hours"], recorded.json()["labour_hours"]) == (1.5, 0.75)
    assert (await wo.patch(tech, ref, status="cancelled", reason="not needed")).status_code == 200


async def test_organizations_are_isolated_on_every_route(wo: Any) -> None:
    ours, theirs = await wo.team(), await wo.team()
    asset = await wo.asset(ours.admin)
    order = await wo.create(ours.technician, asset["id"])
    await wo.until(lambda: _overview_total(wo, ours.admin, 1), what="our order to be counted")
    outsider = theirs.admin
    for ref in (order["id"], order["number"]):
        assert (
            await wo.api.get(f"/api/work-orders/{ref}", headers=outsider.headers)
        ).status_code == 404
        assert (await wo.patch(outsider, ref, status="in_progress")).status_code == 404
        put = await wo.api.put(
            f"/api/work-orders/{ref}", json={"note": "hi"}, headers=outsider.headers
        )
        assert put.status_code == 404
        comment = await wo.api.post(
            f"/api/work-orders/{ref}/comments", json={"body": "hi"}, headers=outsider.headers
        )
        assert comment.status_code == 404
    for path in (
        f"/api/equipment/{asset['id']}/work-orders",
        f"/api/work-orders/equipment/{asset['number']}/work-orders",
    ):
        assert (await wo.api.get(path, headers=outsider.headers)).status_code == 404
    listed = await wo.get(outsider, "/api/work-orders")
    assert listed["items"] == []
    filtered = await wo.get(outsider, "/api/work-orders", equipment_id=asset["id"])
    assert filtered["items"] == []
    borrowed = await wo.api.post(
        "/api/work-orders",
        json={"equipment_id": asset["id"], "title": "x"},
        headers=outsider.headers,
    )
    assert borrowed.status_code == 422
    mine = await wo.create(outsider, (await wo.asset(outsider))["id"])
    stranger = await wo.patch(outsider, mine["id"], assignee_id=ours.technician.user["id"])
    assert stranger.status_code == 422
    assert "not a member of your organization" in stranger.json()["error"]["message"]
    health = await wo.api.get(
        "/api/stats/equipment-health",
        params={"equipment_id": asset["id"]},
        headers=outsider.headers,
    )
    assert health.status_code == 404
    # Both organizations have one order from today; each sees its own only.
    await wo.until(lambda: _overview_total(wo, outsider, 1), what="their order to be counted")
    overview = await wo.get(outsider, "/api/stats/overview")
    assert overview["equipment"]["total"] == 1
    today = (await wo.get(outsider, "/api/stats/work-order-trends", days=1))["items"]
    assert [d["created"] for d in today] == [1]
    kpis = await wo.get(outsider, "/api/stats/kpis", days=1)
    assert kpis["planned_share"]["inputs"] == {"planned": 0, "corrective": 1}
    worst = await wo.get(outsider, "/api/stats/equipment-health")
    assert [i["equipment_id"] for i in worst["items"]] == [mine["equipment"]["id"]]
    for who, reported in ((ours.technician, 1), (outsider, 1), (theirs.technician, 0)):
        summary = await wo.get(who, "/api/stats/summary")
        assert summary["requested_open"]["count"] == reported


async def _overview_total(wo: Any, who: Any, total: int) -> bool:
    overview = await wo.get(who, "/api/stats/overview")
    return bool(overview["work_orders"]["total"] == total)


def _body(**extra: Any) -> dict[str, Any]:
    return {"equipment_id": "EQ-1", "title": "x"} | extra


@pytest.mark.parametrize(
    ("method", "path", "body", "params"),
    [
        ("post", "/api/work-orders", {"title": "no equipment"}, None),
        ("post", "/api/work-orders", _body(equipment={"manufacturer": "A"}), None),
        ("post", "/api/work-orders", _body(org_id=str(uuid4())), None),
        ("post", "/api/work-orders", _body(priority="urgent"), None),
        ("post", "/api/work-orders", _body(estimated_hours=-1), None),
        ("post", "/api/work-orders", _body(due_at="2030-01-01T00:00:00"), None),  # no zone
        ("post", "/api/work-orders", _body(due_at="2001-01-01T00:00:00Z"), None),  # past
        ("post", "/api/work-orders", _body(title=""), None),
        ("post", "/api/work-orders", _body(fault_codes=["x" * 41]), None),
        ("get", "/api/work-orders", None, {"limit": 201}),
        ("get", "/api/work-orders", None, {"status": "broken"}),
        ("get", "/api/work-orders", None, {"assignee_id": "me"}),
        ("get", "/api/work-orders", None, {"colour": "red"}),
        ("get", "/api/work-orders/not-a-ref", None, None),
        ("get", f"/api/work-orders/{'x' * 65}", None, None),
        ("patch", "/api/work-orders/WO-2026-000001", {}, None),
        ("patch", "/api/work-orders/WO-2026-000001", {"status": "done"}, None),
        ("patch", "/api/work-orders/WO-2026-000001", {"downtime_end": "yesterday"}, None),
        ("get", "/api/equipment/nonsense/work-orders", None, None),
        ("get", "/api/stats/work-order-trends", None, {"days": 0}),
        ("get", "/api/stats/work-order-trends", None, {"days": 366}),
        ("get", "/api/stats/kpis", None, {"days": "many"}),
        ("get", "/api/stats/equipment-health", None, {"limit": 0}),
        ("get", "/api/stats/equipment-health", None, {"equipment_id": "pump"}),
    ],
)
async def test_bad_input_is_a_4xx_with_a_message(
    wo: Any, method: str, path: str, body: Any, params: Any
) -> None:
    team = await _shared_team(wo)
    answer = await wo.api.request(
        method, path, json=body, params=params, headers=team.admin.headers
    )
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["error"]["message"]


async def test_impossible_downtime_is_refused(wo: Any) -> None:
    team = await _shared_team(wo)
    order = await wo.create(team.admin, (await wo.asset(team.admin))["id"])
    now = datetime.now(UTC)
    for changes, field in [
        ({"downtime_end": now.isoformat()}, "downtime_start"),
        ({"downtime_start": now.isoformat(), "downtime_end": _ago(now, 1)}, "back up"),
        ({"downtime_start": (now + timedelta(days=1)).isoformat()}, "future"),
        ({"priority": None}, "cannot be cleared"),
    ]:  # fmt: skip
        answer = await wo.patch(team.admin, order["id"], **changes)
        assert answer.status_code == 422, changes
        assert field in answer.json()["error"]["message"]


def _ago(now: datetime, hours: float) -> str:
    return (now - timedelta(hours=hours)).isoformat()


_TEAM: dict[str, Any] = {}


async def _shared_team(wo: Any) -> Any:
    if "team" not in _TEAM:
        _TEAM["team"] = await wo.team()
    return _TEAM["team"]
