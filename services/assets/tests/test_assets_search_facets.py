"""Search by what people type besides codes: a brand (canonical, alias, with typos), a place (a
location segment, with typos), an equipment type, a mix of them, the start of a word (search as
you type); pages of a facet's assets; never another organization's."""

from typing import Any

import httpx
import pytest

from rivet_devstack.testing.helpers import Session, register

ASSETS = [
    # (key, manufacturer, model, serial, type, location)
    ("cr10", "Grundfos", "CR 10-3", "GF-100231", "Pump", "Plant 1 / Boiler house / Feed"),
    ("cr32", "Grundfos", "CR 32-2", "GF-100877", "Pump", "Plant 2 / Cooling tower"),
    ("nb65", "Grundfos", "NB 65-200", "GF-200412", "Pump", "Plant 1 / Boiler house / Return"),
    (
        "pf525",
        "Allen Bradley",
        "PowerFlex 525",
        "B7K22190",
        "Drive",
        "Plant 1 / Line 3 / Palletizer",
    ),
    (
        "pf755",
        "Allen-Bradley",
        "PowerFlex 755",
        "B7K99821",
        "Drive",
        "Plant 1 / Boiler house / Fans",
    ),
    (
        "acs",
        "ABB",
        "ACS580-01-12A7-4",
        "3AUA0000080",
        "Drive",
        "Plant 2 / Utilities / Compressor room",
    ),
    ("m3bp", "ABB", "M3BP 160MLA 4", "3GBP162410", "Motor", "Plant 1 / Boiler house / Fans"),
    ("1le1", "Siemens", "1LE1001-1DB23-4AA4", "UD1203/123456", "Motor", "Plant 2 / Line 1"),
]
BOILER_HOUSE = {"cr10", "nb65", "pf755", "m3bp"}


async def _search(api: httpx.AsyncClient, who: Session, query: str, **params: Any) -> Any:
    answer = await api.get(
        "/api/equipment/search/fuzzy", params={"query": query, **params}, headers=who.headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture(scope="module")
async def plant(api: httpx.AsyncClient) -> tuple[Session, dict[str, str]]:
    """An organization with the assets above, and another one with look-alikes of its own."""
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
    other = await register(api, "other")
    for serial in ("OTHER-1", "OTHER-2"):
        body = {
            "manufacturer": "Grundfos", "model": "CR 10-3", "serial": serial,
            "equipment_type": "Pump", "location": "Plant 1 / Boiler house / Feed",
            "create_anyway": True,
        }  # fmt: skip
        answer = await api.post("/api/equipment", json=body, headers=other.headers)
        assert answer.status_code == 201, answer.text
    return admin, ids


def _keys(result: Any, ids: dict[str, str]) -> list[str]:
    by_id = {v: k for k, v in ids.items()}
    return [by_id.get(x["equipment"]["id"], "FOREIGN") for x in result["items"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("grundfos", {"cr10", "cr32", "nb65"}),
        ("Grundfoss", {"cr10", "cr32", "nb65"}),  # one typo
        ("grunfos", {"cr10", "cr32", "nb65"}),  # a letter missing
        ("Rockwell", {"pf525", "pf755"}),  # an alias of Allen-Bradley
        ("allen bradly", {"pf525", "pf755"}),
        ("boiler house", BOILER_HOUSE),  # a place
        ("Boiler hose", BOILER_HOUSE),  # a place with a typo
        ("pumps", {"cr10", "cr32", "nb65"}),  # a type
        ("motor", {"m3bp", "1le1"}),
    ],
)
async def test_a_facet_alone_finds_its_assets(
    api: httpx.AsyncClient, plant: tuple[Session, dict[str, str]], query: str, expected: set[str]
) -> None:
    admin, ids = plant
    found = _keys(await _search(api, admin, query, limit=50), ids)
    assert set(found[: len(expected)]) == expected, (query, found)
    assert "FOREIGN" not in found


async def test_a_whole_word_names_its_brand_not_the_brands_it_starts(
    api: httpx.AsyncClient, plant: tuple[Session, dict[str, str]]
) -> None:
    admin, ids = plant
    # Allen-Bradley's alias, exactly: not also ABB, which "AB" starts
    assert set(_keys(await _search(api, admin, "AB"), ids)) == {"pf525", "pf755"}
    assert set(_keys(await _search(api, admin, "abb"), ids)) == {"acs", "m3bp"}
    # the nearest brand only: "abv" is ABB one edit away, not also Allen-Bradley's "AB"
    assert set(_keys(await _search(api, admin, "abv"), ids)) == {"acs", "m3bp"}


async def test_facets_together_narrow_the_list(
    api: httpx.AsyncClient, plant: tuple[Session, dict[str, str]]
) -> None:
    admin, ids = plant
    assert _keys(await _search(api, admin, "abb boiler house"), ids)[0] == "m3bp"
    assert set(_keys(await _search(api, admin, "grundfos boiler house"), ids)[:2]) == {
        "cr10",
        "nb65",
    }
    assert set(_keys(await _search(api, admin, "drives boiler house"), ids)[:1]) == {"pf755"}
    # a nameplate line still finds the one asset
    assert _keys(await _search(api, admin, "grundfos cr 32-2 cooling tower"), ids)[0] == "cr32"


async def test_the_start_of_a_word_finds_as_you_type(
    api: httpx.AsyncClient, plant: tuple[Session, dict[str, str]]
) -> None:
    admin, ids = plant
    assert set(_keys(await _search(api, admin, "grun"), ids)[:3]) == {"cr10", "cr32", "nb65"}
    assert set(_keys(await _search(api, admin, "boil"), ids)[:4]) == BOILER_HOUSE
    assert _keys(await _search(api, admin, "powerflex 75"), ids)[0] == "pf755"


async def test_a_facet_pages_through_all_its_assets(
    api: httpx.AsyncClient, plant: tuple[Session, dict[str, str]]
) -> None:
    admin, ids = plant
    seen: list[str] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        page = await _search(api, admin, "boiler house", limit=3, offset=offset)
        seen += _keys(page, ids)[: len(BOILER_HOUSE) - len(seen)]
        offset = page["next_offset"]
        pages += 1
        assert pages <= 5
    assert len(seen) == len(set(seen))
    assert set(seen) == BOILER_HOUSE
    # most recently changed first among equals: the last created comes first
    first = await _search(api, admin, "boiler house", limit=1)
    assert _keys(first, ids) == ["m3bp"]
    assert first["next_offset"] == 1


async def test_another_organization_sees_only_its_own(
    api: httpx.AsyncClient, plant: tuple[Session, dict[str, str]]
) -> None:
    admin, ids = plant
    for query in ("grundfos", "boiler house", "pumps", "grundfos boiler house feed", "grun"):
        found = _keys(await _search(api, admin, query, limit=50), ids)
        assert "FOREIGN" not in found, query


async def test_nothing_matching_is_still_nothing(
    api: httpx.AsyncClient, plant: tuple[Session, dict[str, str]]
) -> None:
    admin, _ = plant
    assert (await _search(api, admin, "qqqqzzzz"))["items"] == []
    assert (await _search(api, admin, "qqqqzzzz"))["next_offset"] is None
