"""Synthetic-but-realistic equipment data and typo'd queries for the fuzzy search bench.

Deterministic for a given seed. Pure Python + stdlib so it can be imported by the bench
and by tests without extra dependencies.

Shapes modelled on real nameplates:
  * ~40 manufacturers, each with aliases people type ("AB", "Allen Bradley", "Rockwell").
  * model codes per brand built from real order-code *shapes* (Siemens MLFB
    "6SL3210-1KE21-3UF1", AB "1756-L83E", Baldor "EM3615T", ...). Codes inside a family
    differ by one or two characters, exactly like real catalogues, which makes the
    one-typo case genuinely ambiguous sometimes.
  * serials 8-14 chars in several per-brand shapes, issued in production batches
    (shared prefix, consecutive running numbers), so near-duplicates exist.
  * locations from a site / line-or-area / room hierarchy.
  * popularity is Zipf-like: a few models are installed thousands of times.
"""

from __future__ import annotations

import random
import re
import string
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

ALNUM = string.ascii_uppercase + string.digits

# --------------------------------------------------------------------------------------
# Manufacturers: canonical name, aliases typed by users, weight, model patterns, serial
# patterns.  Pattern language: L = A-Z letter, D = digit, anything else
# literal; {a|b|c} = choice.  "#" in a serial pattern marks the running-number digits.
# --------------------------------------------------------------------------------------


@dataclass
class Brand:
    name: str
    aliases: list[str]
    weight: float
    models: list[str]  # patterns
    serials: list[str]  # patterns
    n_models: int = 400
    fixed_models: list[str] = field(default_factory=list)


