"""Value-shape parsers: "is this string a plausible <field> value, and in which normal form?".

Every parser takes the raw text of one or more OCR tokens and returns the normalised value or
``None``.  They encode electrical common sense rather than any particular plate: a voltage is a
few hundred volts and dual voltages *increase* (``230/460``), dual currents *decrease*
(``86.4/43.2``), running speeds sit just below a synchronous speed, a supply is 50 or 60 Hz.
These shapes are what lets the parser recover a value whose one-letter label ("V", "A") the
detector dropped.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Final

# OCR confusions that are safe to undo *inside numeric values only*.
# fmt: off
_DIGIT_FIXES: Final = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1",
                                     "|": "1", "!": "1", "Z": "2", "z": "2", "S": "5",
                                     "B": "8", "G": "6", "g": "9"})
# fmt: on
_DASHES: Final = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212~_", "-"))
_EDGE_PUNCT: Final = " .,:;'\"`()[]{}*"


def clean_token(text: str) -> str:
    """Strip label punctuation around a value (``":460,"`` -> ``"460"``)."""
    return text.translate(_DASHES).strip(_EDGE_PUNCT)


def numeric_text(text: str) -> str | None:
    """Undo letter/digit confusions in a mostly-numeric token, else ``None``.

    ``"6O"`` -> ``"60"``, ``"1O.0"`` -> ``"10.0"``; a token that is mostly letters (a model
    number, a word) is left alone so that we do not invent numbers.
    """
    raw = clean_token(text).replace(" ", "")
    if not raw:
        return None
    digits = sum(ch.isdigit() for ch in raw)
    letters = sum(ch.isalpha() for ch in raw)
    if digits == 0 or letters > max(1, digits // 2):
        return None
    fixed = raw.translate(_DIGIT_FIXES)
    # European decimal comma ("11,5") -> dot; a thousands comma ("1,760") is dropped.
    fixed = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", fixed)
    return fixed.replace(",", ".")


_NUM: Final = r"\d+(?:\.\d+)?"


def _floats(parts: list[str]) -> list[float] | None:
    try:
        return [float(p) for p in parts]
    except ValueError:
        return None


# ------------------------------------------------------------------------------------ voltage

# fmt: off
STANDARD_VOLTAGES: Final = frozenset(
    {100, 110, 115, 120, 127, 200, 208, 220, 230, 240, 254, 265, 277, 380, 400, 415, 420, 440,
     460, 480, 500, 525, 550, 575, 600, 660, 690, 1000, 2300, 3300, 4000, 4160, 6000, 6600,
     10000, 11000, 13200, 13800}
)
# fmt: on
# Greek capital delta, increment sign, white/black up-pointing triangles, and OCR look-alikes.
_DELTA_MARKS: Final = "\u0394\u2206\u25b3\u25b2ADd"
_WYE_MARKS: Final = "YyVv"


def parse_voltage(text: str, strict: bool = False) -> str | None:
    """Normalise a voltage rating: ``230/460``, ``208-230/460``, ``400Δ/690Y`` -> ``400/690``.

    Connection marks (Δ/Y, YY) are dropped, since the rating is the numbers.  OCR often reads
    the Δ as ``A``, ``D`` or the digit ``4`` (``4004/690Y``); the latter is undone when the
    extra digit makes an implausible voltage.  ``strict`` (used when no label was seen) only
    accepts standard voltages or multi-voltage ratings.
    """
    raw = clean_token(text).replace(" ", "")
    raw = re.sub(r"(?i)(VAC|VOLTS?|V~|V)$", "", raw) if re.search(r"\d", raw) else raw
    if not raw:
        return None
    # Drop delta / wye marks around the numbers.
    raw = re.sub(rf"(?<=\d)[{_DELTA_MARKS}{_WYE_MARKS}]{{1,2}}(?=/|-|$)", "", raw)
    raw = re.sub(rf"^[{_DELTA_MARKS}{_WYE_MARKS}]{{1,2}}(?=\d)", "", raw)
    raw = re.sub(rf"(?<=/)[{_DELTA_MARKS}{_WYE_MARKS}]{{1,2}}(?=\d)", "", raw)
    num = numeric_text(raw)
    if num is None or not re.fullmatch(rf"{_NUM}(?:[-/]{_NUM}){{0,3}}", num):
        return None
    parts = re.split(r"[-/]", num)
    if any(not part.isdigit() for part in parts):
        return None  # ratings in volts are whole numbers
    fixed: list[str] = []
    for part in parts:
        value = float(part)
        # "4004" / "2305" = "400" / "230" + a delta mark misread as a digit.
        if (
            len(part) == 4
            and int(value) not in STANDARD_VOLTAGES
            and int(part[:3]) in STANDARD_VOLTAGES
        ):
            part = part[:3]
        fixed.append(part)
    values = _floats(fixed)
    if values is None:
        return None
    if not all(12 <= v <= 15000 for v in values):
        return None
    if len(values) > 1 and any(b < a for a, b in itertools.pairwise(values)):
        return None  # dual voltages increase; a decreasing pair is a current
    if strict and len(values) == 1 and (int(values[0]) not in STANDARD_VOLTAGES or values[0] < 200):
        return None
    if strict and not all(
        int(v) in STANDARD_VOLTAGES or snap_number(str(int(v)), _VOLT_CATALOGUE) for v in values
    ):
        return None
    seps = re.findall(r"[-/]", num)
    out = fixed[0]
    for sep, part in zip(seps, fixed[1:], strict=False):
        out += sep + part
    return out


# ----------------------------------------------------------------- catalogue snapping

# Digit pairs the recogniser confuses on blurred, low-resolution plates ("380" read "388").
# fmt: off
_CONFUSABLE: Final[dict[str, str]] = {
    "0": "869", "8": "03695", "6": "085", "9": "08", "3": "8", "5": "68", "1": "7", "7": "1",
}
# fmt: on


def snap_number(number: str, catalogue: frozenset[float]) -> str | None:
    """Undo one confusable digit so that ``number`` becomes a catalogue value.

    Returns the corrected string only when exactly one correction fits, else ``None``.
    """
    fits: set[str] = set()
    for i, ch in enumerate(number):
        for alt in _CONFUSABLE.get(ch, ""):
            cand = number[:i] + alt + number[i + 1 :]
            if cand[0] == "0" and len(cand) > 1 and cand[1] != ".":
                continue
            try:
                if float(cand) in catalogue:
                    fits.add(cand)
            except ValueError:
                continue
    return fits.pop() if len(fits) == 1 else None


_VOLT_CATALOGUE: Final = frozenset(float(x) for x in STANDARD_VOLTAGES)


def snap_voltage(value: str) -> str | None:
    """``388-489`` -> ``380-480``: snap non-standard parts of a parsed voltage, if unique."""
    parts = re.split(r"([-/])", value)
    changed = False
    for i in range(0, len(parts), 2):
        if float(parts[i]) in _VOLT_CATALOGUE:
            continue
        fixed = snap_number(parts[i], _VOLT_CATALOGUE)
        if fixed is None:
            return None
        parts[i], changed = fixed, True
    return "".join(parts) if changed else None


# --------------------------------------------------------------------------------------- amps


def parse_amps(text: str, strict: bool = False) -> str | None:
    """Full-load current(s): ``86.4/43.2``, ``170-162/81.2``, ``13.0``.

    Multi-voltage motors list currents in the same order as the voltages, so they must not
    increase; that keeps ``230/460`` (a voltage) from being read as a current.
    """
    raw = clean_token(text).replace(" ", "")
    raw = re.sub(r"(?i)(AMPS?|A)$", "", raw)
    num = numeric_text(raw)
    if num is None or not re.fullmatch(rf"{_NUM}(?:[-/]{_NUM}){{0,3}}", num):
        return None
    values = _floats(re.split(r"[-/]", num))
    if values is None or not all(0.01 <= v <= 10000 for v in values):
        return None
    if len(values) > 1 and any(b > a * 1.05 for a, b in itertools.pairwise(values)):
        return None
    if strict and len(values) == 1 and "." not in num:
        return None  # a bare integer is too ambiguous without a label
    return num


def repair_amps(text: str, volts: str) -> str | None:
    """Fix one misread digit in a dual current using the voltage ratio.

    A dual-voltage winding draws currents in inverse proportion to the voltages
    (``230/460`` V -> ``86.6/43.3`` A), so ``06.6/43.3`` has exactly one plausible reading.
    """
    raw = numeric_text(text)
    if raw is None or not re.fullmatch(rf"{_NUM}(?:[-/]{_NUM})+", raw):
        return None
    vparts = [float(x) for x in re.split(r"[-/]", volts) if x]
    if len(vparts) < 2 or vparts[0] <= 0:
        return None
    expected = vparts[-1] / vparts[0]
    fits: set[str] = set()
    for i, ch in enumerate(raw):
        for alt in _CONFUSABLE.get(ch, ""):
            cand = raw[:i] + alt + raw[i + 1 :]
            parsed = parse_amps(cand)
            if parsed is None:
                continue
            amps = [float(x) for x in re.split(r"[-/]", parsed)]
            if (
                len(amps) == len(vparts)
                and amps[-1] > 0
                and abs(amps[0] / amps[-1] / expected - 1) < 0.03
            ):
                fits.add(parsed)
    return fits.pop() if len(fits) == 1 else None


# -------------------------------------------------------------------------------------- power

# fmt: off
HP_SIZES: Final = frozenset(
    {0.25, 0.33, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 100, 125,
     150, 200, 250, 300, 350, 400, 450, 500, 600, 700, 800, 900, 1000, 1250, 1500}
)
# fmt: on
# fmt: off
KW_SIZES: Final = frozenset(
    {0.09, 0.12, 0.18, 0.25, 0.37, 0.55, 0.75, 1.1, 1.5, 2.2, 3, 4, 5.5, 7.5, 11, 15, 18.5, 22,
     30, 37, 45, 55, 75, 90, 110, 132, 160, 200, 250, 315, 355, 400, 450, 500, 560, 630, 710,
     800, 900, 1000}
)
# fmt: on


def parse_power(text: str) -> str | None:
    """Rated output: ``30``, ``7.5``, ``0.75``, fractional HP like ``3/4`` or ``1/2``."""
    raw = clean_token(text).replace(" ", "")
    raw = re.sub(r"(?i)(KW|HP|H\.P\.?)$", "", raw)
    if re.fullmatch(r"\d{1,2}/\d{1,2}", raw):
        num_s, den_s = raw.split("/")
        if 0 < int(num_s) < int(den_s):
            return raw
        return None
    num = numeric_text(raw)
    if num is None or not re.fullmatch(_NUM, num):
        return None
    value = float(num)
    if not 0.01 <= value <= 100000:
        return None
    return num


def snap_power(value: str, unit: str) -> str | None:
    """``48`` HP -> ``40``: a non-catalogue rating one confusable digit away from a size."""
    if "/" in value:
        return None
    sizes = HP_SIZES if unit == "HP" else KW_SIZES
    if float(value) in {float(s) for s in sizes}:
        return None
    return snap_number(value, frozenset(float(s) for s in sizes))


def power_plausibility(value: str, unit: str) -> float:
    """1.0 for a catalogue size in that unit, lower otherwise (used without a label)."""
    if "/" in value:
        return 0.9 if unit == "HP" else 0.2
    number = float(value)
    sizes = HP_SIZES if unit == "HP" else KW_SIZES
    return 1.0 if any(abs(number - s) < 1e-6 for s in sizes) else 0.3


# ---------------------------------------------------------------------------------------- rpm

SYNC_SPEEDS: Final = (3600, 3000, 1800, 1500, 1200, 1000, 900, 750, 720, 600)


def parse_rpm(text: str, strict: bool = False) -> str | None:
    """Rated speed, ``1760``; ``strict`` requires a typical induction-motor slip (0-8 %)."""
    raw = clean_token(text).replace(" ", "")
    raw = re.sub(r"(?i)(RPM|R/MIN|/MIN|MIN-1|MIN\^-1|1/MIN)$", "", raw)
    num = numeric_text(raw)
    if num is None or not re.fullmatch(r"\d{2,5}", num):
        return None
    value = int(num)
    if not 50 <= value <= 60000:
        return None
    if strict and rpm_plausibility(value) < 0.5:
        return None
    return str(value)


def rpm_plausibility(value: int) -> float:
    """How much ``value`` looks like an induction motor's full-load speed.

    2- to 8-pole speeds score 1.0; slower (10/12-pole) speeds 0.4, because without a caption
    a number like 589 is more often something else.
    """
    for sync in SYNC_SPEEDS:
        if sync * 0.92 <= value <= sync:
            return 1.0 if sync >= 750 else 0.4
    return 0.2


# ----------------------------------------------------------------------------------- hz, phase

_HZ_VALUES: Final = frozenset({"50", "60", "50/60", "60/50", "50-60", "25", "400"})


def parse_hz(text: str, strict: bool = False) -> str | None:
    """Supply frequency: ``60``, ``50``, ``50/60``."""
    raw = clean_token(text).replace(" ", "")
    raw = re.sub(r"(?i)(HZ|HERTZ)$", "", raw)
    num = numeric_text(raw)
    if num is None:
        return None
    if num in _HZ_VALUES:
        return None if strict and num in {"25", "400"} else num
    if strict:
        return None
    # "58/60", "68": one confusable digit off a supply frequency (only after a caption).
    parts = re.split(r"([-/])", num)
    for i in range(0, len(parts), 2):
        if parts[i] not in {"50", "60"}:
            fixed = snap_number(parts[i], frozenset({50.0, 60.0}))
            if fixed is None:
                return None
            parts[i] = fixed
    snapped = "".join(parts)
    return snapped if snapped in _HZ_VALUES else None


# fmt: off
_PHASE_WORDS: Final = {"ONE": "1", "SINGLE": "1", "MONO": "1", "THREE": "3", "TRI": "3",
                       "POLY": "3", "3~": "3", "1~": "1", "3PH": "3", "1PH": "1"}
# fmt: on


def parse_phase(text: str, strict: bool = False) -> str | None:
    """``1`` or ``3`` (also from words: THREE / SINGLE, and ``3~``)."""
    raw = text.strip(" .:;,").upper().replace(" ", "")
    if raw in _PHASE_WORDS:
        return _PHASE_WORDS[raw]
    num = numeric_text(raw.rstrip("~"))
    if num in {"1", "3"}:
        return num
    return None


# ----------------------------------------------------------------------- identifiers and codes

_CODE_RE: Final = re.compile(r"[A-Z0-9][A-Z0-9./\-#]*[A-Z0-9]", re.IGNORECASE)


def parse_code(text: str) -> str | None:
    """Model / catalogue / serial numbers: at least 3 characters, at least one digit.

    Several words are kept with single spaces (``CR 10-3 A-FGJ-A-E-HQQE``); every word
    must look like part of a code.
    """
    words = [clean_token(w).lstrip("#") for w in text.split()]
    words = [w for w in words if w]
    if not words or not all(_CODE_RE.fullmatch(w) or w.isalnum() for w in words):
        return None
    raw = " ".join(words)
    if len(raw.replace(" ", "")) < 3 or not any(ch.isdigit() for ch in raw):
        return None
    if len(words) > 1 and not any(ch.isdigit() for ch in words[0]) and len(words[0]) > 4:
        return None  # "MOTOR 1234": a word, not the start of a code
    return raw.upper()


def parse_frame(text: str) -> str | None:
    """NEMA (``286T``, ``56C``, ``145TC``), IEC (``160M``, ``132S``) or drive frame (``C``)."""
    raw = clean_token(text).replace(" ", "").upper()
    if re.fullmatch(r"\d{2,3}[A-Z]{0,4}(?:/[A-Z0-9]+)?", raw):
        return raw
    if re.fullmatch(r"[A-Z]{1,3}\d{0,2}", raw) or re.fullmatch(r"[A-Z]{1,2}\d{1,2}[A-Z]?", raw):
        return raw
    return None


def parse_year(text: str) -> str | None:
    """Year of manufacture from ``2014``, ``10/2014``, ``2024-08``, ``WK04 2024``."""
    found = re.findall(r"(?<!\d)(19[5-9]\d|20[0-9]\d)(?!\d)", clean_token(text))
    return found[0] if found else None


_ENCLOSURES: Final = re.compile(
    r"(TEFC|TENV|TEAO|TEBC|TEWC|TEPV|TEXP|ODP|DP|OPEN|XPFC|XP|EXPL|WPI|WPII|IP\s?\d{2}[A-Z]?|"
    r"NEMA\s?\d{1,2}[A-Z]?|TYPE\s?\d{1,2}[A-Z]?)",
    re.IGNORECASE,
)


def parse_enclosure(text: str) -> str | None:
    """Enclosure / protection: TEFC, ODP, TENV, XPFC, IP55, NEMA 12 ..."""
    match = _ENCLOSURES.search(clean_token(text))
    if not match:
        return None
    return re.sub(r"\s+", " ", match.group(1).upper())


def parse_ip(text: str) -> str | None:
    """The digits after an ``IP`` caption (``IP 55`` -> ``IP55``)."""
    raw = clean_token(text).upper()
    if re.fullmatch(r"\d{2}[A-Z]?", raw):
        return "IP" + raw
    return None


def parse_service_factor(text: str) -> str | None:
    num = numeric_text(text)
    if num is None or not re.fullmatch(r"\d(?:\.\d{1,2})?", num):
        return None
    return num if 1.0 <= float(num) <= 2.0 else None


def parse_efficiency(text: str) -> str | None:
    """Efficiency in percent (``95.4``); an IE class in front is ignored."""
    raw = clean_token(text)
    raw = re.sub(r"(?i)^IE\d\s*", "", raw)
    num = numeric_text(raw.rstrip("%").rstrip())
    if num is None or not re.fullmatch(_NUM, num):
        return None
    value = float(num)
    return num if 40 <= value <= 99.9 else None


def parse_insulation(text: str) -> str | None:
    """Insulation class letter; also from ``155(F)`` / ``F (155)`` forms."""
    raw = clean_token(text).upper()
    if raw in {"A", "B", "E", "F", "H", "N", "R"}:
        return raw
    match = re.fullmatch(r"(?:1[0-9]{2}\s*)?\(?([ABEFHNR])\)?(?:\s*\(?1[0-9]{2}\)?)?", raw)
    return match.group(1) if match else None


def parse_letter_code(text: str) -> str | None:
    """Single-letter codes (NEMA code, design letter) used to fence off non-field values."""
    raw = clean_token(text).upper()
    return raw if re.fullmatch(r"[A-Z]{1,2}", raw) else None


def parse_any(text: str) -> str | None:
    raw = clean_token(text)
    return raw or None


ValueParser = Callable[[str], "str | None"]
