"""Rivet Pro's clients keep working: every call Rivet Pro's web API took (the routers of
github.com/Mikecranesync/Rivet-PRO, ``rivet_pro/adapters/web``), replayed as its clients sent
it against the gateway with every service running, under the prefix a Rivet Pro client's base
URL gets (ADR 0021). Each answer carries the fields the router answered with, and means what
it meant there."""

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from rivet_gateway.rivetpro import PREFIX

PHOTO = Path(__file__).resolve().parents[2] / "ocr/tests/fixtures/np_011_clean.jpg"
PLATE = json.loads(PHOTO.with_suffix(".json").read_text())["fields"]

USER = ["id", "email", "full_name", "role"]
EQUIPMENT = [  # EquipmentResponse, and the columns of cmms_equipment (migration 003) it lists
    "id",
    "equipment_number",
    "manufacturer",
    "model_number",
    "serial_number",
    "equipment_type",
    "location",
    "work_order_count",
    "last_reported_fault",
    "owned_by_user_id",
    "created_at",
    "updated_at",
]
WORK_ORDER = [  # WorkOrderResponse, columns of work_orders (migration 004)
    "id",
    "work_order_number",
    "equipment_id",
    "equipment_number",
    "title",
    "description",
    "status",
    "priority",
    "fault_codes",
    "symptoms",
    "created_at",
    "updated_at",
    "completed_at",
]


@dataclass
class Call:
    """One request of a Rivet Pro client: what it sent and the fields it read back."""

    method: str
    path: str
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None
    params: dict[str, Any] | None = None
    photo: bool = False
    status: int = 200
    reads: list[str] = field(default_factory=list)
    """Dotted names; ``[]`` in a name: every item of a list answer."""
    keep: dict[str, str] = field(default_factory=dict)
    """Values of the answer the next calls use: name -> dotted field."""


EMAIL = "pro-{run}@example.com"
PASSWORD = "Turbine blade 77"
SERIAL = "SN-{run}"