BRANDS: list[Brand] = [
    Brand(
        "Siemens",
        ["Siemens AG", "SIE"],
        12,
        [
            "6SL3210-1KEDD-DLLD",
            "6ES7 DDD-DLLDD-DLLD",
            "1LE1001-DLLDD-DLLD",
            "3RV20DD-DLLDD",
            "6SE6440-2UDDD-DLLD",
        ],
        ["XLLD-DDD####", "LDDDDDD####", "LLD/DDDD###"],
        n_models=1500,
        fixed_models=["G120C", "S7-1200", "S7-1500", "V20", "G120", "S120"],
    ),
    Brand(
        "ABB",
        ["Asea Brown Boveri", "A.B.B."],
        10,
        [
            "ACS580-01-DDLD-4",
            "ACS880-01-DDDL-3",
            "M3BP DDDLLL D",
            "3GBADDDDDD-LDC",
            "1SBLDDDDDDRDDDD",
        ],
        ["DDDDDDDDDD", "LLDDDDDD####", "3DDDDDD####"],
        n_models=1200,
        fixed_models=["ACS355", "ACS580", "ACH580", "ACS880"],
    ),
    Brand(
        "WEG",
        ["W.E.G.", "WEG Motors"],
        8,
        ["CFW500LDDPDTD", "DDDDDETDLDDDTC-W22", "W22 DDHP", "CFW11 DDDDT4"],
        ["DDDDDDDD####", "DDDDDDD###"],
        n_models=600,
        fixed_models=["W22", "CFW500", "CFW11"],
    ),
    Brand(
        "Baldor",
        ["Baldor-Reliance", "Baldor Reliance", "Reliance"],
        6,
        ["EMDDDDT", "CEMDDDDT", "VMDDDD", "IDNMDDDD", "MDDDDT-D"],
        ["LDDDDDDDDDD", "DDLDDD####"],
        n_models=500,
    ),
    Brand(
        "Allen-Bradley",
        ["Allen Bradley", "AB", "Rockwell", "Rockwell Automation"],
        10,
        [
            "1756-LDDL",
            "22B-DDDDNDDD",
            "25B-DDPDNDDD",
            "100-CDDDDD",
            "1769-LDDLR",
            "20F1ANDDDDANNNNN",
        ],
        ["LDDDDDDD", "LLDDDDDD##", "DDLLDDDD###"],
        n_models=1200,
        fixed_models=["PowerFlex 525", "PowerFlex 755", "CompactLogix 5380", "ControlLogix 5580"],
    ),
    Brand(
        "Schneider Electric",
        ["Schneider", "Telemecanique", "Square D"],
        9,
        ["ATV320UDDNDC", "ATV630DDDND", "LC1DDDDLD", "TMDDDLLDDL", "GV2MEDD"],
        ["DDDDDDLDDD###", "LLDDDDDD####"],
        n_models=1100,
        fixed_models=["ATV320", "ATV630", "M221"],
    ),
    Brand(
        "Danfoss",
        ["Danfoss Drives", "VLT"],
        5,
        ["FC-302PDKDTDEDDHD", "FC-102PDDKTDEDD", "131BDDDD", "132FDDDD"],
        ["DDDDDDDDD###", "DDDLDDDD###"],
        n_models=500,
        fixed_models=["FC302", "FC102", "FC51"],
    ),
    Brand(
        "SEW-Eurodrive",
        ["SEW", "SEW Eurodrive"],
        5,
        ["RDD DRNDDDLD", "KADD DRNDDDLLD", "FDD DRNDDLD", "MDXDDB00DD-5A3-4-00"],
        ["DD.DDDDDDDDDD.DDDD.DD", "DDDDDDDDDDDD"],
        n_models=700,
    ),
    Brand(
        "Grundfos",
        ["Grundfos Pumps"],
        5,
        [
            "CR DD-D",
            "CRN DD-D A-FGJ-G-E-HQQE",
            "TP DD-DDD/D",
            "NB DD-DDD/DDD",
            "CM D-D A-R-A-E-AQQE",
        ],
        ["DDDDDDDD####", "PD DDDD"],
        n_models=600,
        fixed_models=["Magna3", "Alpha2", "CR 10-3"],
    ),
    Brand(
        "Emerson",
        ["Emerson Process", "Rosemount"],
        4,
        ["3051CDDLDDADDLDB4", "2088GDSDDADDBDM5", "8732ELDDLDDND"],
        ["DDDDDDD", "DDDDDDD###"],
        n_models=500,
    ),
    Brand(
        "Yaskawa",
        ["Yaskawa Electric"],
        4,
        ["CIPR-GADLDDDDLLBAA", "CIMR-VUDLDDDDLAA", "SGMXJ-DDLDL6L"],
        ["DDDDDDDDDDDDD", "LDDDDD####"],
        n_models=500,
        fixed_models=["GA500", "GA800", "V1000"],
    ),
    Brand(
        "Mitsubishi Electric",
        ["Mitsubishi", "MELSEC"],
        4,
        ["FR-ADDD-DDK", "FR-EDDD-D.DK", "FX5U-DDMT/ES", "HG-KRDDLB"],
        ["DDLDDDDDD", "LLDDDDDDD###"],
        n_models=500,
        fixed_models=["FX5U", "iQ-R", "FR-A800"],
    ),
    Brand(
        "Eaton",
        ["Cutler-Hammer", "Moeller"],
        4,
        ["DGDDD4LLDDDD", "PKZM0-DD", "XTCE0DDLDD", "DILMDD-DD"],
        ["LDDDLDDDDDD", "DDDDDDD###"],
        n_models=500,
    ),
    Brand(
        "Rockwell Automation",
        ["RA", "Rockwell"],
        1,
        ["2198-HDDD-ERS", "842E-SIPDBA"],
        ["LLDDDDDD"],
        n_models=100,
    ),
    Brand(
        "Lenze",
        ["Lenze Drives"],
        2,
        ["E84AVSCEDDDDSXD", "MCADDLDD-RSDBDD", "IDDDDDDDD"],
        ["DDDDDDDDDD###"],
        n_models=300,
    ),
    Brand(
        "Nord",
        ["NORD Drivesystems", "Getriebebau Nord"],
        2,
        ["SK DDDDD.D-DDLP/D", "SK DDDLD-DDD-DDD-A"],
        ["DDDDDDDDDD-DDD"],
        n_models=300,
    ),
    Brand(
        "Sulzer",
        ["Sulzer Pumps"],
        2,
        ["AHLSTAR LPPDD-DD", "XFP DDDL-CBD", "CPT DD-DDD"],
        ["DDDDDDDDD", "DDDDDD####"],
        n_models=250,
    ),
    Brand(
        "KSB",
        ["KSB Pumps"],
        3,
        ["Etanorm DDD-DDD", "Movitec DD/D", "Etaline DD-DDD-DDD"],
        ["DDDDDDDDD/DDD", "LDDDDDDDD"],
        n_models=300,
    ),
    Brand(
        "Flowserve",
        ["Flowserve Pumps", "Durco"],
        2,
        ["DLLD-DDDD", "Mark 3 DLDD-DD"],
        ["DDLLDDDDDD", "LLDDDDDDDD"],
        n_models=250,
    ),
    Brand(
        "Atlas Copco",
        ["AtlasCopco", "Atlas"],
        3,
        ["GA DD VSD+", "GA DDD FF", "ZT DD", "GX D"],
        ["LLL DDDDDD", "AIF DDDDDDD"],
        n_models=200,
    ),
    Brand(
        "Ingersoll Rand",
        ["Ingersoll-Rand", "IR"],
        2,
        ["RSDDn-A1DD", "UP6-DD-DDD", "R DDI"],
        ["LLLDDDDDDD", "DDDDDDDDDD"],
        n_models=200,
    ),
    Brand(
        "Kaeser",
        ["Kaeser Kompressoren"],
        2,
        ["ASD DD T SFC", "BSD DD", "CSD DDD"],
        ["DDDDDDD", "DDDDDDDDD"],
        n_models=120,
    ),
    Brand(
        "Festo",
        [],
        3,
        ["DSBC-DD-DDD-PPVA-N3", "ADN-DD-DD-A-P-A", "VUVG-LDD-MDD-RZT-FD/D-DDS"],
        ["LDDDDDDD", "LLDDDDDDD"],
        n_models=600,
    ),
    Brand(
        "SMC",
        ["SMC Pneumatics"],
        3,
        ["CDQ2BDD-DDDZ", "SYDDDD-DLZD-DD", "MXQDDL-DD"],
        ["DDDDDDDD"],
        n_models=500,
    ),
    Brand(
        "Parker",
        ["Parker Hannifin"],
        3,
        ["PVDDDLDLLDD", "DDDLDDDDDLA", "P1D-SDDDMS-DDDD"],
        ["DDDDDDDDD", "LLDDDDDDDD"],
        n_models=400,
    ),
    Brand(
        "Bosch Rexroth",
        ["Rexroth", "Bosch"],
        3,
        ["A10VSODDDFR/DDR-VPBDD", "4WE DD LDD/LG24N9K4", "MSKDDDL-DDDD"],
        ["DDDDDDDDDD", "R9DDDDDDDD"],
        n_models=500,
    ),
    Brand(
        "Endress+Hauser",
        ["Endress Hauser", "E+H", "EH"],
        4,
        ["FMRDD-DDLLD", "PMCDD-DDLD", "5PDDW-DDDD", "CLSDD-LD"],
        ["LDDDDDDDDDD", "LDDDDD####"],
        n_models=500,
        fixed_models=["Promag 10W", "Liquiphant FTL31"],
    ),
    Brand(
        "Honeywell",
        [],
        3,
        ["STGDDDL-EDG-DDDDD", "ST3000", "HCDDDDL"],
        ["DDDDDDDDDD", "DDDDLDDDDDDD"],
        n_models=400,
    ),
    Brand(
        "Yokogawa",
        [],
        2,
        ["EJADDDE-JLS4J-9DDNB", "AXFDDDG"],
        ["LDLDDDDDD", "DDLDDDDDD"],
        n_models=300,
    ),
    Brand(
        "Omron",
        [],
        3,
        ["CPDE-EDDDD", "E3Z-LDD", "NXD-CPUDDD"],
        ["DDDDDDD", "DDDDDDDDDDDD"],
        n_models=400,
    ),
    Brand("Pilz", [], 1, ["PNOZ XDP", "PSEN cs3.1"], ["DDDDDD"], n_models=80),
    Brand(
        "Phoenix Contact",
        ["Phoenix"],
        2,
        ["QUINT-PS/1AC/24DC/DD", "UT D", "PT D-HESI"],
        ["DDDDDDDDDD"],
        n_models=200,
    ),
    Brand(
        "Weidmuller", ["Weidmüller"], 1, ["WDU D.D", "PRO MAX DDW"], ["DDDDDDDDDD"], n_models=100
    ),
    Brand(
        "Fanuc",
        ["FANUC"],
        2,
        ["A06B-DDDD-BDDD", "A02B-0DDD-BDDD", "R-30iB"],
        ["LDDDDDDD", "DDDDDD"],
        n_models=300,
    ),
    Brand("Kuka", ["KUKA"], 1, ["KR DDD RD", "KR C4"], ["DDDDDD"], n_models=60),
    Brand("Toshiba", [], 2, ["VFSDD-4DDDPL", "0D54SDLA21"], ["DDDDDDDDDD"], n_models=200),
    Brand("Hitachi", [], 1, ["WJ200-DDDHF", "SJ700-DDDHFEF2"], ["DDDDDDLDDDDDD"], n_models=120),
    Brand(
        "Vacon",
        ["Danfoss Vacon"],
        1,
        ["NXS00DDA2H1SSS", "VACON0100-3L-00DD-5"],
        ["DDDDDDDDDD"],
        n_models=100,
    ),
    Brand(
        "Regal Rexnord",
        ["Rexnord", "Falk"],
        1,
        ["DDDDA2-LS", "Falk DDDDL"],
        ["DDDDDDDDLL"],
        n_models=100,
    ),
    Brand(
        "Alfa Laval",
        ["AlfaLaval"],
        1,
        ["LKH-DD", "SRU DL", "M6-MFG"],
        ["DDDDD-DDDDD"],
        n_models=100,
    ),
    Brand(
        "Sick",
        ["SICK"],
        2,
        ["WLDDD-2PDDD", "IMEDD-DDNPSZC0S", "DFS60B-SDPA1DDDD"],
        ["DDDDDDDDDD", "DDDDLDDDD"],
        n_models=300,
    ),
]

