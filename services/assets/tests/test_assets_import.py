"""CSV import through the gateway: header mapping, per-row outcomes, bad files refused."""

import asyncio
import json
import time
import uuid
from typing import Any

import asyncpg
import httpx
import nats

from rivet_contracts import Identity, Role, Rpc
from rivet_contracts.assets import GetImport, StartImport
from rivet_devstack.testing.helpers import Session, invite_member, register
from rivet_devstack.testing.services import ServiceSet
from rivet_runtime.identity import identity_headers

CSV = (
    "Asset Name;Make;Model No.;Serial Number;Location;Criticality;Voltage;HP;Parent\r\n"
    "Feed pump 1;Grundfos;CR 10-4;GF-001;Boiler house;High;460;10;\r\n"
    "Feed pump 2;GRUNDFOS;CR10-4;GF-002;Boiler house;high;460;10;\r\n"
    "Feed pump 1 again;Grundfos;CR 10-4;gf 001;;;;;\r\n"
    "Mystery;;X;Y;;;;;\r\n"
    "Drive;A-B;PowerFlex 525;PF-9;Line 3;urgent;;;\r\n"
    "Conveyor motor;Baldor;EM3615T;BD-7;Line 3;low;230/460;5;EQ-1999-000001\r\n"
    "Müller mixer;Ekato;Paravisc;EK-1;Halle 2;medium;400;;\r\n"
)


async def _import(
    api: httpx.AsyncClient, who: Session, data: bytes, name: str = "assets.csv", wait: float = 10
) -> httpx.Response:
    return await api.post(
        "/api/equipment/import",
        params={"wait": wait},
        files={"file": (name, data, "text/csv")},
        headers=who.headers,
    )


async def test_import_reports_every_row(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    answer = await _import(api, admin, b"\xef\xbb\xbf" + CSV.encode())
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["status"] == "done"
    assert report["total_rows"] == report["processed_rows"] == 7
    assert report["columns"]["Make"] == "manufacturer"
    assert report["columns"]["HP"] == "rating.power"
    outcomes = {r["row"]: (r["outcome"], r["reason"]) for r in report["rows"]}
    assert outcomes[2][0] == "created"
    assert outcomes[3][0] == "created"  # same model, different serial: a second pump
    assert outcomes[4][0] == "matched"  # same serial, written differently
    assert outcomes[5] == ("rejected", "manufacturer is empty")
    assert outcomes[6][0] == "rejected"
    assert "criticality" in outcomes[6][1]
    assert outcomes[7] == ("rejected", "parent EQ-1999-000001 not found")
    assert outcomes[8][0] == "created"
    assert (report["created"], report["matched"], report["rejected"]) == (3, 1, 3)

    listed = (
        await api.get("/api/equipment", params={"sort": "number"}, headers=admin.headers)
    ).json()
    assert listed["total"] == 3
    mixer = next(e for e in listed["items"] if e["manufacturer"] == "Ekato")
    assert mixer["name"] == "Müller mixer"
    assert mixer["source"] == "import"
    pump = next(e for e in listed["items"] if e["serial"] == "GF-001")
    assert pump["ratings"]["voltage"] == "460"
    assert pump["ratings"]["power"] == "10"
    assert pump["criticality"] == "high"


async def test_import_poll_after_202(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    rows = "".join(f"WEG,W22,S{i}\n" for i in range(300))
    answer = await _import(api, admin, ("make,model,serial\n" + rows).encode(), wait=0)
    assert answer.status_code in (200, 202)
    job = answer.json()
    for _ in range(200):
        polled = await api.get(
            f"/api/equipment/import/{job['id']}", params={"rows_limit": 5}, headers=admin.headers
        )
        if polled.status_code == 200:
            break
        assert polled.status_code == 202
        import asyncio

        await asyncio.sleep(0.1)
    result = polled.json()
    assert result["status"] == "done"
    assert result["created"] == 300
    assert len(result["rows"]) == 5


async def test_bad_files_are_refused(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    latin1 = "make,model\nMüller,X\n".encode("latin-1")
    answer = await _import(api, admin, latin1)
    assert answer.status_code == 415
    assert "UTF-8" in answer.json()["error"]["message"]
    no_make = await _import(api, admin, b"model,serial\nX,Y\n")
    assert no_make.status_code == 422
    assert "manufacturer" in no_make.json()["error"]["message"]
    broken = await _import(api, admin, b'make,model\n"Siemens,G120\n')
    assert broken.status_code == 422
    assert "malformed" in broken.json()["error"]["message"]
    assert (await _import(api, admin, b"")).status_code == 422
    binary = await _import(api, admin, b"\x00\x01\x02make\n")
    assert binary.status_code == 415


async def test_only_admins_import(api: httpx.AsyncClient) -> None:
    admin = await register(api)
    tech = await invite_member(api, admin, "technician")
    assert (await _import(api, tech, b"make\nABB\n")).status_code == 403


async def test_imports_are_private(api: httpx.AsyncClient) -> None:
    admin, other = await register(api), await register(api)
    job = (await _import(api, admin, b"make\nABB\n")).json()
    peek = await api.get(f"/api/equipment/import/{job['id']}", headers=other.headers)
    assert peek.status_code == 404


async def test_a_big_import_leaves_its_tables_vacuumed_and_analysed(
    services: ServiceSet, isolated_database: str
) -> None:
    """Searches right after a bulk import run at full speed: before it says done, an import of
    IMPORT_TIDY_ROWS rows or more has vacuumed and analysed the tables it filled (statistics for
    the planner, a visibility map for the index-only scans), autovacuum or not."""
    caller = Identity(user_id=uuid.uuid4(), org_id=uuid.uuid4(), role=Role.ADMIN)
    rows = "".join(f"Siemens,6SL3210-1KE21-3UF{i},XAJ7-500-{i:04d},Plant 1 / Line {i}\n"
                   for i in range(5))  # fmt: skip
    csv = ("manufacturer,model,serial,location\n" + rows).encode()
    async with services.alone("assets", isolated_database, import_tidy_rows=5) as assets:
        nc = await nats.connect(assets.settings.nats_url)
        try:

            async def ask(subject: str, request: Any) -> dict[str, Any]:
                reply = await nc.request(
                    assets.settings.subject(subject),
                    request.model_dump_json().encode(),
                    timeout=10,
                    headers=identity_headers(caller),
                )
                answer: dict[str, Any] = json.loads(reply.data)
                return answer

            key = await assets.state.uploads.put(csv, prefix="imports")
            job = await ask(Rpc.ASSETS_IMPORT_START, StartImport(upload_key=key))
            deadline = time.monotonic() + 30
            while job["status"] != "done":
                assert time.monotonic() < deadline, job
                await asyncio.sleep(0.2)
                job = await ask(Rpc.ASSETS_IMPORT_GET, GetImport(import_id=job["id"], rows_limit=0))
            assert job["created"] == 5
        finally:
            await nc.close()
    db = await asyncpg.connect(isolated_database)
    try:
        tidied = await db.fetch(
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = 'assets' "
            "AND last_vacuum IS NOT NULL AND last_analyze IS NOT NULL"
        )
    finally:
        await db.close()
    assert {"equipment", "equipment_serial_key", "equipment_term"} <= {r[0] for r in tidied}
