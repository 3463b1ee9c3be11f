"""Checklists through the gateway: given at creation, shown on every answer, results recorded
by position or id and checked against the item's kind, required items holding back the
completion (an admin's override aside), the timeline, the events and the plan an order carries
out."""

import json
from typing import Any
from uuid import uuid4

import httpx
import nats
from sqlalchemy import event

from rivet_devstack.testing.env import TestEnv
from rivet_devstack.testing.helpers import Session

CHECKLIST = [
    {"text": "Lock out and tag out the drive", "required": True},
    {"text": "Belt tension", "kind": "pass_fail", "required": True},
    {"text": "Bearing vibration", "kind": "number", "low": 0, "high": 4.5, "unit": "mm/s"},
    {"text": "Clean the fan cover"},
]


async def _order(wo: Any, who: Session, **fields: Any) -> dict[str, Any]:
    asset = await wo.asset(who)
    order: dict[str, Any] = await wo.create(who, asset["id"], checklist=CHECKLIST, **fields)
    return order


async def _check(wo: Any, who: Session, ref: str, item: str | int, **body: Any) -> httpx.Response:
    answer: httpx.Response = await wo.api.post(
        f"/api/work-orders/{ref}/checklist/{item}", json=body, headers=who.headers
    )
    return answer


async def test_a_checklist_is_given_at_creation_and_shown_everywhere(wo: Any) -> None:
    team = await wo.team()
    plan_id = str(uuid4())
    order = await _order(wo, team.technician, plan_id=plan_id, work_type="preventive")
    items = order["checklist"]
    assert [(i["position"], i["text"], i["required"], i["kind"]) for i in items] == [
        (1, "Lock out and tag out the drive", True, "check"),
        (2, "Belt tension", True, "pass_fail"),
        (3, "Bearing vibration", False, "number"),
        (4, "Clean the fan cover", False, "check"),
    ]
    assert (items[2]["low"], items[2]["high"], items[2]["unit"]) == (0, 4.5, "mm/s")
    assert all(
        (i["done"], i["result"], i["out_of_limits"], i["done_by"], i["done_at"], i["note"])
        == (False, None, False, None, None, None)
        for i in items
    )
    assert len({i["id"] for i in items}) == 4
    assert order["plan_id"] == plan_id
    created = order["timeline"][0]["changes"]
    assert (created["checklist_items"], created["plan_id"]) == ([None, 4], [None, plan_id])
    for path in (f"/api/work-orders/{order['id']}", f"/api/work-orders/{order['number']}"):
        shown = await wo.get(team.viewer, path)
        assert (shown["checklist"], shown["plan_id"]) == (items, plan_id)
    listed = await wo.get(team.viewer, "/api/work-orders")
    assert (listed["items"][0]["checklist"], listed["items"][0]["plan_id"]) == (items, plan_id)
    for_asset = await wo.get(team.viewer, f"/api/equipment/{order['equipment']['id']}/work-orders")
    assert for_asset["items"][0]["checklist"] == items
    mine = await wo.get(team.technician, "/api/stats/summary")
    assert mine["requested_open"]["items"][0]["checklist"] == items
    plain = await wo.create(team.technician, order["equipment"]["id"])
    assert (plain["checklist"], plain["plan_id"]) == ([], None)
    assert "checklist_items" not in plain["timeline"][0]["changes"]