# Equipment type of each model pattern of a brand (same order as ``Brand.models``) and of the
# fixed models; the stored ``equipment_type`` (what "pumps" or "abb drives line 3" find).
BRAND_TYPES: dict[str, list[str]] = {
    "Siemens": ["Drive", "PLC", "Motor", "Circuit breaker", "Drive"],
    "ABB": ["Drive", "Drive", "Motor", "Motor", "Contactor"],
    "WEG": ["Drive", "Motor", "Motor", "Drive"],
    "Baldor": ["Motor"] * 5,
    "Allen-Bradley": ["PLC", "Drive", "Drive", "Contactor", "PLC", "Drive"],
    "Schneider Electric": ["Drive", "Drive", "Contactor", "PLC", "Circuit breaker"],
    "Danfoss": ["Drive"] * 4,
    "SEW-Eurodrive": ["Gearbox", "Gearbox", "Gearbox", "Drive"],
    "Grundfos": ["Pump"] * 5,
    "Emerson": ["Pressure transmitter", "Pressure transmitter", "Flow meter"],
    "Yaskawa": ["Drive", "Drive", "Servo motor"],
    "Mitsubishi Electric": ["Drive", "Drive", "PLC", "Servo motor"],
    "Eaton": ["Drive", "Circuit breaker", "Contactor", "Contactor"],
    "Rockwell Automation": ["Drive", "Sensor"],
    "Lenze": ["Drive", "Servo motor", "Drive"],
    "Nord": ["Gearbox", "Gearbox"],
    "Sulzer": ["Pump"] * 3,
    "KSB": ["Pump"] * 3,
    "Flowserve": ["Pump"] * 2,
    "Atlas Copco": ["Compressor"] * 4,
    "Ingersoll Rand": ["Compressor"] * 3,
    "Kaeser": ["Compressor"] * 3,
    "Festo": ["Cylinder", "Cylinder", "Valve"],
    "SMC": ["Cylinder", "Valve", "Cylinder"],
    "Parker": ["Pump", "Valve", "Cylinder"],
    "Bosch Rexroth": ["Pump", "Valve", "Servo motor"],
    "Endress+Hauser": ["Level sensor", "Pressure transmitter", "Flow meter", "Level sensor"],
    "Honeywell": ["Pressure transmitter", "Pressure transmitter", "Controller"],
    "Yokogawa": ["Pressure transmitter", "Flow meter"],
    "Omron": ["PLC", "Sensor", "PLC"],
    "Pilz": ["Safety relay", "Safety relay"],
    "Phoenix Contact": ["Power supply", "Terminal block", "Terminal block"],
    "Weidmuller": ["Terminal block", "Power supply"],
    "Fanuc": ["Servo motor", "Controller", "Controller"],
    "Kuka": ["Robot", "Controller"],
    "Toshiba": ["Drive", "Motor"],
    "Hitachi": ["Drive", "Drive"],
    "Vacon": ["Drive", "Drive"],
    "Regal Rexnord": ["Gearbox", "Gearbox"],
    "Alfa Laval": ["Pump", "Pump", "Heat exchanger"],
    "Sick": ["Sensor", "Sensor", "Sensor"],
}
FIXED_TYPES = {
    "S7-1200": "PLC", "S7-1500": "PLC", "W22": "Motor", "CompactLogix 5380": "PLC",
    "ControlLogix 5580": "PLC", "M221": "PLC", "FX5U": "PLC", "iQ-R": "PLC",
    "Promag 10W": "Flow meter", "Liquiphant FTL31": "Level sensor",
}  # fmt: skip
"""Fixed models of another type than the brand's first pattern."""

