"""Spreadsheets as plants export them, for import tests and the import benchmark
(``bench/assets/import_bench.py``): varied makes (and their spellings), model families,
serial formats, locations, blank cells, repeated assets with their serials written another
way or without them, model typos, and a few rows that cannot be imported.

    sheet(seed=1, rows=2000) -> CSV text (header included)
"""

import csv
import io
import random
import string
from dataclasses import dataclass

# fmt: off
# (spellings seen in exports, model patterns: L letter, D digit, literal otherwise, serial patterns)
MAKES: list[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = [
    (
        ("Siemens", "SIEMENS", "Siemens AG"),
        ("1LE1001-DDDDD-DDDD", "6SL3210-1KEDD-DUFD", "3RT20DD-1AP00"),
        ("XAJ7-DDD-DDDD", "ODDDDDDDD"),
    ),
    (
        ("Allen-Bradley", "A-B", "Allen Bradley"),
        ("25B-DDDDN114", "1756-LDD", "22F-DDDDN103"),
        ("DDDDDDDD", "LDDDDDDDD"),
    ),
    (
        ("ABB",),
        ("ACS580-01-DDDA-4", "M3BP DDD SMLA", "ACSDDD-01-DDA"),
        ("DDDDDDDDDD", "3ADDDDDDDD"),
    ),
    (
        ("Grundfos", "GRUNDFOS"),
        ("CR DD-D", "CM D-D", "TP DD-DDD/D", "NB DD-DDD"),
        ("DDDDDDDDDDDD", "P-DDDDDDD"),
    ),
    (("WEG",), ("W22 DDD", "CFWDD", "W21 DDDL"), ("DDDDDDDDDD", "DDDLLDDDDD")),
    (
        ("Baldor", "BALDOR", "Baldor-Reliance"),
        ("EMDDDDT", "CEMDDDD", "VEMDDDD"),
        ("LDDDDDDDDDD", "DDLDDDDDDDD"),
    ),
    (
        ("SEW-Eurodrive", "SEW", "SEW Eurodrive"),
        ("RDD DRNDDML", "KADD DRNDDD", "MDXDDB-DDDD"),
        ("DD.DDDDDDDDDD.DDDD.DD",),
    ),
    (("Danfoss", "DANFOSS"), ("FC-DDD PDDK", "VLT DDDD", "FC-DDDP"), ("DDDLDDDDD",)),
    (("Yaskawa",), ("GA800 DDDD", "V1000 CIMR-VU", "A1000-DDDD"), ("LDDDDDDDDDDDD",)),
    (
        ("Schneider Electric", "Schneider", "Square D"),
        ("ATVDDDUDDND", "LCD-DDDD", "ATVDDD"),
        ("LLDDDDDDDDDD", "DDDDDDDD"),
    ),
    (("Flowserve",), ("DDxDDDx-DD", "Mark 3 DDD", "HPX DDD"), ("DDDDDD-D",)),
    (("KSB",), ("Etanorm DDD-DDD", "Movitec DD", "Omega DDD-DDD"), ("DDDDDDDDD/DDD",)),
    (
        ("Atlas Copco", "ATLAS COPCO"),
        ("GA DD VSD", "GA DD+", "ZT DD"),
        ("LLL DDDDDDD", "AIIDDDDDD"),
    ),
    (("Ingersoll Rand", "Ingersoll-Rand"), ("R DD", "UP6-DD", "RS DDi"), ("LLDDDDLDDDDD",)),
    (("Lenze",), ("EDDDDDDDD", "iDDD"), ("DDDDDDDDDDDD",)),
    (("Nord", "NORD"), ("SK DDDD.D", "SK DDD E"), ("DDDDDDDD-DDDD",)),
    (("Emerson", "Rosemount"), ("DDDDDLD", "3051CD", "Fisher DDD"), ("DDDDDDD",)),
    (
        ("Endress+Hauser", "E+H", "Endress Hauser"),
        ("Promag DDD", "Levelflex FMPDD", "Prowirl DD"),
        ("LDDDDDDDLDD",),
    ),
    (("Eaton",), ("DGDDDD", "PowerXL DD", "XTCEDDD"), ("LDDDDDDDD",)),
    (("Mitsubishi Electric", "Mitsubishi"), ("FR-ADDD-DDDK", "FX5U-DDMR"), ("DDDDDDDD",)),
    (("Festo", "FESTO"), ("DSBC-DD-DDD", "VUVG-LDD"), ("LDDDD",)),
    (("Parker",), ("PVDDD", "DDDDD Series"), ("DDDDDDDDD",)),
    (("Leeson",), ("DDDDDD.DD", "CDDDDDD"), ("DDDDDD",)),
    (("Marathon",), ("DDDTTDRDDDD", "XRI DDD"), ("LDDDDDDDD",)),
    (("Acme Pumps Ltd", "ACME PUMPS"), ("AP-DDD", "AP-DDDD-L"), ("ACM-DDDDD",)),
    (("Müller Rührwerke", "Muller Ruhrwerke"), ("MR DD", "MRX-DDD"), ("DD/DDDD",)),
]
# fmt: on
TYPES = [
    "Motor",
    "Pump",
    "VFD",
    "Drive",
    "Compressor",
    "Gearbox",
    "Valve",
    "Flowmeter",
    "Sensor",
    "PLC",
    "Contactor",
    "Fan",
    "Mixer",
    "Conveyor",
]  # fmt: skip
AREAS = ["Boiler house", "Line 1", "Line 2", "Line 3", "Packaging", "Water treatment",
         "Cooling tower", "Warehouse", "Halle 2", "Tank farm", "Utilities",
         "Press shop"]  # fmt: skip
BAD_ROWS = [";CR 10-4;X1;;;;;;;;", "Grundfos;CR 1-2;Z9;pump;;Line 1;urgent;;;;",
            "WEG;W22;W-1;;;Line 9;;;;;EQ-1999-000001", "ABB;ACS;1;2",
            "Siemens;G120;S-1;;;;;scrapped?;;;"]  # fmt: skip
CRITICALITY = ["", "", "low", "Medium", "HIGH", "critical", "med", "normal"]
STATUS = [""] * 14 + [
    "active",
    "in service",
    "Running",
    "Running",
    "down",
    "Down",
    "out of service",
    "active",
    "in service",
    "retired",
]


@dataclass
class Asset:
    make: str
    model: str
    serial: str
    name: str
    kind: str
    location: str
    criticality: str
    status: str
    voltage: str
    installed: str


def _fill(pattern: str, rng: random.Random) -> str:
    out = []
    for ch in pattern:
        if ch == "D":
            out.append(rng.choice(string.digits))
        elif ch == "L":
            out.append(rng.choice(string.ascii_uppercase))
        else:
            out.append(ch)
    return "".join(out)


def _typo(code: str, rng: random.Random) -> str:
    """One character of a code changed, dropped or doubled (as typed from a plate)."""
    if len(code) < 4:
        return code + "1"
    i = rng.randrange(1, len(code) - 1)
    kind = rng.random()
    if kind < 0.4:
        return code[:i] + rng.choice(string.digits) + code[i + 1 :]
    if kind < 0.7:
        return code[:i] + code[i + 1 :]
    return code[:i] + code[i] + code[i:]


def _rewritten(serial: str, rng: random.Random) -> str:
    """The same serial written another way: case, spaces, dashes."""
    choice = rng.random()
    if choice < 0.4:
        return serial.lower()
    if choice < 0.7:
        return serial.replace("-", " ").replace(".", " ")
    return "-".join(serial[i : i + 4] for i in range(0, len(serial), 4))


def _models(rng: random.Random) -> list[list[str]]:
    """Per make: its catalogue (a few to a few dozen models)."""
    catalogues = []
    for _, patterns, _ in MAKES:
        size = rng.choice([3, 5, 8, 12, 20, 40])
        catalogues.append(sorted({_fill(rng.choice(patterns), rng) for _ in range(size)}))
    return catalogues


def assets(seed: int, rows: int) -> list[Asset | str]:
    """``rows`` rows: mostly new assets, about 5 % repeats of earlier rows (serial rewritten,
    left out, or the model typed with a typo) and about 1 % rows that cannot be imported (a
    string: the raw line)."""
    rng = random.Random(seed)
    catalogues = _models(rng)
    weights = [1 / (i + 1) for i in range(len(MAKES))]
    out: list[Asset | str] = []
    made: list[Asset] = []
    for n in range(rows):
        roll = rng.random()
        if roll < 0.01:
            out.append(rng.choice(BAD_ROWS))
            continue
        if roll < 0.06 and made:
            old = rng.choice(made)
            how = rng.random()
            serial = old.serial
            model = old.model
            if how < 0.4:
                serial = _rewritten(old.serial, rng) if old.serial else ""
            elif how < 0.7:
                serial = ""
            else:
                serial, model = "", _typo(old.model, rng)
            out.append(Asset(old.make, model, serial, old.name, old.kind, old.location, "", "",
                             old.voltage, ""))  # fmt: skip
            continue
        m = rng.choices(range(len(MAKES)), weights)[0]
        spellings, _, serials = MAKES[m]
        catalogue = catalogues[m]
        model = catalogue[min(int(rng.paretovariate(1.2)) - 1, len(catalogue) - 1)]
        if rng.random() < 0.03:
            model = ""
        serial = _fill(rng.choice(serials), rng) if rng.random() > 0.1 else ""
        kind = rng.choice(TYPES)
        area = rng.choice(AREAS)
        location = f"Plant {rng.randint(1, 3)} / {area} / Bay {rng.randint(1, 40)}"
        if rng.random() < 0.05:
            location = ""
        asset = Asset(
            rng.choice(spellings),
            model,
            serial,
            f"{kind} {n + 1}" if rng.random() < 0.8 else "",
            kind,
            location,
            rng.choice(CRITICALITY),
            rng.choice(STATUS),
            rng.choice(["", "", "230", "400", "460", "230/460", "24 VDC"]),
            rng.choice(["", "", f"{rng.randint(1995, 2025)}-{rng.randint(1, 12):02d}-01"]),
        )
        made.append(asset)
        out.append(asset)
    return out


HEADER = ["Make", "Model No.", "Serial Number", "Asset Name", "Type", "Location", "Criticality",
          "Status", "Voltage", "Installed", "Parent"]  # fmt: skip


def sheet(seed: int, rows: int, *, parents: list[str] | None = None) -> str:
    """A semicolon-separated export of ``assets(seed, rows)``; ``parents``: equipment numbers
    some rows name as their parent (others name one that does not exist)."""
    rng = random.Random(seed + 1)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    for item in assets(seed, rows):
        if isinstance(item, str):
            writer.writerow(item.split(";"))
            continue
        parent = ""
        if parents and rng.random() < 0.02:
            parent = rng.choice(parents) if rng.random() < 0.8 else "EQ-1990-000042"
        writer.writerow([item.make, item.model, item.serial, item.name, item.kind,
                         item.location, item.criticality, item.status, item.voltage,
                         item.installed, parent])  # fmt: skip
    return out.getvalue()
