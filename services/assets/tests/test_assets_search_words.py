"""How the search reads the words people type: a place is a whole location segment, places tied
for one word are alternatives, a brand's name that ends in a type names both, the start of the
last word narrows only when something has it, a nameplate line finds its serial written with
slashes or spaces, and the nearest brand wins over one two edits away."""

from typing import Any

import httpx
import pytest

from rivet_devstack.testing.helpers import Session, register

ASSETS = [
    # (key, manufacturer, model, serial, type, location)
    ("l1", "ABB", "M3BP 160MLA 4", "3GBP162410", "Motor", "Plant 1 / Line 1 / Fans"),
    ("l10", "ABB", "M3BP 160MLA 4", "3GBP162411", "Motor", "Plant 1 / Line 10 / Fans"),
    ("l11", "ABB", "ACS580-01-12A7-4", "3AUA0000081", "Drive", "Plant 1 / Line 11"),
    ("mcc1", "Eaton", "DILM32-10", "EA-77120", "Contactor", "Plant 2 / MCC 1"),
    ("mcc2", "Eaton", "DILM65-10", "EA-77121", "Contactor", "Plant 2 / MCC 2"),
    ("vacon", "Danfoss", "FC-302", "VY7/3904346", "Drive", "Plant 2 / Line 11"),
    ("baldor", "Baldor", "EM3615T", "EA1 7282 298", "Motor", "Plant 3 / Boiler house"),
]


@pytest.fixture(scope="module")
async def plant(api: httpx.AsyncClient) -> tuple[Session, dict[str, str]]:
    admin = await register(api)
    ids = {}
    for key, make, model, serial, kind, location in ASSETS:
        body = {
            "manufacturer": make, "model": model, "serial": serial, "equipment_type": kind,
            "location": location, "create_anyway": True,
        }  # fmt: skip
        answer = await api.post("/api/equipment", json=body, headers=admin.headers)
        assert answer.status_code == 201, answer.text
        ids[key] = answer.json()["equipment"]["id"]
    return admin, ids


async def _found(api: httpx.AsyncClient, who: Session, ids: dict[str, str], query: str) -> Any:
    answer = await api.get(
        "/api/equipment/search/fuzzy", params={"query": query, "limit": 50}, headers=who.headers
    )
    assert answer.status_code == 200, answer.text
    by_id = {v: k for k, v in ids.items()}
    return [by_id.get(x["equipment"]["id"], "FOREIGN") for x in answer.json()["items"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("line 1", ["l1"]),  # the segment Line 1, not Line 10 or Line 11
        ("line 10", ["l10"]),  # a place, not model codes that start with 10
        ("line 11", {"l11", "vacon"}),
        ("abb line 11", ["l11"]),
        ("mcc", {"mcc1", "mcc2"}),  # MCC 1 and MCC 2 tie: either, not both at once
        ("abb motors", {"l1", "l10"}),  # "ABB Motors" is ABB's name and names the type too
        ("eaton", {"mcc1", "mcc2"}),  # Eaton, not also Vacon (Danfoss) two edits away
        ("boiler house", ["baldor"]),
    ],
)
async def test_places_brands_and_types_as_typed(
    api: httpx.AsyncClient, plant: tuple[Session, dict[str, str]], query: str, expected: Any
) -> None:
    admin, ids = plant
    found = await _found(api, admin, ids, query)
    assert (set(found) if isinstance(expected, set) else found) == expected, (query, found)


async def test_the_start_of_the_last_word_narrows_only_when_something_has_it(
    api: httpx.AsyncClient, plant: tuple[Session, dict[str, str]]
) -> None:
    admin, ids = plant
    # "abb dr..." -> ABB's drives; "abb co..." (no ABB contactor) -> ABB's assets still
    assert await _found(api, admin, ids, "abb dr") == ["l11"]
    assert set(await _found(api, admin, ids, "abb co")) == {"l1", "l10", "l11"}
    # a brand's full name whose last word starts a type ("co..." -> Compressor) is the brand
    assert await _found(api, admin, ids, "baldor electric co") == ["baldor"]


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("danfoss fc-302 s/n VY7/3904346", "vacon"),  # a serial written with a slash
        ("baldor em3615t EA1 7282 298", "baldor"),  # a serial written with spaces
        ("BALDOR EM3615T EAI 7282 298", "baldor"),  # as the scanner read it: I for 1
        ("ABB M3BP 160MLA 4 3GBP162411", "l10"),  # a serial one apart from a sibling's
        ("ABB M3BP 160MLA 4 3GBP 162411", "l10"),  # the serial split after a split model
    ],
)
async def test_a_nameplate_line_finds_its_serial(
    api: httpx.AsyncClient, plant: tuple[Session, dict[str, str]], query: str, key: str
) -> None:
    admin, ids = plant
    assert (await _found(api, admin, ids, query))[:1] == [key], query


async def test_pages_of_a_type_neither_repeat_nor_skip_when_names_match_better(
    api: httpx.AsyncClient,
) -> None:
    """Older pumps whose names also say "feed" match "feed pumps" better than the newer ones;
    the type's list is still read newest first, so a later page (which reads a longer list)
    does not pull them ahead of the rows already shown."""
    admin = await register(api)
    names = [f"Feed pump {n}" for n in range(3)] + [f"Unit {n}" for n in range(4)]
    made = []
    for n, name in enumerate(names):
        body = {
            "manufacturer": "Grundfos", "model": f"CR {n + 1}-2", "serial": f"GF-9000{n}",
            "equipment_type": "Pump", "name": name, "create_anyway": True,
        }  # fmt: skip
        answer = await api.post("/api/equipment", json=body, headers=admin.headers)
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["equipment"]["id"])
    shown: list[str] = []
    offset: int | None = 0
    while offset is not None:
        answer = await api.get(
            "/api/equipment/search/fuzzy",
            params={"query": "feed pumps", "limit": 3, "offset": offset},
            headers=admin.headers,
        )
        assert answer.status_code == 200, answer.text
        page = answer.json()
        shown += [hit["equipment"]["id"] for hit in page["items"]]
        offset = page["next_offset"]
        assert len(shown) <= len(names)
    assert sorted(shown) == sorted(made)
    assert shown[:4] == made[::-1][:4]  # the newest first