# --------------------------------------------------------------------------------------
# Shape "b": other code shapes (``--shape b``). Pattern language as above, plus "*" = a
# letter or a digit. (pattern, weight): a brand draws a few styles, a row one of its brand's.
# --------------------------------------------------------------------------------------
MODEL_STYLES_B: list[tuple[str, float]] = [
    ("LL DDD", 1.0),  # models with spaces
    ("LLL DD-DD LL", 1.0),
    ("DLL DDDD D DD", 1.0),
    ("LL-DDD LLL DD/D", 1.0),
    ("DLLDDDD-DLLDD-DLLD-L LDD+LDD", 1.0),  # long: 23 characters in normal form
    ("LLLDDDDLLDDDDDLLLDDDLL", 1.0),  # long, no separators
    ("L*D**-***", 1.0),
    ("LD", 0.3),  # very short: "G5", "V20", "3M", "CR3"
    ("LDD", 0.5),
    ("DL", 0.3),
    ("LLD", 0.5),
]
SERIAL_STYLES_B: list[tuple[str, float]] = [
    ("**********", 1.0),  # random letters and digits
    ("********", 1.0),
    ("************", 1.0),
    ("****-****-****", 1.0),  # dashes
    ("DDDD/DDDDDD", 1.0),  # slashes
    ("LL/DDDDD/DD", 1.0),
    ("LLD DDDD DDD", 1.0),  # spaces
    ("LLLDDDDDDDDDDDDDDDDD", 1.0),  # long: 20
    ("*****", 0.4),  # short
    ("****", 0.15),  # very short
]
CAMPUSES_B = ["North campus", "South campus", "Riverside", "Airport site", "Harbour",
              "Head office", "Distribution centre", "Research park"]  # fmt: skip
BUILDINGS_B = [f"Building {n}" for n in range(1, 16)] + [
    "Hall A", "Hall B", "Hall C", "Energy centre", "Workshop", "Lab block", "Tower",
]  # fmt: skip
FLOORS_B = ["Ground floor", "Level 1", "Level 2", "Level 3", "Level 4", "Basement", "Roof",
            "Mezzanine"]  # fmt: skip
SPACES_B = ["Plant room", "Boiler room", "Server room", "Kitchen", "Loading bay", "Clean room",
            "Lab 1", "Lab 2", "Riser", "Corridor", "Office", "Stairwell", "Car park"]  # fmt: skip
POSITIONS_B = [f"Panel P{n}" for n in range(1, 30)] + [f"AHU {n}" for n in range(1, 13)]

SITES = [
    "Plant 1",
    "Plant 2",
    "Plant 3",
    "Plant 4",
    "Houston",
    "Monterrey",
    "Campinas",
    "Gdansk",
    "Pune",
    "Toledo",
    "Rotterdam DC",
    "Valencia",
]
AREAS = [f"Line {i}" for i in range(1, 13)] + [
    "Utilities",
    "Packaging",
    "Boiler house",
    "Warehouse",
    "Wastewater",
    "Tank farm",
    "Paint shop",
    "Press shop",
    "Assembly",
    "Cold store",
]
ROOMS = [
    "Pump room",
    "MCC 1",
    "MCC 2",
    "Compressor room",
    "Mixing",
    "Filler",
    "Palletizer",
    "Conveyor",
    "Cooling tower",
    "Chiller room",
    "Substation",
    "Electrical room",
    "Oven",
    "Dryer",
    "Extruder",
    "Labeler",
    "Wrapper",
    "Dock 3",
    "Roof",
    "Basement",
    "CIP skid",
    "Blower room",
    "Sump",
    "Mezzanine",
]


def _fill(rng: random.Random, pattern: str) -> str:
    out = []
    for ch in pattern:
        if ch == "L":
            out.append(rng.choice(string.ascii_uppercase))
        elif ch == "D" or ch == "#":
            out.append(rng.choice(string.digits))
        elif ch == "*":
            out.append(rng.choice(ALNUM))
        else:
            out.append(ch)
    return "".join(out)


_NORM_RE = re.compile(r"[^0-9A-Za-z]+")


def norm_code(s: str) -> str:
    """Same as the SQL normalisation: upper-case, drop everything but [0-9A-Z]."""
    return _NORM_RE.sub("", s).upper()


NOW = datetime(2026, 12, 1, tzinfo=UTC)
"""Rows were last changed within three years before this (``updated_at``)."""


@dataclass
class Row:
    id: uuid.UUID
    org_id: uuid.UUID
    number: str
    manufacturer: str
    model: str
    serial: str
    location: str
    equipment_type: str = ""
    updated_at: datetime | None = None