async def test_results_by_position_or_id_fit_the_item_s_kind(wo: Any) -> None:
    team = await wo.team()
    tech = team.technician
    order = await _order(wo, team.admin)
    ref, items = order["number"], order["checklist"]
    done = await _check(wo, tech, ref, 1, note="isolator 3 locked")
    assert done.status_code == 200, done.text
    item = done.json()
    assert (item["id"], item["done"], item["result"], item["note"]) == (
        items[0]["id"], True, None, "isolator 3 locked",
    )  # fmt: skip
    assert item["done_by"] == tech.user["id"]
    assert item["done_at"] is not None
    verdict = await _check(wo, tech, ref, items[1]["id"], result="fail", note="glazed belt")
    assert verdict.status_code == 200, verdict.text
    assert (verdict.json()["position"], verdict.json()["result"]) == (2, "fail")
    high = await _check(wo, tech, order["id"], 3, result=7.25)
    assert high.status_code == 200, high.text
    assert (high.json()["result"], high.json()["out_of_limits"]) == (7.25, True)
    within = await _check(wo, tech, ref, 3, result=4)
    assert (within.json()["result"], within.json()["out_of_limits"]) == (4, False)
    below = await _check(wo, tech, ref, 3, result=-0.5)
    assert below.json()["out_of_limits"] is True
    taken_back = await _check(wo, tech, ref, 2, done=False)
    assert taken_back.status_code == 200, taken_back.text
    assert (taken_back.json()["done"], taken_back.json()["result"]) == (False, None)
    assert (taken_back.json()["done_by"], taken_back.json()["done_at"]) == (None, None)
    view = await wo.get(team.viewer, f"/api/work-orders/{ref}")
    assert [(i["done"], i["result"]) for i in view["checklist"]] == [
        (True, None), (False, None), (True, -0.5), (False, None),
    ]  # fmt: skip
    assert view["version"] == 1 + 6
    entries = [e for e in view["timeline"] if e["kind"] == "checklist_item"]
    assert [
        (e["changes"]["item"]["position"], e["changes"]["done"], e["body"]) for e in entries
    ] == [
        (1, [False, True], "isolator 3 locked"),
        (2, [False, True], "glazed belt"),
        (3, [False, True], None),
        (3, [True, True], None),
        (3, [True, True], None),
        (2, [True, False], None),
    ]
    assert entries[2]["changes"]["result"] == [None, 7.25]
    assert entries[2]["changes"]["out_of_limits"] == [False, True]
    assert entries[5]["changes"]["result"] == ["fail", None]
    assert entries[0]["author_name"] == tech.user["full_name"]
    # The same result again (a repeated request) changes nothing.
    again = await _check(wo, tech, ref, 3, result=-0.5)
    assert again.status_code == 200
    assert again.json()["done_at"] == below.json()["done_at"]
    assert (await wo.get(team.viewer, f"/api/work-orders/{ref}"))["version"] == view["version"]


