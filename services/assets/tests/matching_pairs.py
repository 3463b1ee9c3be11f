# ruff: noqa: E501 - one labelled pair per line reads best
"""Labelled pairs for tuning and testing create-or-match.

Each pair: an existing asset, a new record, and what a maintenance planner would want:
``same`` (merge automatically), ``review`` (show as a possible duplicate) or ``new`` (create).
They cover the ways the same asset arrives differently (punctuation, case, brand aliases,
serial formatting, OCR slips) and the look-alikes that must stay apart (same model at another
place, sibling models, different serials).
"""

from typing import Any

Rec = dict[str, Any]


def r(
    make: str, model: str | None = None, serial: str | None = None, loc: str | None = None
) -> Rec:
    return {"manufacturer": make, "model": model, "serial": serial, "location": loc}


PAIRS: list[tuple[Rec, Rec, str]] = [
    # --- the same asset, written differently ------------------------------------------------
    (r("Siemens", "G120C", "XAB-1234-56"), r("SIEMENS", "G-120-C", "xab 1234 56"), "same"),
    (r("Allen-Bradley", "PowerFlex 525", "A1B2C3"), r("A-B", "PowerFlex525", "A1-B2-C3"), "same"),
    (r("Allen-Bradley", "1756-L73", "F0012345"), r("Rockwell Automation", "1756 L73", "F0012345"), "same"),
    (r("Baldor", "EM3615T", "Z1502110432"), r("Baldor Reliance", "EM3615T", "Z1502110432"), "same"),
    (r("WEG", "W22", "1029384756"), r("WEG", None, "1029-3847-56"), "same"),
    (r("ABB", "M3BP 160", "3GZF-500"), r("abb", "M3BP160MLA4", "3GZF500"), "same"),
    (r("Grundfos", "CR 10-4", "96501234P1"), r("GRUNDFOS", "CR10-4", "96501234 P1"), "same"),
    (r("Eaton", "DG1-34011", "E123"), r("Cutler-Hammer", "DG134011", "e-123"), "same"),
    (r("Nidec", "HO100V1SLH", "US0012"), r("US Motors", "HO100V1SLH", "us0012"), "same"),
    (r("Siemens", "1LE1001-1DB23-4AA4", None, "Plant 2 / Line 3 / Pump room"),
     r("Siemens", "1LE1001-1DB234AA4", "SN998877", "Plant 2 / Line 3 / Pump Room"), "same"),
    (r("Grundfos", "CR 15-3", None, "Boiler house"), r("Grundfos", "CR15-3", "A98765", "boiler house"), "same"),
    (r("Leeson", "C6T17FC5", None, "Line 1 conveyor"), r("LEESON ELECTRIC", "C6T17FC5", None, "Line 1 Conveyor"), "same"),
    (r("Marathon", "056T17F5301", "MX12"), r("Marathon Electric", "056T17F5301", "MX-12"), "same"),
    (r("Toshiba", "B0104FLF2AYH", "T-77"), r("TOSHIBA", "B0104FLF2AYH", "t77"), "same"),
    (r("Kaeser", "SK 22", "1234"), r("Kaeser", "SK22", "1234"), "same"),
    # --- look-alikes that must stay apart ------------------------------------------------------
    (r("Siemens", "S7-1200", "S1"), r("Siemens", "S7-1500", "S2"), "new"),
    (r("Siemens", "S7-1200", "S1"), r("Siemens", "S7-1200", "S2"), "new"),
    (r("Allen-Bradley", "PowerFlex 525", "A1"), r("Allen-Bradley", "PowerFlex 525", "A2"), "new"),
    (r("Baldor", "EM3615T", "Z1"), r("WEG", "EM3615T", None), "new"),
    (r("Grundfos", "CR 10-4", "X1"), r("Grundfos", "CR 10-4", "X2", "Boiler house"), "new"),
    (r("ABB", "ACS580", None), r("Danfoss", "FC302", None), "new"),
    (r("WEG", "W22", "1"), r("WEG", "W21", "2"), "new"),
    (r("Siemens", "G120C"), r("Siemens", "SINAMICS V20"), "new"),
    (r("Eaton", "DG1-34011"), r("Eaton", "PowerXL DM1"), "new"),
    (r("Baldor", "CEM3615T", "A1"), r("Baldor", "CEM3615T", "B1"), "new"),
    (r("Grundfos", "CR 10-4", None, "Boiler house"), r("Grundfos", "CR 10-4", None, "Cooling tower 2"), "review"),
    # --- unclear: the caller decides -----------------------------------------------------------
    (r("Siemens", "G120C"), r("Siemens", "G120C"), "review"),
    (r("Allen-Bradley", "PowerFlex 525", "A1"), r("Allen-Bradley", "PowerFlex 525"), "review"),
    (r("Allen-Bradley", "PowerFlex 525"), r("Allen-Bradley", "PowerFlex 525", "A1"), "review"),
    (r("ABB", "ACS580-01-12A7-4"), r("ABB", "ACS580-01-12A6-4"), "review"),
    (r("Baldor", "EM3615T", None, "Line 4"), r("Baldor", "EM3615T", "Z9", "Line 5"), "review"),
    (r("WEG", "W22 IR3"), r("WEG", "W22 IR4"), "review"),
    (r("Siemens", "1LE1001-1DB23-4AA4", None, "Line 3"), r("Siemens", "1LE1001-1DB23-4AA5", None, "Line 3"), "review"),
    (r("Grundfos", "CR 10-4", None, "Boiler house"), r("Grundfos", "CR 10-4"), "review"),
    # Short codes one character apart at the same place: a misread or a sibling; ask.
    (r("Grundfos", "CR 10-4", None, "Boiler house"), r("Grundfos", "CR 90-4", None, "Boiler house"), "review"),
]  # fmt: skip