class Generator:
    """Builds catalogues once, then streams rows (shape "a": real order-code and serial shapes,
    serials in production batches, site / area / room locations)."""

    shape = "a"

    def __init__(self, seed: int = 42):
        self.rng = random.Random(seed)
        # timestamps from a stream of their own: the rows of shape "a" stay what they were
        self.time_rng = random.Random(seed * 1_000_003 + 17)
        rng = self.rng
        self.brands = BRANDS
        bw = [b.weight for b in BRANDS]
        tot = sum(bw)
        self.brand_weights = [w / tot for w in bw]
        # model catalogue per brand: families (a pattern filled once for the family prefix,
        # then variants differing in a few positions), Zipf popularity.
        self.models: list[list[str]] = []
        self.model_cum: list[list[float]] = []
        self.model_type: list[dict[str, str]] = []
        for b in BRANDS:
            patterns, weights, types, fixed = self._model_patterns(b)
            seen: set[str] = set()
            ms: list[str] = list(fixed)
            kind = {m: FIXED_TYPES.get(m, types[0]) for m in ms}
            seen.update(norm_code(m) for m in ms)
            tries = 0
            while len(ms) < b.n_models and tries < b.n_models * 20:
                tries += 1
                pi = (
                    patterns.index(rng.choice(patterns))
                    if weights is None
                    else rng.choices(range(len(patterns)), weights)[0]
                )
                m = _fill(rng, patterns[pi])
                n = norm_code(m)
                if n in seen:
                    continue
                seen.add(n)
                ms.append(m)
                kind[m] = types[pi % len(types)]
            rng.shuffle(ms)
            self.models.append(ms)
            self.model_type.append(kind)
            # Zipf s=1.0 over a brand's catalogue
            w = [1.0 / (i + 1) for i in range(len(ms))]
            acc, cum = 0.0, []
            for x in w:
                acc += x
                cum.append(acc)
            self.model_cum.append(cum)
        self.locations: list[str] = self._locations()
        self.serial_seen: set[str] = set()
        self._batch: list[str] = []
        self._batch_brand = -1

    def _model_patterns(
        self, b: Brand
    ) -> tuple[list[str], list[float] | None, list[str], list[str]]:
        """(patterns, their weights or None for uniform, types by pattern, fixed models)."""
        types = BRAND_TYPES[b.name]
        assert len(types) == len(b.models), b.name
        return b.models, None, types, b.fixed_models

    def _locations(self) -> list[str]:
        # each site has a subset of areas, each area a subset of rooms
        rng = self.rng
        out = []
        for s in SITES:
            for a in rng.sample(AREAS, rng.randint(6, 14)):
                for r in rng.sample(ROOMS, rng.randint(4, 12)):
                    out.append(f"{s} / {a} / {r}")
        return out

    def _serial(self, bi: int) -> str:
        """Serials come in production batches: same prefix, consecutive running number."""
        rng = self.rng
        b = self.brands[bi]
        for _ in range(100):
            pat = rng.choice(b.serials)
            base = _fill(rng, pat)
            # running number positions
            pos = [i for i, c in enumerate(pat) if c == "#"]
            size = 1 if rng.random() < 0.5 else rng.randint(2, 12)
            if pos:
                start = rng.randint(0, 10 ** len(pos) - size - 1)
                out = []
                for k in range(size):
                    num = str(start + k).zfill(len(pos))
                    s = list(base)
                    for p, d in zip(pos, num, strict=False):
                        s[p] = d
                    out.append("".join(s))
            else:
                out = [base]
            out = [s for s in out if norm_code(s) not in self.serial_seen]
            if out:
                for s in out:
                    self.serial_seen.add(norm_code(s))
                return out[0] if len(out) == 1 else self._keep_batch(out)
        raise RuntimeError("serial space exhausted")

    def _keep_batch(self, out: list[str]) -> str:
        # returned serials of a batch are handed out on the next calls for the same brand
        self._batch = out[1:]
        return out[0]

    def rows(self, n: int, org_id: uuid.UUID, start_seq: int = 0):
        rng = self.rng
        brand_idx = list(range(len(self.brands)))
        batch_left = 0
        cur = None  # (bi, model, loc) reused while a batch of serials lasts
        span = 3 * 365 * 86400
        for i in range(n):
            if batch_left > 0 and self._batch:
                bi, model, loc = cur
                serial = self._batch.pop(0)
                batch_left -= 1
            else:
                self._batch = []
                bi = rng.choices(brand_idx, self.brand_weights)[0]
                ms = self.models[bi]
                mi = _bisect(self.model_cum[bi], rng.random() * self.model_cum[bi][-1])
                model = ms[mi]
                loc = rng.choice(self.locations)
                serial = self._serial(bi)
                batch_left = len(self._batch)
                cur = (bi, model, loc)
            seq = start_seq + i
            year = 2015 + (seq // 90000) % 12
            number = f"EQ-{year}-{seq % 1000000:06d}"
            yield Row(
                uuid.UUID(int=rng.getrandbits(128), version=4),
                org_id,
                number,
                self.brands[bi].name,
                model,
                serial,
                loc,
                self.model_type[bi][model],
                NOW - timedelta(seconds=self.time_rng.randrange(span)),
            )


class GeneratorB(Generator):
    """Shape "b": random letter-and-digit serials (no batches), serials with dashes, slashes
    and spaces, models with spaces, long (20+) and very short (2-3 character) codes, locations
    of 2 to 5 segments (campus / building / floor / room / panel). Same brands and types."""

    shape = "b"

    def _model_patterns(
        self, b: Brand
    ) -> tuple[list[str], list[float] | None, list[str], list[str]]:
        styles = self.rng.sample(MODEL_STYLES_B, 4)
        return [p for p, _ in styles], [w for _, w in styles], BRAND_TYPES[b.name], []

    def _locations(self) -> list[str]:
        rng = self.rng
        out = []
        for campus in CAMPUSES_B:
            for building in rng.sample(BUILDINGS_B, rng.randint(4, 10)):
                out.append(f"{campus} / {building}")
                for floor in rng.sample(FLOORS_B, rng.randint(2, 5)):
                    out.append(f"{campus} / {building} / {floor}")
                    for space in rng.sample(SPACES_B, rng.randint(1, 4)):
                        out.append(f"{campus} / {building} / {floor} / {space}")
                        if rng.random() < 0.5:
                            position = rng.choice(POSITIONS_B)
                            out.append(f"{campus} / {building} / {floor} / {space} / {position}")
        return out

    def _serial(self, bi: int) -> str:
        rng = self.rng
        if not hasattr(self, "_serial_styles"):
            self._serial_styles = [rng.sample(SERIAL_STYLES_B, 3) for _ in self.brands]
        styles = self._serial_styles[bi]
        for _ in range(1000):
            pat = rng.choices([p for p, _ in styles], [w for _, w in styles])[0]
            s = _fill(rng, pat)
            n = norm_code(s)
            if n not in self.serial_seen:
                self.serial_seen.add(n)
                return s
        raise RuntimeError("serial space exhausted")


SHAPES = {"a": Generator, "b": GeneratorB}


def _bisect(cum: list[float], x: float) -> int:
    lo, hi = 0, len(cum) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


# --------------------------------------------------------------------------------------
# Typos
# --------------------------------------------------------------------------------------

KEY_NEIGHBOURS = {}
_rows = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"]
for r_i, r in enumerate(_rows):
    for c_i, c in enumerate(r):
        nb = set()
        for dr in (-1, 0, 1):
            rr = r_i + dr
            if 0 <= rr < len(_rows):
                for dc in (-1, 0, 1):
                    cc = c_i + dc
                    if 0 <= cc < len(_rows[rr]) and (dr, dc) != (0, 0):
                        nb.add(_rows[rr][cc])
        KEY_NEIGHBOURS[c] = "".join(sorted(nb))
# OCR/visual confusions that are frequent on nameplates
CONFUSIONS = {
    "0": "O",
    "O": "0",
    "1": "I",
    "I": "1",
    "5": "S",
    "S": "5",
    "8": "B",
    "B": "8",
    "2": "Z",
    "Z": "2",
}


def _sub_char(rng: random.Random, c: str) -> str:
    if c.upper() in CONFUSIONS and rng.random() < 0.3:
        r = CONFUSIONS[c.upper()]
    else:
        nb = KEY_NEIGHBOURS.get(c.lower())
        r = (
            rng.choice(nb)
            if nb and rng.random() < 0.7
            else rng.choice(string.ascii_lowercase + string.digits)
        )
    if r.lower() == c.lower():
        r = "x" if c.lower() != "x" else "q"
    return r.upper() if c.isupper() else r


def typo(rng: random.Random, s: str, k: int) -> str:
    """Apply exactly k real edits (substitution, deletion, insertion, transposition) at
    alphanumeric positions.  Cosmetic changes (case, dropped dash/space) are separate."""
    for _ in range(k):
        idx = [i for i, c in enumerate(s) if c.isalnum()]
        if not idx:
            break
        op = rng.choice(["sub", "sub", "del", "ins", "trans"])
        i = rng.choice(idx)
        if op == "sub":
            s = s[:i] + _sub_char(rng, s[i]) + s[i + 1 :]
        elif op == "del" and len(idx) > 3:
            s = s[:i] + s[i + 1 :]
        elif op == "ins":
            s = s[:i] + _sub_char(rng, s[i]) + s[i:]
        else:  # transposition with the next alnum char (falls back to substitution)
            j = i + 1
            if j < len(s) and s[j].isalnum() and s[j].lower() != s[i].lower():
                s = s[:i] + s[j] + s[i] + s[j + 1 :]
            else:
                s = s[:i] + _sub_char(rng, s[i]) + s[i + 1 :]
    return s


def cosmetic(rng: random.Random, s: str, allow_drop_sep: bool = True) -> str:
    r = rng.random()
    if r < 0.45:
        s = s.lower()
    elif r < 0.55:
        s = s.upper()
    if allow_drop_sep and rng.random() < 0.25:
        seps = [i for i, c in enumerate(s) if c in "-/. "]
        if seps:
            i = rng.choice(seps)
            s = s[:i] + s[i + 1 :]
    return s.strip()


@dataclass
class Query:
    family: str  # full | model | serial | the families below
    text: str
    k: int  # number of real typos
    target: Row
    loc_part: str | None = None  # location words included (full family)


def make_queries(
    rng: random.Random,
    rows: list[Row],
    n_per_family: int,
    brand_aliases: dict[str, list[str]] | None = None,
    cap_typos: bool = False,
) -> list[Query]:
    """``cap_typos``: a model code or serial gets at most the typos the search promises to
    forgive at its length (shape "b", with its 2-5 character codes); shape "a" keeps the
    queries of the earlier runs (1 or 2 typos whatever the length)."""
    if brand_aliases is None:
        brand_aliases = {b.name: b.aliases for b in BRANDS}
    out: list[Query] = []
    for fam in ("full", "model", "serial"):
        for _ in range(n_per_family):
            t = rng.choice(rows)
            k = 1 if rng.random() < 0.5 else 2
            if cap_typos and fam in ("model", "serial"):
                value = t.serial if fam == "serial" else t.model
                k = min(k, allowed_edits(len(norm_code(value))))
            if fam == "serial":
                q = cosmetic(rng, typo(rng, t.serial, k))
                out.append(Query(fam, q, k, t))
            elif fam == "model":
                q = cosmetic(rng, typo(rng, t.model, k))
                out.append(Query(fam, q, k, t))
            else:
                al = brand_aliases.get(t.manufacturer) or []
                brand = rng.choice(al) if al and rng.random() < 0.25 else t.manufacturer
                model = cosmetic(rng, t.model, allow_drop_sep=True)
                loc_part = None
                parts = [brand, model]
                if rng.random() < 0.5:
                    segs = t.location.split(" / ")
                    loc_part = " ".join(segs[-2:]) if rng.random() < 0.3 else segs[-1]
                    parts.append(loc_part)
                if rng.random() < 0.15:
                    parts[0], parts[1] = parts[1], parts[0]
                q = " ".join(parts)
                q = typo(rng, q, k)
                if rng.random() < 0.6:
                    q = q.lower()
                out.append(Query(fam, q, k, t, loc_part))
    return out


# --------------------------------------------------------------------------------------
# Query families of real use besides the three above (see README): facets (a brand, an
# alias, a place, a type, or several together), whole nameplate lines, what the nameplate
# scanner read, and the first characters typed (search as you type). Generated from rows in
# their *stored* form (canonical brand names), with the shared catalogue's aliases passed in.
# --------------------------------------------------------------------------------------

FACET_FAMILIES = ("brand", "alias", "location", "brand_location", "type", "brand_type_location")
"""Measured by first-page precision: every hit has the facet(s) the query names."""
ROW_FAMILIES = ("nameplate", "scan", "prefix")
"""Measured by recall@10 and hit@1, like full / model / serial."""

OCR_PAIRS = {"0": "O", "O": "0", "1": "I", "I": "1", "5": "S", "S": "5", "8": "B", "B": "8"}
"""Characters the nameplate scanner confuses (and the search must forgive)."""

PLURALS = {"Power supply": "power supplies", "Gearbox": "gearboxes", "PLC": "PLCs"}

try:  # the bench environment has rapidfuzz (a service dependency); stdlib fallback otherwise
    from rapidfuzz.distance import OSA as _OSA

    def osa(a: str, b: str) -> int:
        return int(_OSA.distance(a, b))
except ImportError:  # pragma: no cover

    def osa(a: str, b: str) -> int:
        d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
        for i in range(1, len(a) + 1):
            for j in range(1, len(b) + 1):
                c = a[i - 1] != b[j - 1]
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + c)
                if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
        return d[len(a)][len(b)]


