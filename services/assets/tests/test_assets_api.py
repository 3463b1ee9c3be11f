"""The registry through the gateway: create-or-match, reads, changes, isolation, bad input."""

import asyncio
import json
from typing import Any

import httpx
import nats

from rivet_contracts import Events
from rivet_devstack.testing.helpers import Session, invite_member, register
from rivet_devstack.testing.services import ServiceSet


async def _create(api: httpx.AsyncClient, who: Session, **body: Any) -> httpx.Response:
    return await api.post("/api/equipment", json=body, headers=who.headers)


async def test_create_then_match_by_serial_enriches(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    first = await _create(
        api, admin, manufacturer="Allen Bradley", model="PowerFlex 525", serial="A1B2-C3D4"
    )
    assert first.status_code == 201, first.text
    created = first.json()
    assert created["outcome"] == "created"
    asset = created["equipment"]
    assert asset["manufacturer"] == "Allen-Bradley"
    assert asset["number"].startswith("EQ-")
    assert len(asset["number"]) == len("EQ-2026-000001")
    assert asset["source"] == "api"

    again = await _create(
        api, admin, manufacturer="Rockwell Automation", serial="a1b2 c3d4", location="Line 3"
    )
    assert again.status_code == 200
    matched = again.json()
    assert matched["outcome"] == "matched"
    assert matched["equipment"]["id"] == asset["id"]
    assert matched["enriched"] == ["location"]
    assert matched["equipment"]["location"] == "Line 3"
    assert matched["equipment"]["version"] == 2


async def test_different_serials_are_never_merged(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    a = await _create(api, admin, manufacturer="Siemens", model="S7-1200", serial="S-001")
    b = await _create(api, admin, manufacturer="Siemens", model="S7-1500", serial="S-002")
    c = await _create(api, admin, manufacturer="Siemens", model="S7-1200", serial="S-003")
    assert [x.json()["outcome"] for x in (a, b, c)] == ["created"] * 3
    assert len({x.json()["equipment"]["id"] for x in (a, b, c)}) == 3


async def test_possible_duplicates_then_caller_chooses(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    pump = (await _create(api, admin, manufacturer="Grundfos", model="CR 10-4")).json()
    doubt = await _create(api, admin, manufacturer="GRUNDFOS", model="CR10-4", serial="P-77")
    assert doubt.status_code == 200
    answer = doubt.json()
    assert answer["outcome"] == "possible_duplicates"
    assert answer["equipment"] is None
    assert answer["candidates"][0]["equipment"]["id"] == pump["equipment"]["id"]
    assert answer["candidates"][0]["score"] >= 80

    merged = await _create(
        api,
        admin,
        manufacturer="Grundfos",
        model="CR10-4",
        serial="P-77",
        merge_into=pump["equipment"]["id"],
    )
    assert merged.json()["outcome"] == "matched"
    assert merged.json()["equipment"]["serial"] == "P-77"

    other = await _create(api, admin, manufacturer="Grundfos", model="CR10-4", create_anyway=True)
    assert other.json()["outcome"] == "created"


async def test_numbers_are_distinct_under_concurrency(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    answers = await asyncio.gather(
        *(
            _create(api, admin, manufacturer="WEG", model=f"W22-{i}", serial=f"N{i}")
            for i in range(50)
        )
    )
    assert all(a.status_code == 201 for a in answers), [
        a.text for a in answers if a.status_code != 201
    ]
    numbers = [a.json()["equipment"]["number"] for a in answers]
    assert len(set(numbers)) == 50
    tails = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert tails == list(range(1, 51))


async def test_duplicate_serial_race_gives_one_asset(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    answers = await asyncio.gather(
        *(
            _create(api, admin, manufacturer="ABB", model="ACS580", serial="RACE-42")
            for _ in range(10)
        )
    )
    outcomes = sorted(a.json()["outcome"] for a in answers)
    assert outcomes == ["created"] + ["matched"] * 9
    assert len({a.json()["equipment"]["id"] for a in answers}) == 1


async def test_get_by_id_and_number_list_filters_and_sort(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    made = []
    for i, (make, crit, loc) in enumerate(
        [("Baldor", "high", "Plant 1 / Line 1"), ("WEG", "low", "Plant 1 / Line 2"),
         ("Baldor", "critical", "Plant 2 / Boilers")]
    ):  # fmt: skip
        made.append(
            (
                await _create(
                    api, admin, manufacturer=make, model=f"M{i}", serial=f"S{i}",
                    criticality=crit, location=loc, equipment_type="motor",
                )
            ).json()["equipment"]
        )  # fmt: skip
    by_number = await api.get(f"/api/equipment/{made[0]['number'].lower()}", headers=admin.headers)
    assert by_number.json()["id"] == made[0]["id"]
    by_id = await api.get(f"/api/equipment/{made[0]['id']}", headers=admin.headers)
    assert by_id.json()["number"] == made[0]["number"]

    page = (
        await api.get("/api/equipment", params={"manufacturer": "baldor"}, headers=admin.headers)
    ).json()
    assert page["total"] == 2
    assert {e["id"] for e in page["items"]} == {made[0]["id"], made[2]["id"]}
    plant1 = (
        await api.get("/api/equipment", params={"location": "Plant 1"}, headers=admin.headers)
    ).json()
    assert plant1["total"] == 2
    ranked = (
        await api.get("/api/equipment", params={"sort": "-criticality"}, headers=admin.headers)
    ).json()
    assert [e["criticality"] for e in ranked["items"]] == ["critical", "high", "low"]
    paged = (
        await api.get("/api/equipment", params={"limit": 1, "offset": 1}, headers=admin.headers)
    ).json()
    assert paged["total"] == 3
    assert len(paged["items"]) == 1
    assert paged["items"][0]["id"] == made[1]["id"]


async def test_patch_put_version_and_history(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    asset = (await _create(api, admin, manufacturer="Toshiba", model="B0104", serial="T-1")).json()[
        "equipment"
    ]
    ref = asset["number"]
    patched = await api.patch(
        f"/api/equipment/{ref}",
        json={"location": "Dock 4", "criticality": "high"},
        headers=admin.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["version"] == 2
    stale = await api.patch(
        f"/api/equipment/{ref}",
        params={"expected_version": 1},
        json={"name": "X"},
        headers=admin.headers,
    )
    assert stale.status_code == 409
    cleared = await api.patch(
        f"/api/equipment/{ref}", json={"location": None}, headers=admin.headers
    )
    assert cleared.json()["location"] is None
    bad = await api.patch(
        f"/api/equipment/{ref}", json={"manufacturer": None}, headers=admin.headers
    )
    assert bad.status_code == 422
    put = await api.put(
        f"/api/equipment/{ref}",
        json={"manufacturer": "Toshiba", "model": "B0105"},
        headers=admin.headers,
    )
    assert put.status_code == 200
    assert put.json()["serial"] is None
    assert put.json()["model"] == "B0105"
    history = (await api.get(f"/api/equipment/{ref}/history", headers=admin.headers)).json()[
        "items"
    ]
    assert [h["action"] for h in history] == ["updated", "updated", "updated", "created"]
    assert history[2]["changes"]["location"] == [None, "Dock 4"]
    assert history[1]["changes"]["location"] == ["Dock 4", None]
    assert history[0]["actor_id"] == admin.user["id"]


async def test_hierarchy_refuses_cycles_and_foreign_parents(api: httpx.AsyncClient) -> None:
    admin, stranger = await register(api), await register(api)
    line = (await _create(api, admin, manufacturer="Acme", name="Line 3")).json()["equipment"]
    machine = (
        await _create(api, admin, manufacturer="Krones", model="Modulfill", parent_id=line["id"])
    ).json()["equipment"]
    assert machine["parent_id"] == line["id"]
    cycle = await api.patch(
        f"/api/equipment/{line['id']}", json={"parent_id": machine["id"]}, headers=admin.headers
    )
    assert cycle.status_code == 422
    assert "cycle" in cycle.json()["error"]["message"]
    foreign = (await _create(api, stranger, manufacturer="Acme", name="Their line")).json()[
        "equipment"
    ]
    hijack = await _create(api, admin, manufacturer="Krones", model="X", parent_id=foreign["id"])
    assert hijack.status_code == 404
    children = (
        await api.get("/api/equipment", params={"parent_id": line["id"]}, headers=admin.headers)
    ).json()
    assert [c["id"] for c in children["items"]] == [machine["id"]]


async def test_retire_instead_of_delete(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    tech = await invite_member(api, admin, "technician")
    asset = (await _create(api, tech, manufacturer="Lenze", model="i550")).json()["equipment"]
    gone = await api.delete(f"/api/equipment/{asset['id']}", headers=admin.headers)
    assert gone.status_code == 405
    assert "retire" in gone.json()["error"]["message"]
    denied = await api.post(
        f"/api/equipment/{asset['id']}/retire",
        json={"reason": "scrap"},
        headers=tech.headers,
    )
    assert denied.status_code == 403
    retired = await api.post(
        f"/api/equipment/{asset['id']}/retire",
        json={"reason": "scrapped"},
        headers=admin.headers,
    )
    assert retired.status_code == 200, retired.text
    assert retired.json()["status"] == "retired"
    twice = await api.post(
        f"/api/equipment/{asset['id']}/retire",
        json={"reason": "again"},
        headers=admin.headers,
    )
    assert twice.status_code == 409
    url = f"/api/equipment/{asset['id']}/reinstate"
    denied = await api.post(url, json={"reason": "still works"}, headers=tech.headers)
    assert denied.status_code == 403
    back = await api.post(url, json={"reason": "repaired after all"}, headers=admin.headers)
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "in_service"
    again = await api.post(url, json={"reason": "again"}, headers=admin.headers)
    assert again.status_code == 409
    history = await api.get(f"/api/equipment/{asset['id']}/history", headers=admin.headers)
    entries = [(e["action"], e["reason"]) for e in history.json()["items"]]
    assert entries[:2] == [("reinstated", "repaired after all"), ("retired", "scrapped")]


async def test_roles(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    viewer = await invite_member(api, admin, "viewer")
    tech = await invite_member(api, admin, "technician")
    assert (await _create(api, viewer, manufacturer="ABB")).status_code == 403
    made = await _create(api, tech, manufacturer="ABB", model="M2BAX")
    assert made.status_code == 201
    ref = made.json()["equipment"]["id"]
    assert (await api.get(f"/api/equipment/{ref}", headers=viewer.headers)).status_code == 200
    assert (
        await api.patch(f"/api/equipment/{ref}", json={"name": "x"}, headers=viewer.headers)
    ).status_code == 403


async def test_other_organizations_get_404_on_every_route(api: httpx.AsyncClient) -> None:
    owner, other = await register(api), await register(api)
    asset = (await _create(api, owner, manufacturer="Wilo", model="Stratos", serial="W1")).json()[
        "equipment"
    ]
    h = other.headers
    for ref in (asset["id"], asset["number"]):
        assert (await api.get(f"/api/equipment/{ref}", headers=h)).status_code == 404
        assert (
            await api.patch(f"/api/equipment/{ref}", json={"name": "x"}, headers=h)
        ).status_code == 404
        assert (
            await api.put(f"/api/equipment/{ref}", json={"manufacturer": "x"}, headers=h)
        ).status_code == 404
        assert (await api.get(f"/api/equipment/{ref}/history", headers=h)).status_code == 404
        assert (
            await api.post(f"/api/equipment/{ref}/retire", json={"reason": "y"}, headers=h)
        ).status_code == 404
    assert (await api.get("/api/equipment", headers=h)).json()["total"] == 0
    hits = (await api.get("/api/equipment/search/fuzzy", params={"query": "W1"}, headers=h)).json()
    assert hits["items"] == []
    # The same serial in another organization is another asset.
    theirs = await _create(api, other, manufacturer="Wilo", model="Stratos", serial="W1")
    assert theirs.json()["outcome"] == "created"
    assert (
        await _create(api, other, manufacturer="Wilo", merge_into=asset["id"])
    ).status_code == 404


async def test_bad_input_gets_4xx_with_a_message(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    h = admin.headers
    missing = await api.post("/api/equipment", json={"model": "X"}, headers=h)
    assert missing.status_code == 422
    assert missing.json()["error"]["details"][0]["loc"][-1] == "manufacturer"
    assert (await api.get("/api/equipment", params={"limit": 100000}, headers=h)).status_code == 422
    assert (
        await api.get("/api/equipment", params={"sort": "password"}, headers=h)
    ).status_code == 422
    assert (await api.get("/api/equipment/not-a-uuid", headers=h)).status_code == 422
    assert (
        await api.get("/api/equipment/search/fuzzy", params={"query": ""}, headers=h)
    ).status_code == 422
    assert (
        await api.post(
            "/api/equipment", json={"manufacturer": "A", "criticality": "meh"}, headers=h
        )
    ).status_code == 422
    assert (
        await api.post(
            "/api/equipment", json={"manufacturer": "A", "org_id": admin.user["org_id"]}, headers=h
        )
    ).status_code == 422
    huge = await api.post("/api/equipment", json={"manufacturer": "A" * 5000}, headers=h)
    assert huge.status_code == 422


async def test_events_carry_what_consumers_need(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin = await register(api)
    settings = services.settings_for("assets")
    nc = await nats.connect(services.env.nats_url)
    sub = await nc.jetstream().subscribe(settings.subject("equipment.>"), ordered_consumer=True)
    made = (
        await _create(
            api, admin, manufacturer="Sulzer", model="AHLSTAR", serial="Q1", location="Pit"
        )
    ).json()
    await _create(api, admin, manufacturer="Sulzer", serial="q-1", name="Sump pump")
    await api.patch(
        f"/api/equipment/{made['equipment']['id']}",
        json={"criticality": "high"},
        headers=admin.headers,
    )
    mine: list[dict[str, Any]] = []
    while len(mine) < 3:
        msg = await sub.next_msg(timeout=10)
        event = json.loads(msg.data)
        if event["org_id"] == admin.user["org_id"]:
            mine.append(event)
    await nc.close()
    assert [e["type"] for e in mine] == [
        Events.EQUIPMENT_CREATED,
        Events.EQUIPMENT_MATCHED,
        Events.EQUIPMENT_UPDATED,
    ]
    created, matched, updated = (e["data"] for e in mine)
    assert created["number"] == made["equipment"]["number"]
    assert created["location"] == "Pit"
    assert created["source"] == "api"
    assert matched["enriched"] == ["name"]
    assert matched["version"] == 2
    assert updated["changed"] == ["criticality"]
    assert updated["version"] == 3
    assert all(e["actor"]["user_id"] == admin.user["id"] for e in mine)


async def test_enriched_model_is_matchable_and_searchable(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    await _create(api, admin, manufacturer="Danfoss", serial="DF-5150")
    enriched = await _create(api, admin, manufacturer="Danfoss", model="FC-302", serial="df5150")
    assert enriched.json()["enriched"] == ["model"]
    found = await api.get(
        "/api/equipment/search/fuzzy", params={"query": "FC302"}, headers=admin.headers
    )
    assert [h["equipment"]["serial"] for h in found.json()["items"]][:1] == ["DF-5150"]
    doubt = await _create(api, admin, manufacturer="Danfoss", model="FC 302")
    assert doubt.json()["outcome"] == "possible_duplicates"
