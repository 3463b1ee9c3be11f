"""Typo-tolerant search through the gateway: full names, model codes and serials with one or
two typos, equipment numbers, ranking, organization scoping, index upkeep on updates, bad input.
"""

from typing import Any

import httpx
import pytest

from rivet_devstack.testing.helpers import Session, register

ASSETS = [
    # (key, manufacturer, model, serial, location)
    ("g120", "Siemens", "6SL3210-1KE21-3UF1", "XAJ7-123-4567", "Plant 1 / Line 3 / Pump room"),
    ("g120b", "Siemens", "6SL3210-1KE21-3UF1", "XAJ7-123-4568", "Plant 1 / Line 4 / Mixing"),
    ("g120c", "Siemens", "6SL3210-1KE21-7UF1", "XAJ7-123-9999", "Plant 2 / Boiler house / Roof"),
    ("acs", "ABB", "ACS580-01-12A7-4", "3AUA0000080", "Plant 2 / Utilities / Compressor room"),
    ("pf525", "Allen Bradley", "PowerFlex 525", "B7K22190", "Plant 1 / Line 3 / Palletizer"),
    ("cr", "Grundfos", "CR 10-3", "96500123P1", "Plant 1 / Wastewater / Sump"),
    ("w22", "WEG", "W22 75HP", "1029384756", "Plant 2 / Line 1 / Extruder"),
    ("atv", "Schneider", "ATV320U15N4C", "8B1936000412", "Plant 1 / Line 3 / Chiller room"),
]


async def _create(api: httpx.AsyncClient, who: Session, **body: Any) -> dict[str, Any]:
    answer = await api.post("/api/equipment", json=body, headers=who.headers)
    assert answer.status_code == 201, answer.text
    equipment: dict[str, Any] = answer.json()["equipment"]
    return equipment


async def _search(api: httpx.AsyncClient, who: Session, query: str, **params: Any) -> list[Any]:
    answer = await api.get(
        "/api/equipment/search/fuzzy", params={"query": query, **params}, headers=who.headers
    )
    assert answer.status_code == 200, answer.text
    items: list[Any] = answer.json()["items"]
    return items


@pytest.fixture(scope="module")
async def plant(api: httpx.AsyncClient) -> tuple[Session, dict[str, dict[str, Any]]]:
    admin = await register(api)
    made = {}
    for key, make, model, serial, location in ASSETS:
        made[key] = await _create(
            api, admin, manufacturer=make, model=model, serial=serial, location=location,
            create_anyway=True,
        )  # fmt: skip
    return admin, made


def _ids(items: list[Any], top: int = 10) -> list[str]:
    return [x["equipment"]["id"] for x in items[:top]]


@pytest.mark.parametrize(
    ("query", "target"),
    [
        ("siemns 6SL3210-1KE21-3UF1 pump room", "g120"),  # brand typo + location
        ("siemens 6SL3210-1KE12-3UF1 mixing", "g120b"),  # transposition in the model
        ("Siemens 6SL3210-1KE21-3UF1 line 4 mixng", "g120b"),  # location typo
        ("abb acs580-01-12a7-5 compresor room", "acs"),  # 2 typos
        ("alen bradley powerflex 252", "pf525"),  # alias with a typo, model transposition
        ("rockwell powerflx 525", "pf525"),  # catalogue alias, model typo
        ("grundfoss cr 10-3 sump", "cr"),
        ("schnieder atv320u15n4c chiller room", "atv"),
    ],
)
async def test_full_names_with_typos(
    api: httpx.AsyncClient, plant: tuple[Session, dict[str, Any]], query: str, target: str
) -> None:
    admin, made = plant
    items = await _search(api, admin, query)
    assert made[target]["id"] in _ids(items, 3), [
        (x["equipment"]["model"], x["equipment"]["location"], x["score"]) for x in items
    ]


@pytest.mark.parametrize(
    ("query", "target"),
    [
        ("ATV320U15N4C", "atv"),  # exact
        ("atv 320 u15 n4c", "atv"),  # spacing
        ("ATV-320-U15-N4C", "atv"),  # punctuation
        ("ATV320U51N4C", "atv"),  # transposition
        ("ATV32OU15N4", "atv"),  # OCR 0/O + deletion
        ("acs58001-12a7-4", "acs"),
        ("ACS580 01 12A7 4", "acs"),
        ("ACS5800-1-12B7-4", "acs"),  # moved dash + substitution
        ("W22 57HP", "w22"),
        ("cr 10 3", "cr"),
    ],
)
async def test_model_codes_any_punctuation_with_typos(
    api: httpx.AsyncClient, plant: tuple[Session, dict[str, Any]], query: str, target: str
) -> None:
    admin, made = plant
    items = await _search(api, admin, query)
    assert made[target]["id"] in _ids(items, 3), [x["equipment"]["model"] for x in items]
    hit = next(x for x in items if x["equipment"]["id"] == made[target]["id"])
    assert hit["matched_on"] == "model"


@pytest.mark.parametrize(
    ("query", "target"),
    [
        ("XAJ7-123-4567", "g120"),  # exact: first, ahead of its batch siblings
        ("xaj71234567", "g120"),
        ("XAJ7-123-4576", "g120"),  # transposition
        ("XAJ-123-45678", "g120b"),  # deletion + insertion
        ("3AUA000080", "acs"),  # deletion
        ("3AUA0O00080", "acs"),  # OCR 0/O
        ("B7K2219O", "pf525"),
        ("9650012P1", "cr"),
        ("8B1963000421", "atv"),  # two transpositions
        ("1029348756", "w22"),
    ],
)
async def test_serials_with_typos(
    api: httpx.AsyncClient, plant: tuple[Session, dict[str, Any]], query: str, target: str
) -> None:
    admin, made = plant
    items = await _search(api, admin, query)
    assert made[target]["id"] in _ids(items, 3), [x["equipment"]["serial"] for x in items]
    hit = next(x for x in items if x["equipment"]["id"] == made[target]["id"])
    assert hit["matched_on"] == "serial"