async def test_results_that_do_not_fit_are_refused(wo: Any) -> None:
    team = await wo.team()
    order = await _order(wo, team.admin)
    ref = order["id"]
    for item, body, message in [
        (1, {"result": "pass"}, "takes no result"),
        (1, {"result": 3}, "takes no result"),
        (2, {}, "`pass` or `fail`"),
        (2, {"result": 1}, "`pass` or `fail`"),
        (3, {}, "a number"),
        (3, {"result": "pass"}, "a number"),
        (2, {"done": False, "result": "pass"}, "goes with `done: true`"),
        ("first", {}, "position"),
        ("1.5", {}, "position"),
    ]:
        answer = await _check(wo, team.technician, ref, item, **body)
        assert answer.status_code == 422, (item, body, answer.text)
        assert message in answer.json()["error"]["message"], (item, body, answer.text)
    for body in (
        {"result": "12"},
        {"result": True},
        {"result": "maybe"},
        {"done": "maybe"},
        {"note": ""},
        {"note": "x" * 1001},
        {"colour": "red"},
    ):
        answer = await _check(wo, team.technician, ref, 3, **body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["error"]["message"]
    for item in (0, 5, 999999, str(uuid4())):
        missing = await _check(wo, team.technician, ref, item)
        assert missing.status_code == 404, (item, missing.text)
        assert "has no checklist item" in missing.json()["error"]["message"]
    other = await _order(wo, team.admin)
    borrowed = await _check(wo, team.technician, ref, other["checklist"][0]["id"])
    assert borrowed.status_code == 404  # an item of another order
    view = await wo.get(team.viewer, f"/api/work-orders/{ref}")
    assert (view["version"], [i["done"] for i in view["checklist"]]) == (1, [False] * 4)


async def test_a_checklist_given_at_creation_is_checked(wo: Any) -> None:
    team = await wo.team()
    asset = await wo.asset(team.admin)
    item = {"text": "Vibration", "kind": "number"}
    for checklist, field in [
        ([item | {"low": 5, "high": 1}], "low"),
        ([{"text": "Look", "low": 1}], "number"),
        ([{"text": "Look", "unit": "mm"}], "number"),
        ([{"text": ""}], "checklist"),
        ([{"text": "x" * 501}], "checklist"),
        ([{"text": "Look", "kind": "photo"}], "checklist"),
        ([{"text": "Look", "required": "often"}], "checklist"),
        ([item | {"low": "1"}], "checklist"),
        ([{"text": "Look"}] * 101, "checklist"),
        ([{"text": "Look", "done": True}], "checklist"),
    ]:
        answer = await wo.api.post(
            "/api/work-orders",
            json={"equipment_id": asset["id"], "title": "x", "checklist": checklist},
            headers=team.admin.headers,
        )
        assert answer.status_code == 422, (checklist[:1], answer.text)
        assert field in answer.text, (checklist[:1], answer.text)
    hundred = await wo.create(team.admin, asset["id"], checklist=[{"text": "Look"}] * 100)
    assert [i["position"] for i in hundred["checklist"]] == list(range(1, 101))
    bad_plan = await wo.api.post(
        "/api/work-orders",
        json={"equipment_id": asset["id"], "title": "x", "plan_id": "weekly"},
        headers=team.admin.headers,
    )
    assert bad_plan.status_code == 422


async def test_required_items_hold_back_the_completion(wo: Any) -> None:
    team = await wo.team()
    tech, admin = team.technician, team.admin
    order = await _order(wo, admin)
    ref = order["id"]
    await wo.move(tech, ref, "in_progress")
    refused = await wo.patch(tech, ref, status="completed")
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "conflict"
    assert "2 required checklist items are not done" in error["message"]
    assert "1 (Lock out and tag out the drive)" in error["message"]
    assert "2 (Belt tension)" in error["message"]
    assert [i["position"] for i in error["details"]["open_required"]] == [1, 2]
    assert (await _check(wo, tech, ref, 1)).status_code == 200
    one_left = await wo.patch(tech, ref, status="completed")
    assert one_left.status_code == 409
    assert (
        "1 required checklist item is not done: 2 (Belt tension)"
        in (one_left.json()["error"]["message"])
    )
    # Overrides are for admins, with a completion only.
    for who, body, status in [
        (tech, {"status": "completed", "override_reason": "belt is on order"}, 403),
        (tech, {"override_reason": "belt is on order"}, 403),
        (admin, {"override_reason": "belt is on order"}, 422),
        (admin, {"status": "on_hold", "override_reason": "belt is on order"}, 422),
        (admin, {"status": "completed", "override_reason": "no"}, 422),
    ]:
        answer = await wo.patch(who, ref, **body)
        assert answer.status_code == status, (body, answer.text)
    view = await wo.get(team.viewer, f"/api/work-orders/{ref}")
    assert view["status"] == "in_progress"
    done = await wo.patch(
        admin, ref, status="completed", override_reason="belt is on order; drive runs safely"
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    kinds = [e["kind"] for e in done.json()["timeline"]]
    assert kinds[-2:] == ["checklist_override", "status_changed"]
    override = done.json()["timeline"][-2]
    assert override["body"] == "belt is on order; drive runs safely"
    assert override["changes"] == {"open_required_items": 1, "positions": [2]}
    assert override["author_id"] == admin.user["id"]
    # A closed order's record stays as it was; reopened, the work goes on.
    closed = await _check(wo, tech, ref, 2, result="pass")
    assert closed.status_code == 409, closed.text
    assert "reopen" in closed.json()["error"]["message"]
    await wo.move(tech, ref, "open", reason="belt arrived")
    assert (await _check(wo, tech, ref, 2, result="pass")).status_code == 200
    await wo.move(tech, ref, "in_progress")
    finished = await wo.patch(tech, ref, status="completed")
    assert finished.status_code == 200, finished.text
    kinds = [e["kind"] for e in finished.json()["timeline"]]
    assert kinds.count("checklist_override") == 1
    # Optional items never hold an order back; an override with nothing to override is quiet.
    light = await wo.create(admin, order["equipment"]["id"], checklist=[{"text": "Wipe"}])
    await wo.move(tech, light["id"], "in_progress")
    calm = await wo.patch(admin, light["id"], status="completed", override_reason="just in case")
    assert calm.status_code == 200, calm.text
    assert "checklist_override" not in [e["kind"] for e in calm.json()["timeline"]]


async def test_who_records_results(wo: Any) -> None:
    team = await wo.team()
    order = await _order(wo, team.admin, assignee_id=team.admin.user["id"])
    ref = order["id"]
    viewer = await _check(wo, team.viewer, ref, 1)
    assert viewer.status_code == 403
    assert "technician" in viewer.json()["error"]["message"]
    # a technician records on any order of the organization, assigned to them or not
    assert (await _check(wo, team.technician, ref, 1)).status_code == 200
    assert (await _check(wo, team.admin, ref, 4)).status_code == 200
    outsider = (await wo.team()).admin  # an organization without orders
    for path_ref in (order["id"], order["number"]):
        for item in (1, order["checklist"][1]["id"]):
            stranger = await _check(wo, outsider, path_ref, item, result="pass")
            assert stranger.status_code == 404, stranger.text
            assert order["checklist"][1]["text"] not in stranger.text
    view = await wo.get(team.viewer, f"/api/work-orders/{ref}")
    assert [i["done"] for i in view["checklist"]] == [True, False, False, True]


async def test_events_carry_the_item_and_the_plan(wo: Any, test_env: TestEnv) -> None:
    team = await wo.team()
    received: list[dict[str, Any]] = []
    nc = await nats.connect(test_env.nats_url)
    subject = wo.services.runtimes["workorders"].settings.subject("wo.>")

    async def collect(msg: Any) -> None:
        received.append(json.loads(msg.data))

    await nc.subscribe(subject, cb=collect)
    plan_id = str(uuid4())
    try:
        order = await _order(wo, team.technician, plan_id=plan_id)
        ref = order["id"]
        await wo.move(team.technician, ref, "in_progress")
        assert (await _check(wo, team.technician, ref, 3, result=9, note="loud")).status_code == 200
        assert (await _check(wo, team.technician, ref, 1)).status_code == 200

        def mine() -> list[dict[str, Any]]:
            return [e for e in received if e["data"]["work_order_id"] == ref]

        await wo.until(lambda: len(mine()) >= 4, what="four events")
    finally:
        await nc.close()
    events = mine()
    assert [e["type"] for e in events] == [
        "wo.created",
        "wo.status_changed",
        "wo.checklist_item_checked",
        "wo.checklist_item_checked",
    ]
    assert all(e["data"]["plan_id"] == plan_id for e in events)
    reading, lockout = events[2]["data"], events[3]["data"]
    assert (reading["item"]["position"], reading["item"]["result"]) == (3, 9)
    assert (reading["item"]["out_of_limits"], reading["item"]["note"]) == (True, "loud")
    assert (reading["open_required"], lockout["open_required"]) == (2, 1)
    assert reading["actor_id"] == team.technician.user["id"]
    assert (reading["version"], lockout["version"]) == (3, 4)
    assert events[2]["org_id"] == team.org_id


async def test_a_page_reads_its_checklists_in_one_query(wo: Any) -> None:
    team = await wo.team()
    asset = await wo.asset(team.admin)
    for n in range(5):
        await wo.create(team.technician, asset["id"], checklist=[{"text": f"Step {n}"}] * (n + 1))
    engine = wo.services.runtimes["workorders"].db.engine.sync_engine
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        page = await wo.get(team.viewer, "/api/work-orders", limit=50)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [len(o["checklist"]) for o in page["items"]] == [5, 4, 3, 2, 1]
    assert sum("checklist_items" in s for s in statements) == 1, statements