def allowed_edits(length: int) -> int:
    """The typos the search promises to forgive in a word of ``length`` characters (the
    service's ``keys.allowed_edits``: 0 up to 2 characters, 1 up to 4, 2 up to 9, 3 above)."""
    return 0 if length <= 2 else 1 if length <= 4 else 2 if length <= 9 else 3


def segments(location: str) -> list[str]:
    return [" ".join(s.split()) for s in location.split("/") if s.strip()]


def plural(equipment_type: str) -> str:
    return PLURALS.get(equipment_type) or equipment_type + "s"


@dataclass
class Facets:
    """What one organization's rows name: stored brands with the forms people type, location
    segments, types. ``universe``: normal form -> owner, for unambiguous typos."""

    brand_forms: dict[str, list[str]]
    segments: list[str]
    types: list[str]
    universe: dict[str, set[str]] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)
    """Model codes (normal form): a typo'd brand, place or type must not be nearer to one."""

    @classmethod
    def of(cls, rows: list[Row], aliases: dict[str, list[str]]) -> Facets:
        brands = sorted({r.manufacturer for r in rows})
        forms = {}
        for b in brands:  # the name, then its aliases (one spelling per normal form)
            spelled = {norm_code(x): x for x in reversed([b, *aliases.get(b, [])])}
            forms[b] = [b, *[x for n, x in spelled.items() if n != norm_code(b)][::-1]]
        segs = sorted({s for loc in {r.location for r in rows} for s in segments(loc)})
        types = sorted({r.equipment_type for r in rows if r.equipment_type})
        f = cls(forms, segs, types, models=sorted({norm_code(r.model) for r in rows} - {""}))
        owners = [(f"b:{b}", x) for b in brands for x in forms[b]]
        owners += [(f"l:{s}", s) for s in segs] + [(f"t:{t}", t) for t in types]
        for owner, text in owners:
            f.universe.setdefault(norm_code(text), set()).add(owner)
        return f

    def typo(self, rng: random.Random, text: str, k: int, owner: str) -> tuple[str, int]:
        """``text`` with up to ``k`` typos, kept only when the result stays within the
        promised edit budget of ``owner``'s forms and strictly nearer to them than to any other
        brand, place or type (a typo that turns "ABB" into "AB" asks for another brand);
        (text, edits)."""
        own = [n for n, o in self.universe.items() if owner in o]
        for kk in range(k, -1, -1):
            for _ in range(30 if kk else 1):
                t = typo(rng, text, kk) if kk else text
                n = norm_code(t)
                if not n:
                    continue
                d, best = min((osa(n, x), x) for x in own)
                if d > allowed_edits(min(len(n), len(best))):
                    continue
                if any(osa(n, x) <= d for x, o in self.universe.items() if owner not in o):
                    continue
                if self._near_model(n, d):
                    continue
                return t, d
        return text, 0

    def _near_model(self, text: str, d: int) -> bool:
        """A model code at most ``d`` edits from ``text`` ("KS8" for KSB, when there is a
        model KS7)."""
        try:
            from rapidfuzz import process
            from rapidfuzz.distance import OSA
        except ImportError:  # pragma: no cover
            return any(osa(text, m) <= d for m in self.models)
        found = process.extractOne(text, self.models, scorer=OSA.distance, score_cutoff=d)
        return found is not None


