"""The label lexicon: printed captions of NEMA and IEC nameplates and what they announce.

Labels are matched on a *compact key*: upper case, only letters and digits, so ``SER. NO.:``,
``SER NO`` and ``SERNO`` are one key, as are ``S/N`` and ``SN``, ``r/min`` and ``RMIN``.  A
label may span up to three OCR tokens (``F.L. AMPS``, ``NEMA NOM EFF``).

Labels with ``field=None`` are captions of values we do not extract (NEMA code letter, bearing,
weight, output ratings of a drive, pump head ...).  They matter as much as the others: they
claim their value so that ``OUTPUT VOLTS 0-480`` or ``TANK 60 GAL`` can never be mistaken for
the input voltage or the frequency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from rapidfuzz.distance import Levenshtein

from . import values as v


@dataclass(frozen=True, slots=True)
class LabelDef:
    """A caption: which field it introduces and how to read its value.

    ``unit`` labels (V, A, Hz, kW, r/min ...) may also *follow* their value (``400 V``,
    ``11 kW``), as is usual on IEC plates.  ``max_tokens`` bounds how many value tokens the
    label may take (most values are one token; a manufacturer name is several).
    """

    field: str | None
    parser: v.ValueParser
    unit: bool = False
    max_tokens: int = 1
    power_unit: str | None = None


_VOLT = LabelDef("voltage", v.parse_voltage, unit=True)
_AMPS = LabelDef("amps", v.parse_amps, unit=True)
_HP = LabelDef("power", v.parse_power, unit=True, power_unit="HP")
_KW = LabelDef("power", v.parse_power, unit=True, power_unit="kW")
_POWER = LabelDef("power", v.parse_power)
_RPM = LabelDef("rpm", v.parse_rpm, unit=True)
_HZ = LabelDef("hz", v.parse_hz, unit=True)
_PHASE = LabelDef("phase", v.parse_phase, unit=True)
_MODEL = LabelDef("model", v.parse_code, max_tokens=3)
_SERIAL = LabelDef("serial", v.parse_code)
_FRAME = LabelDef("frame", v.parse_frame)
_YEAR = LabelDef("year", v.parse_year, max_tokens=2)
_ENCL = LabelDef("enclosure", v.parse_enclosure, max_tokens=2)
_IP = LabelDef("enclosure", v.parse_ip)
_SF = LabelDef("service_factor", v.parse_service_factor)
_EFF = LabelDef("efficiency", v.parse_efficiency, max_tokens=2)
_INS = LabelDef("insulation_class", v.parse_insulation)
_MFR = LabelDef("manufacturer", v.parse_any, max_tokens=8)
_OTHER = LabelDef(None, v.parse_any)
_OTHER_LETTER = LabelDef(None, v.parse_letter_code)

# fmt: off
_LEXICON: Final[dict[LabelDef, tuple[str, ...]]] = {
    _VOLT: ("V", "VOLTS", "VOLT", "VOLTAGE", "VOLTAJE", "U", "UV", "UN", "INPUTV", "INPUTVOLTS",
            "INPUTVOLTAGE", "VAC", "RATEDVOLTAGE", "VOLTSAC", "LINEVOLTS", "SUPPLYVOLTAGE"),
    _AMPS: ("A", "AMPS", "AMP", "AMPERES", "FLA", "FLAMPS", "FLAMP", "FLCURRENT", "I", "IA", "IN",
            "INPUTA", "INPUTAMPS", "INPUTCURRENT", "CURRENT", "RATEDCURRENT", "FULLLOADAMPS"),
    _HP: ("HP", "PS", "CV"),
    _KW: ("KW", "P2", "P2KW", "PNKW", "OUTPUTKW"),
    _POWER: ("POWER", "RATEDPOWER", "OUTPUTPOWER"),
    _RPM: ("RPM", "RMIN", "MIN1", "1MIN", "MIN", "REVMIN", "SPEED", "RATEDSPEED", "NRPM", "FLRPM",
           "UMIN", "TRMIN", "NMIN1", "NRMIN", "NMIN"),
    _HZ: ("HZ", "HERTZ", "FREQ", "FREQUENCY", "CYCLES", "CY", "INPUTHZ", "FN", "FHZ"),
    _PHASE: ("PH", "PHASE", "PHASES", "PHS"),
    _MODEL: ("MODEL", "MODELNO", "MODELNUMBER", "MOD", "MODNO", "CAT", "CATNO", "CATALOG",
             "CATALOGNO", "CATALOGUE", "CATALOGNUMBER", "TYPE", "TYP", "TYPENO", "SPEC", "SPECNO",
             "PARTNO", "PN0", "ORDERNO", "ORDNR", "MLFB", "PRODUCTNO", "PRODNO", "ITEMNO",
             "ARTNO", "MODELCODE", "CATNUMBER", "STYLE", "STYLENO", "IDNO"),
    _SERIAL: ("SERNO", "SER", "SERIAL", "SERIALNO", "SERIALNUMBER", "SN", "SNO", "NOSERIE",
              "SERIENNR", "SERIALNR", "SERNR", "NO", "NR"),
    _FRAME: ("FR", "FRAME", "FRAMESIZE", "FRSIZE", "FRAMENO", "SIZE", "BAUGROSSE"),
    _YEAR: ("YEAR", "YR", "DATE", "MFGDATE", "MFDDATE", "DATECODE", "MFGYEAR", "YEARMFD",
            "PRODDATE", "MANUFDATE", "BUILDDATE", "DOM", "MFD"),
    _ENCL: ("ENCL", "ENCLOSURE", "ENC", "PROTECTION", "ENCLTYPE"),
    _IP: ("IP",),
    _SF: ("SF", "SERF", "SERVF", "SERFACT", "SERVFACT", "SERVICEFACTOR", "SERVFACTOR", "SFACTOR"),
    _EFF: ("EFF", "NOMEFF", "NEMANOMEFF", "NOMINALEFF", "EFFICIENCY", "NOMINALEFFICIENCY",
           "NEMAEFF", "FLEFF", "NOMEFFICIENCY"),
    _INS: ("INSCL", "INSCLASS", "INSULCLASS", "INSULATIONCLASS", "INS", "CL", "CLASS", "ISOLKL",
           "THCL", "INSULCL", "ICL"),
    _MFR: ("MFR", "MFG", "MFDBY", "MFGBY", "MFRBY", "MANUFACTURER", "MANUFACTUREDBY", "MADEBY",
           "MAKER", "MAKE", "BRAND", "MANUFACTURERS"),
    _OTHER_LETTER: ("CODE", "KVACODE", "NEMACODE", "DES", "DESIGN", "NEMADESIGN", "LRCODE"),
    _OTHER: ("OUTPUTV", "OUTPUTVOLTS", "OUTPUTVOLTAGE", "OUTPUTHZ", "OUTPUTA", "OUTPUTAMPS",
             "OUTPUTCURRENT", "OUTPUTFREQ", "OUTPUT", "SCCR", "FW", "FIRMWARE", "CFM", "TANK",
             "MAXPRESS", "PRESS", "PSI", "PSIG", "H", "HEAD", "Q", "FLOW", "PN", "PNBAR", "IC",
             "TMAX",
             "IMPELLER", "DUTY", "RATING", "TIMERATING", "TIME", "AMB", "AMBIENT", "AMBTEMP",
             "MAXAMB", "RISE", "TEMPRISE", "TEMP", "WT", "WTLBS", "WEIGHT", "LBS", "KG",
             "DEBRG", "ODEBRG", "NDEBRG", "BRG", "DE", "ODE", "NDE", "BEARING", "BEARINGS",
             "SHAFTEND", "OPPEND", "PF", "COS", "COSPHI", "COSF", "SFA", "SFAMPS", "LRA",
             "KVA", "MAXRPM", "MAXSPEED", "MAXHZ", "MAXFREQ", "BASEHZ", "BASERPM", "THERMAL",
             "THERMALPROT", "PROT", "POLES", "POLE", "GREASE", "LUBE", "MAXPRESSURE", "GAL",
             "IMP", "CONN", "CONNECTION", "NOLOADAMPS", "NLA", "INVERTER", "VFD", "EX", "TAMB",
             "ALTITUDE", "ALT", "MAXINPUT", "CAP", "CAPACITOR", "UF", "MFD2", "MADEIN",
             "INERTIA", "TORQUE", "NM", "VFDRATING", "STD", "NEMA", "IEC", "CSA", "UL"),
}
# fmt: on

#: compact key -> label definition
LABELS: Final[dict[str, LabelDef]] = {
    key: definition for definition, keys in _LEXICON.items() for key in keys
}
MAX_LABEL_TOKENS: Final = 3

#: Words that qualify the captions after them rather than being captions themselves.
CONTEXT_WORDS: Final = frozenset({"INPUT", "OUTPUT", "RATED", "NOMINAL", "MAX", "MIN"})

# Compact keys that are also common words in the *values* of other fields; they only count as
# labels when a valid value follows (decided by the parser).
AMBIGUOUS_KEYS: Final = frozenset(
    {
        "A",
        "V",
        "H",
        "U",
        "I",
        "Q",
        "IN",
        "NO",
        "NR",
        "CL",
        "MIN",
        "SIZE",
        "TYPE",
        "MOD",
        "DE",
        "IP",
        "PN",
        "PS",
        "CV",
        "FN",
        "CY",
        "DOM",
        "MAKE",
        "EX",
        "STD",
        "NEMA",
        "OUTPUT",
        "INS",
    }
)

_LABEL_FIXES: Final = str.maketrans({"0": "O", "2": "Z", "5": "S", "8": "B", "1": "I", "$": "S"})


def compact(text: str) -> str:
    """Compact key of a token: ``"Ser. No.:"`` -> ``"SERNO"``."""
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def lookup(key: str) -> tuple[LabelDef, float] | None:
    """Exact lookup, then with digit/letter OCR confusions undone (``H2`` -> ``HZ``).

    Returns the definition and a match quality in 0..1.
    """
    if not key:
        return None
    found = LABELS.get(key)
    if found is not None:
        return found, 1.0
    if any(ch.isalpha() for ch in key):
        fixed = key.translate(_LABEL_FIXES)
        found = LABELS.get(fixed)
        if found is not None and len(fixed) >= 2:
            return found, 0.85
    return None


@lru_cache(maxsize=4096)
def fuzzy_lookup(key: str) -> tuple[tuple[LabelDef, float], ...]:
    """Labels within one edit (two for long keys) of ``key``, best first.

    Only keys of four or more letters are tried: short captions are too close to each other
    (``HP``/``HZ``/``PH``) for a guess to be worth anything; the value shape decides those.
    Only captions of extracted fields are candidates (never the manufacturer caption, whose
    value is free text: ``RAND`` must not become ``BRAND``).
    """
    if len(key) < 4 or not any(ch.isalpha() for ch in key) or key in CONTEXT_WORDS:
        return ()
    limit = 1 if len(key) < 7 else 2
    out: list[tuple[LabelDef, float]] = []
    seen: set[LabelDef] = set()
    for cand, definition in LABELS.items():
        if len(cand) < 3 or definition.field in (None, "manufacturer"):
            continue
        dist = Levenshtein.distance(key, cand, score_cutoff=limit)
        if dist <= limit and definition not in seen:
            seen.add(definition)
            out.append((definition, 0.75 - 0.1 * dist))
    out.sort(key=lambda item: -item[1])
    return tuple(out)


@lru_cache(maxsize=4096)
def garbled_lookup(key: str) -> tuple[tuple[LabelDef, float], ...]:
    """Field captions a short garbled word may be (``KIW`` -> ``KW``), closest first.

    Stricter than :func:`fuzzy_lookup`: same first letter, at most one edit for words of up
    to four letters (two beyond), and at most 40 % of the word changed.  The caller must also
    check the value shape, because three-letter captions are close to each other.
    """
    if len(key) < 3 or not key.isalpha():
        return ()
    out: list[tuple[int, LabelDef]] = []
    seen: set[LabelDef] = set()
    limit = 1 if len(key) <= 4 else 2
    for cand, definition in LABELS.items():
        if definition.field in (None, "manufacturer") or len(cand) < 2 or cand[0] != key[0]:
            continue
        dist = Levenshtein.distance(key, cand, score_cutoff=limit)
        if dist <= limit and dist / max(len(key), len(cand)) <= 0.4 and definition not in seen:
            seen.add(definition)
            out.append((dist, definition))
    out.sort(key=lambda item: item[0])
    return tuple((definition, 0.7 - 0.1 * dist) for dist, definition in out)