CALLS: list[Call] = [
    # rivet_pro/adapters/web/main.py
    Call("GET", "/", reads=["service", "version", "docs", "health"]),
    Call("GET", "/health", reads=["status", "service", "version", "database.healthy"]),
    # rivet_pro/adapters/web/routers/auth.py
    Call(
        "POST",
        "/api/auth/register",
        json={"email": EMAIL, "password": PASSWORD, "full_name": "Pat Fixer"},
        reads=["access_token", "token_type", *(f"user.{f}" for f in USER)],
    ),
    Call(
        "POST",
        "/api/auth/login",
        form={"username": EMAIL, "password": PASSWORD},
        reads=["access_token", "token_type", *(f"user.{f}" for f in USER), "user.telegram_user_id"],
        keep={"token": "access_token", "user_id": "user.id"},
    ),
    Call("GET", "/api/auth/me", reads=[*USER, "telegram_user_id", "created_at"]),
    Call(
        "POST",
        "/api/auth/link-telegram",
        json={"telegram_user_id": "123456789"},
        status=202,
        reads=["success", "message", "telegram_user_id"],
    ),
    # rivet_pro/adapters/web/routers/equipment.py
    Call(
        "POST",
        "/api/equipment/",
        json={
            "manufacturer": "Siemens",
            "model_number": "6SL3210-1KE21-3UF1",
            "serial_number": SERIAL,
            "equipment_type": "VFD",
            "location": "Building A",
        },
        reads=[*(f"equipment.{f}" for f in EQUIPMENT), "is_new"],
        keep={"equipment_id": "equipment.id", "equipment_number": "equipment.equipment_number"},
    ),
    Call(
        "GET",
        "/api/equipment/",
        params={"limit": 50, "offset": 0, "manufacturer": "Siemens", "equipment_type": "VFD"},
        reads=[f"[].{f}" for f in EQUIPMENT],
    ),
    Call("GET", "/api/equipment/{equipment_id}", reads=EQUIPMENT),
    Call("PUT", "/api/equipment/{equipment_id}", json={"location": "Building B"}, reads=EQUIPMENT),
    Call(
        "GET",
        "/api/equipment/search/fuzzy",
        params={"query": "6SL3210", "limit": 20},
        reads=[
            f"[].{f}"
            for f in (
                "id",
                "equipment_number",
                "manufacturer",
                "model_number",
                "serial_number",
                "equipment_type",
                "location",
                "work_order_count",
            )
        ],
    ),
    # rivet_pro/adapters/web/routers/work_orders.py
    Call(
        "POST",
        "/api/work-orders/",
        json={  # the asset flat, as Rivet Pro's clients sent it: matched to the one above
            "title": "Drive trips on overcurrent",
            "description": "F0001 at start-up",
            "manufacturer": "Siemens",
            "model_number": "6SL3210-1KE21-3UF1",
            "serial_number": SERIAL,
            "equipment_type": "VFD",
            "location": "Building B",
            "fault_codes": ["F0001"],
            "symptoms": ["trips at start"],
            "priority": "high",
        },
        reads=WORK_ORDER,
        keep={"work_order_id": "id"},
    ),
    Call(
        "POST",
        "/api/work-orders/",
        json={
            "title": "Clean the heat sink",
            "description": "Dusty",
            "equipment_id": "{equipment_id}",
        },
        reads=WORK_ORDER,
        keep={"second_order": "id"},
    ),
    Call("GET", "/api/work-orders/", params={"status": "open", "limit": 50}, reads=["[].id"]),
    Call("GET", "/api/work-orders/{work_order_id}", reads=[*WORK_ORDER, "user_id"]),
    Call(
        "PUT",
        "/api/work-orders/{work_order_id}",
        json={"status": "in_progress", "notes": "On site"},
        reads=WORK_ORDER,
    ),
    Call(
        "PUT",
        "/api/work-orders/{work_order_id}",
        json={"status": "completed", "notes": "Replaced the fan"},
        reads=WORK_ORDER,
    ),
    Call(
        "PUT",
        "/api/work-orders/{second_order}",
        json={"status": "cancelled", "notes": "Done with the repair"},
        reads=WORK_ORDER,
    ),
    Call(
        "GET",
        "/api/work-orders/equipment/{equipment_id}/work-orders",
        params={"limit": 50},
        reads=[f"[].{f}" for f in WORK_ORDER],
    ),
    # rivet_pro/adapters/web/routers/stats.py
    Call(
        "GET",
        "/api/stats/overview",
        reads=[
            "equipment_count",
            "work_orders_open",
            "work_orders_in_progress",
            "work_orders_completed",
            "top_manufacturers",
            "top_faults",
        ],
    ),
    Call(
        "GET",
        "/api/stats/equipment-health",
        reads=[
            f"[].{f}"
            for f in (
                "id",
                "equipment_number",
                "manufacturer",
                "model_number",
                "work_order_count",
                "last_reported_fault",
                "health_score",
            )
        ],
    ),
    Call(
        "GET",
        "/api/stats/work-order-trends",
        params={"days": 30},
        reads=["[].date", "[].created_count", "[].completed_count"],
    ),
    Call(
        "GET",
        "/api/stats/summary",
        reads=[
            "user.id",
            "user.email",
            "user.full_name",
            "stats.equipment",
            "stats.work_orders_active",
            "stats.work_orders_completed",
        ],
    ),
    # rivet_pro/adapters/web/routers/upload.py
    Call(
        "POST",
        "/api/upload/nameplate",
        params={"create_equipment": "true"},
        photo=True,
        reads=[
            "ocr.manufacturer",
            "ocr.model_number",
            "ocr.serial_number",
            "ocr.component_type",
            "ocr.confidence",
            "ocr.provider_used",
            "equipment",
            "is_new_equipment",
        ],
    ),
]


def _get(answer: Any, dotted: str) -> list[Any]:
    """The values at ``dotted`` (``[]``: each item); KeyError when a field is missing."""
    values = [answer]
    for part in dotted.split("."):
        if part == "[]":
            assert all(isinstance(v, list) for v in values), f"{dotted}: not a list"
            values = [item for v in values for item in v]
        else:
            values = [v[part] for v in values]
    return values


async def _settled(
    api: httpx.AsyncClient,
    path: str,
    headers: dict[str, str],
    done: Callable[[Any], bool],
    params: dict[str, Any] | None = None,
) -> Any:
    """The answer of ``path`` once ``done`` holds for it (within 15 seconds)."""
    deadline = time.monotonic() + 15
    while True:
        answer = await api.get(PREFIX + path, headers=headers, params=params)
        assert answer.status_code == 200, answer.text
        if done(answer.json()) or time.monotonic() > deadline:
            return answer.json()
        await asyncio.sleep(0.2)


