"""Reference data shared by every service: manufacturer names, canonical spelling and aliases.

The canonical name is what the asset register stores, so "A-B", "Allen Bradley" and "Rockwell
Automation" file under one manufacturer. The OCR service also uses the aliases to find brands
on nameplates. Brand lines sold to another group keep their own name (Baldor stays Baldor)
except where the plate is a sub-brand label of the maker (US MOTORS -> Nidec).

Extend ``BRANDS`` freely; aliases match as whole words after ``normalize``.
"""

import re
from functools import cache
from typing import Final

#: canonical name -> aliases (the canonical name itself is always an alias)
BRANDS: Final[dict[str, tuple[str, ...]]] = {
    # Motors
    "Baldor": ("BALDOR", "BALDOR RELIANCE", "BALDOR ELECTRIC", "BALDOR ELECTRIC CO"),
    "Reliance Electric": ("RELIANCE ELECTRIC", "RELIANCE"),
    "WEG": ("WEG", "WEG EQUIPAMENTOS ELETRICOS", "WEG ELECTRIC", "WEG MOTORS"),
    "Siemens": ("SIEMENS", "SIEMENS AG", "SIEMENS ENERGY AND AUTOMATION"),
    "ABB": ("ABB", "ABB MOTORS", "ASEA BROWN BOVERI", "ASEA"),
    "Leeson": ("LEESON", "LEESON ELECTRIC"),
    "Marathon": ("MARATHON", "MARATHON ELECTRIC", "MARATHON MOTORS"),
    "Nidec": (
        "NIDEC",
        "NIDEC MOTOR",
        "NIDEC MOTOR CORPORATION",
        "US MOTORS",
        "U S MOTORS",
        "USMOTORS",
        "EMERSON MOTOR",
        "EMERSON MOTORS",
    ),
    "Toshiba": ("TOSHIBA", "TOSHIBA INTERNATIONAL", "TOSHIBA INTERNATIONAL CORP"),
    "TMEIC": ("TMEIC",),
    "Regal Rexnord": ("REGAL REXNORD", "REGAL BELOIT", "REGAL"),
    "Century": ("CENTURY", "CENTURY ELECTRIC"),
    "A.O. Smith": ("A O SMITH", "AO SMITH"),
    "GE": ("GE", "GENERAL ELECTRIC", "GE MOTORS"),
    "WEG-Cestari": ("CESTARI",),
    "TECO-Westinghouse": ("TECO WESTINGHOUSE", "TECO", "TECO ELECTRIC"),
    "Westinghouse": ("WESTINGHOUSE",),
    "Lincoln Motors": ("LINCOLN MOTORS", "LINCOLN ELECTRIC"),
    "Hyundai": ("HYUNDAI", "HYUNDAI ELECTRIC", "HYUNDAI HEAVY INDUSTRIES"),
    "Leroy-Somer": ("LEROY SOMER", "LEROYSOMER"),
    "Lafert": ("LAFERT",),
    "Brook Crompton": ("BROOK CROMPTON", "BROOK HANSEN"),
    "VEM": ("VEM", "VEM MOTORS"),
    "SEW-Eurodrive": ("SEW EURODRIVE", "SEW"),
    "Nord": ("NORD", "NORD DRIVESYSTEMS", "NORD GEAR"),
    "Bonfiglioli": ("BONFIGLIOLI",),
    "Lenze": ("LENZE",),
    "Franklin Electric": ("FRANKLIN ELECTRIC",),
    "Bodine Electric": ("BODINE", "BODINE ELECTRIC"),
    "Elektrim": ("ELEKTRIM",),
    "Sterling Electric": ("STERLING ELECTRIC",),
    "Kirloskar": ("KIRLOSKAR",),
    "Crompton Greaves": ("CROMPTON GREAVES", "CG POWER"),
    "Mitsubishi Electric": ("MITSUBISHI", "MITSUBISHI ELECTRIC"),
    "Hitachi": ("HITACHI",),
    "Fuji Electric": ("FUJI ELECTRIC", "FUJI"),
    # Drives and controls
    "Allen-Bradley": ("ALLEN BRADLEY", "ALLENBRADLEY", "A B", "ROCKWELL AUTOMATION", "ROCKWELL"),
    "Eaton": ("EATON", "EATON CORPORATION", "CUTLER HAMMER", "CUTLERHAMMER"),
    "Schneider Electric": ("SCHNEIDER ELECTRIC", "SCHNEIDER", "SQUARE D", "TELEMECANIQUE"),
    "Danfoss": ("DANFOSS", "VACON"),
    "Yaskawa": ("YASKAWA", "MAGNETEK"),
    "Delta Electronics": ("DELTA ELECTRONICS",),
    "Invertek": ("INVERTEK", "INVERTEK DRIVES"),
    "Emotron": ("EMOTRON",),
    "Omron": ("OMRON",),
    "Parker": ("PARKER", "PARKER HANNIFIN"),
    # Pumps
    "Grundfos": ("GRUNDFOS", "GRUNDFOS A S"),
    "Goulds": ("GOULDS", "GOULDS PUMPS", "XYLEM", "BELL GOSSETT", "BELL AND GOSSETT"),
    "KSB": ("KSB",),
    "Wilo": ("WILO",),
    "Flowserve": ("FLOWSERVE",),
    "Pentair": ("PENTAIR", "AURORA PUMP", "FAIRBANKS NIJHUIS"),
    "Ebara": ("EBARA",),
    "Lowara": ("LOWARA",),
    "Armstrong": ("ARMSTRONG", "ARMSTRONG FLUID TECHNOLOGY"),
    "Taco": ("TACO",),
    "Sulzer": ("SULZER",),
    "Gorman-Rupp": ("GORMAN RUPP",),
    "Netzsch": ("NETZSCH",),
    # Compressors
    "Ingersoll Rand": ("INGERSOLL RAND", "INGERSOLLRAND", "INGERSOL RAND"),
    "Atlas Copco": ("ATLAS COPCO",),
    "Kaeser": ("KAESER", "KAESER KOMPRESSOREN"),
    "Sullair": ("SULLAIR",),
    "Quincy": ("QUINCY COMPRESSOR",),
    "Gardner Denver": ("GARDNER DENVER",),
    "Champion": ("CHAMPION",),
    "Curtis-Toledo": ("CURTIS TOLEDO",),
}


def normalize(text: str) -> str:
    """Upper case, punctuation (``-``, ``.``, ``/``, ...) to spaces, spaces collapsed."""
    return " ".join(re.sub(r"[^A-Z0-9]+", " ", text.upper()).split())


@cache
def _aliases() -> dict[str, str]:
    table: dict[str, str] = {}
    for name, aliases in BRANDS.items():
        for alias in (name, *aliases):
            table[normalize(alias)] = name
            table[normalize(alias).replace(" ", "")] = name
    return table


def canonical(name: str) -> str | None:
    """The canonical brand for a known alias (``"A-B"`` -> ``"Allen-Bradley"``), else None."""
    key = normalize(name)
    return _aliases().get(key) or _aliases().get(key.replace(" ", ""))
