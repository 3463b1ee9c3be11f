"""Spreadsheet cells going out: the asset register as CSV, written so that the import reads it
back (same headers, parent by number) and so that no cell runs as a formula.

A spreadsheet treats a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return before one) as a formula: a location typed as ``=HYPERLINK("http://...")`` would run on
the desk of whoever opens the export. Such cells are written with a leading apostrophe, the
usual defence (OWASP "CSV injection"); the import takes the apostrophe off again, so an export
re-imports unchanged. Values are stored as typed: defusing belongs to the output.
"""

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"  # Excel reads UTF-8 CSV as UTF-8 only with it

# (header, column or rating) in the order written; every header is one the import reads.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("Number", "number"),
    ("Manufacturer", "manufacturer"),
    ("Model", "model"),
    ("Serial Number", "serial"),
    ("Name", "name"),
    ("Type", "equipment_type"),
    ("Location", "location"),
    ("Department", "department"),
    ("Criticality", "criticality"),
    ("Status", "status"),
    ("Installed", "installed_on"),
    ("Parent", "parent_number"),
    ("Voltage", "rating.voltage"),
    ("Amps", "rating.amps"),
    ("Power", "rating.power"),
    ("RPM", "rating.rpm"),
    ("Phase", "rating.phase"),
    ("Hz", "rating.hz"),
    ("Frame", "rating.frame"),
    ("Year", "rating.year"),
)


def defuse(cell: str) -> str:
    """The cell as a spreadsheet shows it and never runs it."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def restore(cell: str) -> str:
    """The value ``defuse`` wrote (an apostrophe before a formula character comes off)."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_START) else cell


def render(rows: Iterable[Mapping[Any, Any]], *, header: bool) -> str:
    """CSV text (comma, CRLF line ends, as Excel writes) for asset rows with their
    ``parent_number``; with ``header``, the byte-order mark and the header line first."""
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        out.write(BOM)
        writer.writerow(name for name, _ in COLUMNS)
    for row in rows:
        writer.writerow(defuse(_text(_value(row, column))) for _, column in COLUMNS)
    return out.getvalue()


def _value(row: Mapping[Any, Any], column: str) -> Any:
    if column.startswith("rating."):
        return (row["ratings"] or {}).get(column.removeprefix("rating."))
    return row[column]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value.isoformat()) if hasattr(value, "isoformat") else str(value)