def _fill(value: Any, known: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**known)
    if isinstance(value, dict):
        return {k: _fill(v, known) for k, v in value.items()}
    return value


async def _replay(api: httpx.AsyncClient) -> dict[str, Any]:
    """Every call in order, as a Rivet Pro client; the answers by ``METHOD path``."""
    known = {"run": uuid.uuid4().hex[:10]}
    answers: dict[str, Any] = {}
    for call in CALLS:
        headers = {"Authorization": f"Bearer {known['token']}"} if "token" in known else {}
        kwargs: dict[str, Any] = {"headers": headers, "params": call.params}
        if call.json is not None:
            kwargs["json"] = _fill(call.json, known)
        if call.form is not None:
            kwargs["data"] = _fill(call.form, known)
        if call.photo:
            kwargs["files"] = {"file": ("plate.jpg", PHOTO.read_bytes(), "image/jpeg")}
        url = PREFIX + call.path.format(**known)
        answer = await api.request(call.method, url, **kwargs)
        what = f"{call.method} {call.path}"
        assert answer.status_code == call.status, f"{what}: {answer.status_code} {answer.text}"
        body = answer.json()
        for name in call.reads:
            try:
                found = _get(body, name)
            except (KeyError, TypeError) as exc:
                raise AssertionError(f"{what}: the client reads {name!r}: {body}") from exc
            assert found or name.startswith("[]"), f"{what}: {name} missing"
        for name, dotted in call.keep.items():
            known[name] = str(_get(body, dotted)[0])
        answers.setdefault(what, body)
        answers[f"{what} #last"] = body
    answers["known"] = known
    return answers


