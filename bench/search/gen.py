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
        else:
            out.append(ch)
    return "".join(out)


_NORM_RE = re.compile(r"[^0-9A-Za-z]+")


def norm_code(s: str) -> str:
    """Same as the SQL normalisation: upper-case, drop everything but [0-9A-Z]."""
    return _NORM_RE.sub("", s).upper()


@dataclass
class Row:
    id: uuid.UUID
    org_id: uuid.UUID
    number: str
    manufacturer: str
    model: str
    serial: str
    location: str


class Generator:
    """Builds catalogues once, then streams rows."""

    def __init__(self, seed: int = 42):
        self.rng = random.Random(seed)
        rng = self.rng
        self.brands = BRANDS
        bw = [b.weight for b in BRANDS]
        tot = sum(bw)
        self.brand_weights = [w / tot for w in bw]
        # model catalogue per brand: families (a pattern filled once for the family prefix,
        # then variants differing in a few positions), Zipf popularity.
        self.models: list[list[str]] = []
        self.model_cum: list[list[float]] = []
        for b in BRANDS:
            seen: set[str] = set()
            ms: list[str] = list(b.fixed_models)
            seen.update(norm_code(m) for m in ms)
            tries = 0
            while len(ms) < b.n_models and tries < b.n_models * 20:
                tries += 1
                pat = rng.choice(b.models)
                m = _fill(rng, pat)
                n = norm_code(m)
                if n in seen:
                    continue
                seen.add(n)
                ms.append(m)
            rng.shuffle(ms)
            self.models.append(ms)
            # Zipf s=1.0 over a brand's catalogue
            w = [1.0 / (i + 1) for i in range(len(ms))]
            acc, cum = 0.0, []
            for x in w:
                acc += x
                cum.append(acc)
            self.model_cum.append(cum)
        # location hierarchy: each site has a subset of areas, each area a subset of rooms
        self.locations: list[str] = []
        for s in SITES:
            for a in rng.sample(AREAS, rng.randint(6, 14)):
                for r in rng.sample(ROOMS, rng.randint(4, 12)):
                    self.locations.append(f"{s} / {a} / {r}")
        self.serial_seen: set[str] = set()
        self._batch: list[str] = []
        self._batch_brand = -1

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
        cur = None  # (bi, model, location) reused while a batch of serials lasts
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
            )


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
    family: str  # full | model | serial
    text: str
    k: int  # number of real typos
    target: Row
    loc_part: str | None = None  # location words included (full family)


def make_queries(
    rng: random.Random,
    rows: list[Row],
    n_per_family: int,
    brand_aliases: dict[str, list[str]] | None = None,
) -> list[Query]:
    if brand_aliases is None:
        brand_aliases = {b.name: b.aliases for b in BRANDS}
    out: list[Query] = []
    for fam in ("full", "model", "serial"):
        for _ in range(n_per_family):
            t = rng.choice(rows)
            k = 1 if rng.random() < 0.5 else 2
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