async def test_exact_serial_ranks_first_with_full_view(
    api: httpx.AsyncClient, plant: tuple[Session, dict[str, Any]]
) -> None:
    admin, made = plant
    items = await _search(api, admin, "XAJ7 123 4568")
    assert items[0]["equipment"] == made["g120b"] | {
        "updated_at": items[0]["equipment"]["updated_at"]
    }
    assert items[0]["score"] == 100
    scores = [x["score"] for x in items]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 100 for s in scores)
    assert items[1]["score"] < 100  # the batch neighbours are close, not equal


async def test_equipment_number_lookup(
    api: httpx.AsyncClient, plant: tuple[Session, dict[str, Any]]
) -> None:
    admin, made = plant
    number = made["w22"]["number"]  # EQ-2026-000007 or so
    for query in (number, number.lower(), number.replace("-", "")[2:]):
        items = await _search(api, admin, query)
        assert items, query
        assert items[0]["equipment"]["id"] == made["w22"]["id"], query
        assert items[0]["matched_on"] == "number"


async def test_ranking_sanity(
    api: httpx.AsyncClient, plant: tuple[Session, dict[str, Any]]
) -> None:
    admin, made = plant
    # both assets of the model first, the one-character-off sibling model after them
    items = await _search(api, admin, "6SL3210-1KE21-3UF1")
    assert set(_ids(items, 2)) == {made["g120"]["id"], made["g120b"]["id"]}
    assert made["g120c"]["id"] in _ids(items)
    assert items[0]["score"] > next(
        x["score"] for x in items if x["equipment"]["id"] == made["g120c"]["id"]
    )
    # the location decides between the two
    assert _ids(await _search(api, admin, "siemens 6SL3210-1KE21-3UF1 mixing"), 1) == [
        made["g120b"]["id"]
    ]
    # limit is honoured; nonsense finds nothing
    assert len(await _search(api, admin, "siemens", limit=2)) <= 2
    assert await _search(api, admin, "qqqqzzzz") == []
    assert await _search(api, admin, "-- //") == []


async def test_other_organizations_never_appear(
    api: httpx.AsyncClient, plant: tuple[Session, dict[str, Any]]
) -> None:
    admin, made = plant
    other = await register(api, "other")
    # same model and a serial one typo away from the first organization's asset
    theirs = await _create(
        api, other, manufacturer="Siemens", model="6SL3210-1KE21-3UF1", serial="XAJ7-123-4566",
        location="Plant 1 / Line 3 / Pump room",
    )  # fmt: skip
    mine = {x["id"] for x in made.values()}
    for query in ("XAJ7-123-4566", "siemens 6SL3210-1KE21-3UF1 pump room", made["g120"]["number"]):
        for who, allowed in ((admin, mine), (other, {theirs["id"]})):
            items = await _search(api, who, query, limit=50)
            assert {x["equipment"]["id"] for x in items} <= allowed, query
            assert all(x["equipment"]["org_id"] == who.user["org_id"] for x in items)
    assert _ids(await _search(api, other, "XAJ7-123-4566"), 1) == [theirs["id"]]


async def test_index_follows_updates(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    asset = await _create(
        api, admin, manufacturer="Lenze", model="E84AVSCE2212SX0", serial="LZ-700100"
    )
    ref = asset["number"]
    answer = await api.patch(
        f"/api/equipment/{ref}",
        json={"serial": "QW-998877", "model": "I55AE155F10010001", "location": "Hall 7 / Press"},
        headers=admin.headers,
    )
    assert answer.status_code == 200, answer.text
    assert _ids(await _search(api, admin, "QW-998878"), 1) == [asset["id"]]
    assert await _search(api, admin, "LZ-700100") == []  # the old serial's keys are gone
    assert _ids(await _search(api, admin, "lenze I55AE155F1001001 press"), 1) == [asset["id"]]
    # a serial added by create-or-match enrichment is indexed too
    bare = await _create(api, admin, manufacturer="Kaeser", model="ASD 35 T SFC")
    enriched = await api.post(
        "/api/equipment",
        json={"manufacturer": "Kaeser", "model": "ASD 35 T SFC", "serial": "KA-5551212",
              "merge_into": bare["id"]},
        headers=admin.headers,
    )  # fmt: skip
    assert enriched.json()["outcome"] == "matched"
    assert _ids(await _search(api, admin, "KA-5551221"), 1) == [bare["id"]]


@pytest.mark.parametrize(
    "params",
    [{"query": ""}, {"query": "siemens", "limit": 51}, {"query": "siemens", "limit": 0}, {},
     {"query": "x" * 201}],
)  # fmt: skip
async def test_bad_input_is_refused(
    api: httpx.AsyncClient, plant: tuple[Session, dict[str, Any]], params: dict[str, Any]
) -> None:
    admin, _ = plant
    answer = await api.get("/api/equipment/search/fuzzy", params=params, headers=admin.headers)
    assert answer.status_code == 422, answer.text


async def test_search_needs_a_login(api: httpx.AsyncClient) -> None:
    answer = await api.get("/api/equipment/search/fuzzy", params={"query": "siemens"})
    assert answer.status_code == 401