async def test_every_rivet_pro_call_works_and_means_what_it_meant(api: httpx.AsyncClient) -> None:
    got = await _replay(api)
    known = got["known"]
    assert got["GET /"]["docs"] == "/docs"
    assert got["GET /"]["health"] == f"{PREFIX}/health"
    assert got["GET /health"]["status"] == "healthy"
    registered = got["POST /api/auth/register"]
    assert registered["token_type"] == "bearer"
    assert registered["user"]["email"] == EMAIL.format(**known)
    assert registered["user"]["full_name"] == "Pat Fixer"
    assert registered["user"]["role"] == "admin"  # the one member of a new organization
    me = got["GET /api/auth/me"]
    assert (me["id"], me["telegram_user_id"]) == (known["user_id"], None)
    linking = got["POST /api/auth/link-telegram"]
    assert linking["success"] is False
    assert linking["telegram_user_id"] == "123456789"
    assert linking["code"] in linking["message"] or linking["link"] in linking["message"]

    created = got["POST /api/equipment/"]
    assert created["is_new"] is True
    asset = created["equipment"]
    assert (asset["model_number"], asset["serial_number"]) == (
        "6SL3210-1KE21-3UF1",
        SERIAL.format(**known),
    )
    assert asset["owned_by_user_id"] == known["user_id"]
    assert [a["id"] for a in got["GET /api/equipment/"]] == [known["equipment_id"]]
    updated = got["PUT /api/equipment/{equipment_id}"]
    # only the field sent changed
    assert updated["location"] == "Building B"
    assert (updated["model_number"], updated["equipment_type"]) == (
        asset["model_number"],
        asset["equipment_type"],
    )
    assert got["GET /api/equipment/search/fuzzy"][0]["id"] == known["equipment_id"]

    flat = got["POST /api/work-orders/"]
    # the flat asset fields found the registered asset: no second one
    assert flat["equipment_id"] == known["equipment_id"]
    assert flat["equipment_number"] == known["equipment_number"]
    assert (flat["status"], flat["priority"], flat["fault_codes"]) == ("open", "high", ["F0001"])
    assert flat["user_id"] == known["user_id"]
    by_id = got["POST /api/work-orders/ #last"]
    assert by_id["equipment_id"] == known["equipment_id"]
    assert {o["id"] for o in got["GET /api/work-orders/"]} == {
        known["work_order_id"],
        known["second_order"],
    }
    started = got["PUT /api/work-orders/{work_order_id}"]
    assert started["status"] == "in_progress"
    done = got["PUT /api/work-orders/{work_order_id} #last"]
    assert done["status"] == "completed"
    assert done["completed_at"]
    assert got["PUT /api/work-orders/{second_order}"]["status"] == "cancelled"
    history = got["GET /api/work-orders/equipment/{equipment_id}/work-orders"]
    assert [o["id"] for o in history] == [known["second_order"], known["work_order_id"]]

    # the statistics follow the work orders' events (rollups): asked again until they have
    headers = {"Authorization": f"Bearer {known['token']}"}
    stats = await _settled(
        api, "/api/stats/overview", headers, lambda s: s["work_orders_completed"] == 1
    )
    assert stats["equipment_count"] == 2  # the asset and the nameplate's
    assert (stats["work_orders_open"], stats["work_orders_in_progress"]) == (0, 0)
    assert {"manufacturer": "Siemens", "equipment_count": 1} in stats["top_manufacturers"]
    assert stats["top_faults"] == [{"fault_code": "F0001", "occurrence_count": 1}]
    health = await _settled(
        api,
        "/api/stats/equipment-health",
        headers,
        lambda items: known["equipment_id"] in {i["id"] for i in items},
    )
    (scored,) = [i for i in health if i["id"] == known["equipment_id"]]
    assert (scored["work_order_count"], scored["last_reported_fault"]) == (2, "F0001")
    assert 0 <= scored["health_score"] <= 100
    trends = await _settled(
        api,
        "/api/stats/work-order-trends",
        headers,
        lambda days: (days[-1]["created_count"], days[-1]["completed_count"]) == (2, 1),
        params={"days": 30},
    )
    assert len(trends) == 30
    assert sum(d["created_count"] for d in trends) == 2
    summary = await _settled(
        api, "/api/stats/summary", headers, lambda s: s["stats"]["work_orders_completed"] == 1
    )
    assert summary["user"]["id"] == known["user_id"]
    assert summary["stats"] == {"equipment": 2, "work_orders_active": 0, "work_orders_completed": 1}

    scanned = got["POST /api/upload/nameplate"]
    assert scanned["ocr"]["manufacturer"] == PLATE["manufacturer"]
    assert scanned["ocr"]["serial_number"] == PLATE["serial"]
    assert 0 < scanned["ocr"]["confidence"] <= 1
    assert scanned["is_new_equipment"] is True
    assert scanned["equipment"]["serial_number"] == PLATE["serial"]


async def test_counts_an_asset_carries_come_from_its_work_orders(api: httpx.AsyncClient) -> None:
    """``work_order_count`` and ``last_reported_fault`` (kept on the row by Rivet Pro's
    triggers) are its orders' count and the newest order's first fault code."""
    got = await _replay(api)
    known = got["known"]
    headers = {"Authorization": f"Bearer {known['token']}"}
    answer = await api.get(f"{PREFIX}/api/equipment/{known['equipment_id']}", headers=headers)
    asset = answer.json()
    assert (asset["work_order_count"], asset["last_reported_fault"]) == (2, "F0001")
    assert asset["last_work_order_at"] is not None
    listed = await api.get(f"{PREFIX}/api/equipment/", headers=headers)
    counts = {a["id"]: a["work_order_count"] for a in listed.json()}
    assert counts[known["equipment_id"]] == 2


