"""Shared pieces of the parser passes: candidates, source weights and value scoring."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from . import labels as lx
from . import values as v
from .layout import Token

# Base confidence of each way of finding a value (multiplied by OCR confidence).
SOURCE_WEIGHT: Final[dict[str, float]] = {
    "label": 0.97,
    "label-unit-after": 0.92,
    "label-glued": 0.93,
    "label-below": 0.85,
    "label-garbled": 0.7,
    "shape": 0.6,
    "brand": 0.95,
    "company": 0.45,
    "header": 0.85,
    "derived": 0.45,
}

#: Words after a number that make it a quantity ("60 GAL", "177 kg"), not a rating.
# fmt: off
UNIT_WORDS: Final = frozenset({
    "GAL", "KG", "LBS", "LB", "MM", "M", "CM", "IN", "C", "F", "PSI", "PSIG", "BAR", "KA", "KPA",
    "MPA", "%", "M3H", "M3/H", "GPM", "CFM", "L", "LPM", "DB", "DBA", "NM", "FT", "KVA", "MIN",
    "SEC", "S", "H", "HRS", "W",
})
# fmt: on


@dataclass(slots=True)
class Candidate:
    """A value proposed for a field, with its confidence and how it was found."""

    name: str
    value: str
    confidence: float
    source: str
    tokens: list[Token] = field(default_factory=list)
    power_unit: str | None = None


# "400V", "50Hz", "11kW", "400\u0394/690YV", "1455r/min": a rating glued to its unit.
VALUE_UNIT = re.compile(
    r"^(\d[\d.,/\-\u0394\u2206\u25b3]*?[\u0394\u2206\u25b3Yy]?)\s*([A-Za-z/~][A-Za-z/.\-~]*1?)$"
)


def taken(label_tokens: set[int], tok: Token) -> bool:
    """Already a caption or somebody's value."""
    return bool(tok.claimed_by) or id(tok) in label_tokens


_NOT_IDENTIFIER = re.compile(r"^(WK\d|IP\d|NEMA)|^\d{4}-\d{2}$|^\d{1,2}/\d{4}$", re.IGNORECASE)


def identifier(text: str) -> str | None:
    """A model/serial-looking token: 6+ characters, 3+ digits, not a rating or a date."""
    code = v.parse_code(text)
    if code is None or len(code) < 6 or sum(ch.isdigit() for ch in code) < 3:
        return None
    if _NOT_IDENTIFIER.search(code) or v.parse_voltage(code) or v.parse_amps(code):
        return None
    return code


def snap(name: str, value: str, power_unit: str | None) -> tuple[str, float]:
    """Catalogue snapping of ratings with one misread digit; returns value and a penalty."""
    if name == "voltage":
        snapped = v.snap_voltage(value)
        if snapped:
            return snapped, 0.8
    if name == "power" and power_unit:
        snapped = v.snap_power(value, power_unit)
        if snapped:
            return snapped, 0.8
    return value, 1.0


def ocr_conf(tokens: list[Token]) -> float:
    return min((t.confidence for t in tokens), default=0.0)


def strict_parse(label: lx.LabelDef, text: str) -> str | None:
    strict_parsers = {
        "voltage": lambda s: v.parse_voltage(s, strict=True),
        "amps": lambda s: v.parse_amps(s, strict=True),
        "rpm": lambda s: v.parse_rpm(s, strict=True),
        "hz": lambda s: v.parse_hz(s, strict=True),
    }
    parser = strict_parsers.get(label.field or "")
    return parser(text) if parser else label.parser(text)


def plausibility(label: lx.LabelDef, value: str) -> float:
    """0..1: how typical ``value`` is for the field (used to choose and to score)."""
    name = label.field
    if name == "voltage":
        nums = [float(x) for x in re.split(r"[-/]", value) if x]
        if all(int(n) in v.STANDARD_VOLTAGES for n in nums):
            return 1.0
        return 0.7 if all(n >= 90 for n in nums) else 0.2
    if name == "rpm":
        return max(0.6, v.rpm_plausibility(int(value)))
    if name == "power" and label.power_unit:
        return max(0.6, v.power_plausibility(value, label.power_unit))
    return 1.0


def amps_score(amps: str, volts: str | None) -> float:
    """Shape score of an unlabelled current, higher when it mirrors the voltage rating."""
    a = [float(x) for x in re.split(r"[-/]", amps) if x]
    if volts:
        vv = [float(x) for x in re.split(r"[-/]", volts) if x]
        if len(a) == len(vv) and len(a) > 1 and a[-1] > 0 and vv[0] > 0:
            expected = vv[-1] / vv[0]
            if abs((a[0] / a[-1]) / expected - 1) < 0.12:
                return 0.75
        if len(a) != len(vv) and len(a) > 1:
            return 0.35
    if "." not in amps and max(a) >= 100 and "/" not in amps:
        return 0.3  # "525-409": a misread voltage range rather than a current
    return 0.6 if len(a) > 1 else 0.4