@dataclass
class FacetQuery(Query):
    brand: str | None = None  # stored (canonical) manufacturer every hit must have
    segment: str | None = None  # a location segment every hit must have
    equipment_type: str | None = None  # the type every hit must have
    prefix: str | None = None  # prefix family: the normal form typed
    prefix_kind: str | None = None  # brand | location | model


def _case(rng: random.Random, s: str) -> str:
    return s.lower() if rng.random() < 0.6 else s


def _split(rng: random.Random, k: int, parts: int) -> list[int]:
    out = [0] * parts
    for _ in range(k):
        out[rng.randrange(parts)] += 1
    return out


def _typos_k(rng: random.Random) -> int:
    r = rng.random()
    return 0 if r < 0.4 else 1 if r < 0.8 else 2


def ocr_confuse(rng: random.Random, s: str, k: int) -> tuple[str, int]:
    """``k`` characters replaced by the one a scanner confuses them with (0/O, 1/I, 5/S,
    8/B), where there are such characters; (text, replacements made)."""
    pos = [i for i, c in enumerate(s) if c.upper() in OCR_PAIRS]
    chosen = rng.sample(pos, min(k, len(pos)))
    out = list(s)
    for i in chosen:
        out[i] = OCR_PAIRS[s[i].upper()]
    return "".join(out), len(chosen)