@pytest.fixture
async def pro(api: httpx.AsyncClient) -> dict[str, str]:
    """A Rivet Pro client signed in (its own organization)."""
    email = f"pro-{uuid.uuid4().hex[:10]}@example.com"
    made = await api.post(
        f"{PREFIX}/api/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert made.status_code == 200, made.text
    return {"Authorization": f"Bearer {made.json()['access_token']}"}


async def test_errors_carry_detail_where_rivet_pro_clients_read_it(
    api: httpx.AsyncClient, pro: dict[str, str]
) -> None:
    neither = await api.post(
        f"{PREFIX}/api/work-orders/", json={"title": "t", "description": "d"}, headers=pro
    )
    assert neither.status_code == 400
    assert neither.json()["detail"] == "Must provide either equipment_id or manufacturer"
    assert neither.json()["error"]["code"] == "bad_request"
    missing = await api.get(f"{PREFIX}/api/equipment/{uuid.uuid4()}", headers=pro)
    assert missing.status_code == 404
    assert missing.json()["detail"]
    anonymous = await api.get(f"{PREFIX}/api/auth/me")
    assert anonymous.status_code == 401
    assert anonymous.json()["detail"]
    invalid = await api.post(f"{PREFIX}/api/equipment/", json={"model_number": "x"}, headers=pro)
    assert invalid.status_code == 422
    assert invalid.json()["detail"]


async def test_register_names_the_account_and_refuses_a_taken_address(
    api: httpx.AsyncClient,
) -> None:
    """Rivet Pro's ``full_name`` was optional; an address with an account is a 400, as
    there, unless the password is that account's (then it simply signs in)."""
    email = f"nameless-{uuid.uuid4().hex[:8]}@example.com"
    first = await api.post(
        f"{PREFIX}/api/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert first.status_code == 200, first.text
    assert first.json()["user"]["full_name"] == email.split("@")[0]
    taken = await api.post(
        f"{PREFIX}/api/auth/register", json={"email": email, "password": "Another good one 5"}
    )
    assert taken.status_code == 400, taken.text
    assert taken.json()["detail"] == "Email already registered"
    weak = await api.post(
        f"{PREFIX}/api/auth/register",
        json={"email": f"weak-{uuid.uuid4().hex[:8]}@example.com", "password": "password123"},
    )
    assert weak.status_code == 422, "Rivet's password rules hold here too"


async def test_a_work_order_status_change_follows_rivets_transitions(
    api: httpx.AsyncClient, pro: dict[str, str]
) -> None:
    """Rivet Pro documented open -> in_progress -> completed; a jump answers 409 with the
    allowed statuses, and cancelling without notes is refused (Rivet asks for a reason)."""
    made = await api.post(
        f"{PREFIX}/api/work-orders/",
        json={"title": "Noise", "description": "Bearing", "manufacturer": "WEG"},
        headers=pro,
    )
    assert made.status_code == 200, made.text
    url = f"{PREFIX}/api/work-orders/{made.json()['id']}"
    jump = await api.put(url, json={"status": "completed"}, headers=pro)
    assert jump.status_code == 409, jump.text
    assert jump.json()["error"]["details"]["allowed"] == ["in_progress", "cancelled"]
    bare = await api.put(url, json={"status": "cancelled"}, headers=pro)
    assert bare.status_code == 422, bare.text
    noted = await api.put(url, json={"notes": "Heard it again"}, headers=pro)
    assert noted.status_code == 200
    assert noted.json()["status"] == "open"
    order = await api.get(f"/api/work-orders/{made.json()['id']}", headers=pro)
    assert [e["body"] for e in order.json()["timeline"] if e["kind"] == "comment"] == [
        "Heard it again"
    ]


async def test_rivets_own_api_keeps_its_shapes(api: httpx.AsyncClient, pro: dict[str, str]) -> None:
    """Rivet Pro's field names are Rivet Pro's routes' only: Rivet's still refuse them."""
    answer = await api.post(
        "/api/equipment", json={"manufacturer": "ABB", "model_number": "ACS580"}, headers=pro
    )
    assert answer.status_code == 422
    listed = await api.get("/api/equipment", headers=pro)
    assert set(listed.json()) == {"items", "total", "limit", "offset"}
    home = await api.get("/")
    assert home.status_code == 200
    assert home.json()["service"] == "Rivet API"
    assert home.json()["docs"] == "/docs"
    slash = await api.get(f"{PREFIX}/api/equipment", headers=pro)
    assert slash.status_code == 307  # as Rivet Pro: the collection's path ends with a slash
    assert slash.headers["location"].endswith(f"{PREFIX}/api/equipment/")


async def test_create_equipment_false_is_refused_before_anything_is_read(
    api: httpx.AsyncClient, pro: dict[str, str]
) -> None:
    answer = await api.post(
        f"{PREFIX}/api/upload/nameplate",
        params={"create_equipment": "false"},
        files={"file": ("plate.jpg", PHOTO.read_bytes(), "image/jpeg")},
        headers=pro,
    )
    assert answer.status_code == 422
    assert "create-or-match" in answer.json()["detail"]
