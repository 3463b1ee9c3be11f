"""CSV export cells: formulas defused on the way out, restored on the way back in."""

import csv
import io
from datetime import date

import pytest

from rivet_assets import sheets
from rivet_assets.imports import csvfile


@pytest.mark.parametrize(
    "cell", ["=1+2", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x")']
)
def test_formula_cells_are_defused_and_restored(cell: str) -> None:
    assert sheets.defuse(cell) == "'" + cell
    assert sheets.restore(sheets.defuse(cell)) == cell


@pytest.mark.parametrize("cell", ["Pump 1", "'quoted", "", "1-2", "a=b", "''=x"])
def test_plain_cells_pass_unchanged(cell: str) -> None:
    assert sheets.defuse(cell) == cell
    assert sheets.restore(cell) == cell


def test_an_export_is_an_import_file() -> None:
    row = {
        "number": "EQ-2026-000001",
        "manufacturer": "Grundfos",
        "model": "CR 10-4",
        "serial": "GF-1",
        "name": "=1+1",
        "equipment_type": "pump",
        "location": "Boiler house",
        "department": None,
        "criticality": "high",
        "status": "out_of_service",
        "installed_on": date(2024, 5, 1),
        "parent_number": "EQ-2026-000000",
        "ratings": {"voltage": "460", "power": "10", "hz": "60"},
    }
    text = sheets.render([row], header=True)
    assert text.startswith(sheets.BOM)
    cells = next(csv.DictReader(io.StringIO(text.removeprefix(sheets.BOM))))
    assert cells["Name"] == "'=1+1"
    sheet = csvfile.read(text.encode(), max_rows=10)
    assert set(sheet.columns.values()) >= {"manufacturer", "parent", "rating.voltage"}
    assert sheet.ignored == ["Number"]
    ((_, values),) = list(csvfile.records(sheet))
    request = csvfile.to_request(values)
    assert not isinstance(request, str), request
    assert request.name == "=1+1"
    assert request.installed_on == date(2024, 5, 1)
    assert request.ratings.voltage == "460"
    assert values["parent"] == "EQ-2026-000000"
    assert sheets.render([row], header=False).count("\n") == 1
