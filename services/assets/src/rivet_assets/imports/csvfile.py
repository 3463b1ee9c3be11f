"""Reading spreadsheet exports: encoding, delimiter, header mapping, one record per row.

Accepted: UTF-8 with or without a byte-order mark (Excel's "CSV UTF-8"), comma, semicolon or
tab delimited, any line endings. Anything else is refused with a message that says how to save
the file, rather than guessed at (a wrong guess silently corrupts names).
"""

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from rivet_contracts import ErrorCode, ServiceError
from rivet_contracts.assets import CreateEquipment, Ratings

from .. import sheets

# Header synonyms (compared after lower-casing and dropping punctuation and spaces).
FIELDS: dict[str, tuple[str, ...]] = {
    "manufacturer": ("manufacturer", "make", "brand", "mfr", "mfg", "vendor", "maker"),
    "model": ("model", "modelno", "modelnumber", "catno", "catalognumber", "catalogno", "partno"),
    "serial": ("serial", "serialno", "serialnumber", "sn", "sno", "serial#"),
    "name": ("name", "assetname", "equipmentname", "description", "tag", "assettag"),
    "equipment_type": ("type", "equipmenttype", "assettype", "category", "class"),
    "location": ("location", "site", "area", "position", "plantlocation", "building"),
    "department": ("department", "dept", "costcenter", "costcentre"),
    "criticality": ("criticality", "importance", "priority"),
    "status": ("status", "state"),
    "installed_on": ("installed", "installedon", "installationdate", "installdate", "commissioned"),
    "parent": ("parent", "parentnumber", "parentasset", "parentid"),
    "rating.voltage": ("voltage", "volts", "v"),
    "rating.amps": ("amps", "current", "a", "fla"),
    "rating.power": ("power", "hp", "kw", "rating"),
    "rating.rpm": ("rpm", "speed"),
    "rating.phase": ("phase", "ph", "phases"),
    "rating.hz": ("hz", "frequency", "freq"),
    "rating.frame": ("frame",),
    "rating.year": ("year", "yearbuilt", "manufactured"),
}
_LOOKUP = {alias: field for field, aliases in FIELDS.items() for alias in aliases}
_CRITICALITY = {"low": "low", "medium": "medium", "med": "medium", "normal": "medium",
                "high": "high", "critical": "critical", "crit": "critical"}  # fmt: skip
_STATUS = {"in service": "in_service", "active": "in_service", "running": "in_service",
           "in_service": "in_service", "out of service": "out_of_service",
           "out_of_service": "out_of_service", "down": "out_of_service", "inactive":
           "out_of_service", "retired": "retired", "scrapped": "retired"}  # fmt: skip


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9#]", "", header.lower())


@dataclass(frozen=True)
class Sheet:
    header: list[str]
    columns: dict[str, str]
    """column name -> field"""
    ignored: list[str]
    rows: list[tuple[int, list[str]]]
    """(line number, cells)"""


def decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ServiceError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"the file is not UTF-8 (byte {exc.start} cannot be read); in Excel choose "
            "'Save as' -> 'CSV UTF-8 (Comma delimited)'",
        ) from None


def read(data: bytes, *, max_rows: int) -> Sheet:
    """Parse a CSV file; raises ``ServiceError`` (4xx) when the file as a whole is unusable."""
    content = decode(data)
    if "\x00" in content:
        raise ServiceError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "this is not a text (CSV) file")
    sample = content[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(content, newline=""), dialect, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ServiceError(ErrorCode.VALIDATION, "the file is empty") from None
    except csv.Error as exc:
        raise ServiceError(ErrorCode.VALIDATION, f"malformed CSV header: {exc}") from None
    columns: dict[str, str] = {}
    for name in header:
        field = _LOOKUP.get(_key(name))
        if field and field not in columns.values():
            columns[name] = field
    ignored = [h for h in header if h not in columns]
    if "manufacturer" not in columns.values():
        raise ServiceError(
            ErrorCode.VALIDATION,
            "no manufacturer column (also accepted: make, brand, mfr, vendor); found: "
            + ", ".join(repr(h) for h in header[:20]),
        )
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            rows.append((reader.line_num, cells))
            if len(rows) > max_rows:
                raise ServiceError(
                    ErrorCode.PAYLOAD_TOO_LARGE, f"more than {max_rows} rows; split the file"
                )
    except csv.Error as exc:
        raise ServiceError(
            ErrorCode.VALIDATION, f"malformed CSV at line {reader.line_num}: {exc}"
        ) from None
    return Sheet(header, columns, ignored, rows)


def records(sheet: Sheet) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line, raw field values) per row, or (line, reason) for a row that cannot be read."""
    index = {field: sheet.header.index(column) for column, field in sheet.columns.items()}
    for line, cells in sheet.rows:
        if len(cells) != len(sheet.header):
            yield line, f"{len(cells)} cells where the header has {len(sheet.header)}"
            continue
        values = {
            field: sheets.restore(cells[i].strip())
            for field, i in index.items()
            if cells[i].strip()
        }
        yield line, values


def to_request(values: dict[str, Any]) -> CreateEquipment | str:
    """A create-or-match request from one row, or the reason it cannot be one."""
    fields: dict[str, Any] = {}
    ratings: dict[str, Any] = {}
    for field, value in values.items():
        if field.startswith("rating."):
            ratings[field.removeprefix("rating.")] = value
        elif field == "criticality":
            if value.lower() not in _CRITICALITY:
                return f"unknown criticality {value!r} (low, medium, high, critical)"
            fields[field] = _CRITICALITY[value.lower()]
        elif field == "status":
            if value.lower() not in _STATUS:
                return f"unknown status {value!r} (in service, out of service, retired)"
            fields[field] = _STATUS[value.lower()]
        elif field != "parent":
            fields[field] = value
    if not fields.get("manufacturer"):
        return "manufacturer is empty"
    try:
        return CreateEquipment(**fields, ratings=Ratings.model_validate(ratings))
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}"