def make_family_queries(
    rng: random.Random, rows: list[Row], n_per_family: int, facets: Facets,
    families: tuple[str, ...] = FACET_FAMILIES + ROW_FAMILIES,
) -> list[Query]:  # fmt: skip
    """Queries of the families above from ``rows`` (stored form)."""
    out: list[Query] = []
    for fam in families:
        made = 0
        while made < n_per_family:
            t = rng.choice(rows)
            q = _family_query(rng, fam, t, facets)
            if q is not None:
                out.append(q)
                made += 1
    return out


def _family_query(rng: random.Random, fam: str, t: Row, f: Facets) -> Query | None:
    brand = t.manufacturer
    segs = segments(t.location)
    if fam == "brand":
        text, k = f.typo(rng, _case(rng, brand), _typos_k(rng), f"b:{brand}")
        return FacetQuery(fam, text, k, t, brand=brand)
    if fam == "alias":
        aliases = f.brand_forms[brand][1:]
        if not aliases:
            return None
        alias = rng.choice(aliases)
        text, k = f.typo(rng, _case(rng, alias), _typos_k(rng), f"b:{brand}")
        return FacetQuery(fam, text, k, t, brand=brand)
    if fam == "location":
        seg = rng.choice(segs)
        text, k = f.typo(rng, _case(rng, seg), _typos_k(rng), f"l:{seg}")
        return FacetQuery(fam, text, k, t, segment=seg)
    if fam == "type":
        if not t.equipment_type:
            return None
        word = plural(t.equipment_type) if rng.random() < 0.6 else t.equipment_type
        text, k = f.typo(rng, _case(rng, word), 1 if rng.random() < 0.4 else 0,
                         f"t:{t.equipment_type}")  # fmt: skip
        return FacetQuery(fam, text, k, t, equipment_type=t.equipment_type)
    if fam in ("brand_location", "brand_type_location"):
        with_type = fam == "brand_type_location"
        if with_type and not t.equipment_type:
            return None
        seg = rng.choice(segs)
        forms = f.brand_forms[brand]
        # an alias one time in four, not with a type ("ABB Motors drives" asks two things)
        alias = not with_type and len(forms) > 1 and rng.random() < 0.25
        name = rng.choice(forms[1:]) if alias else brand
        ks = _split(rng, _typos_k(rng) if not with_type else rng.randint(0, 1), 3)
        b, kb = f.typo(rng, _case(rng, name), ks[0], f"b:{brand}")
        loc, kl = f.typo(rng, _case(rng, seg), ks[1], f"l:{seg}")
        parts = [b, loc]
        k = kb + kl
        if with_type:
            typ, kt = f.typo(rng, plural(t.equipment_type).lower(), ks[2],
                             f"t:{t.equipment_type}")  # fmt: skip
            parts = [b, typ, loc]
            k += kt
        elif rng.random() < 0.2:
            parts.reverse()
        return FacetQuery(fam, " ".join(parts), k, t, brand=brand, segment=seg,
                          equipment_type=t.equipment_type if with_type else None)  # fmt: skip
    if fam == "nameplate":
        # a whole nameplate line typed in: brand, model and serial in any order, 1-2 typos
        k = 1 if rng.random() < 0.5 else 2
        forms = f.brand_forms[brand]
        name = rng.choice(forms[1:]) if len(forms) > 1 and rng.random() < 0.2 else brand
        serial = ("S/N " if rng.random() < 0.3 else "") + cosmetic(rng, t.serial)
        parts = [name, cosmetic(rng, t.model), serial]
        rng.shuffle(parts)
        text = typo(rng, " ".join(parts), k)
        return Query(fam, text.lower() if rng.random() < 0.5 else text, k, t)
    if fam == "scan":
        # the fields the nameplate scanner read: upper case, 1-2 OCR confusions in the codes,
        # dashes and slashes often lost or read as spaces, the brand sometimes missing
        k = 1 if rng.random() < 0.5 else 2
        ks = _split(rng, k, 2)
        model, km = ocr_confuse(rng, t.model.upper(), ks[0])
        serial, kn = ocr_confuse(rng, t.serial.upper(), ks[1])
        if km + kn == 0:
            return None
        r = rng.random()
        if r < 0.5:
            model, serial = model.replace("-", "").replace("/", ""), serial.replace("-", "")
        elif r < 0.75:
            model, serial = model.replace("-", " "), serial.replace("-", " ")
        parts = ([brand.upper()] if rng.random() < 0.7 else []) + [model, serial]
        return Query(fam, " ".join(parts), km + kn, t)
    if fam == "prefix":
        kind = rng.choice(("brand", "location", "model"))
        source = {"brand": brand, "location": rng.choice(segs), "model": t.model}[kind]
        n = norm_code(source)
        size = rng.choice((2, 3))
        if len(n) < size + 1:
            return None  # a whole short code is not the start of one
        p = n[:size]
        return FacetQuery(fam, p.lower() if kind != "model" else p, 0, t, prefix=p,
                          prefix_kind=kind)  # fmt: skip
    raise ValueError(fam)


if __name__ == "__main__":  # quick look at the data
    g = Generator(1)
    org = uuid.uuid4()
    rs = list(g.rows(20, org))
    for r in rs:
        print(r.number, "|", r.manufacturer, "|", r.model, "|", r.serial, "|", r.location)
    for q in make_queries(random.Random(2), rs, 5):
        print(
            q.family,
            q.k,
            repr(q.text),
            "<-",
            q.target.manufacturer,
            q.target.model,
            q.target.serial,
        )
    print("models:", sum(len(m) for m in g.models), "locations:", len(g.locations))
