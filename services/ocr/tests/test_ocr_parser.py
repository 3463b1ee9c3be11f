"""Parser tests on text fixtures: NEMA and IEC dialects, dropped labels, layout, brands.

Plates are written as text: each line is a row of the photo, ``|`` starts a new detected box,
and the character column becomes the box's x position, so aligned columns in the fixture are
aligned boxes on the "photo".  No OCR engine is involved.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rivet_ocr.scanner import TextLine, parse_nameplate
from rivet_ocr.scanner.models import FIELD_NAMES, ParsedNameplate

PLATES = Path(__file__).parent / "fixtures" / "plates"
CHAR_W, ROW_H, TEXT_H = 10.0, 40.0, 20.0


def plate(text: str, confidence: float = 0.95, angle_px_per_char: float = 0.0) -> list[TextLine]:
    """Text-fixture plate -> OCR lines with boxes (optionally sheared to simulate rotation)."""
    lines: list[TextLine] = []
    rows = [r for r in text.splitlines() if r.strip() and not r.lstrip().startswith("#")]
    for r, row in enumerate(rows):
        col = 0
        for part in row.split("|"):
            stripped = part.strip()
            if stripped:
                start = col + part.index(stripped[0])
                x = start * CHAR_W
                w = len(stripped) * CHAR_W
                y = r * ROW_H
                dy = angle_px_per_char * start
                dy2 = angle_px_per_char * (start + len(stripped))
                box = (
                    (x, y + dy),
                    (x + w, y + dy2),
                    (x + w, y + dy2 + TEXT_H),
                    (x, y + dy + TEXT_H),
                )
                lines.append(TextLine(stripped, confidence, box))
            col += len(part) + 1
    return lines


def parse_file(name: str) -> ParsedNameplate:
    return parse_nameplate(plate((PLATES / name).read_text()))


def test_nema_table_plate_reads_every_field() -> None:
    got = parse_file("nema_motor_table.txt")
    assert got.get("manufacturer") == "Baldor"
    assert got.get("model") == "EM4115T"  # CATALOG NO. wins over the later SPEC.
    assert got.get("serial") == "Z1404220417"
    assert got.get("voltage") == "208-230/460"
    assert got.get("amps") == "41.0-38.0/19.0"  # not the S.F. AMPS 47.5
    assert got.get("power") == "15"
    assert got.get("power_unit") == "HP"
    assert got.get("rpm") == "1765"
    assert got.get("phase") == "3"
    assert got.get("hz") == "60"
    assert got.get("frame") == "254T"
    assert got.get("enclosure") == "TEFC"
    assert got.get("insulation_class") == "F"
    assert got.get("efficiency") == "93.0"
    assert got.get("service_factor") == "1.15"


def test_iec_plate_with_units_after_values_and_delta_star_voltage() -> None:
    got = parse_file("iec_motor_units_after.txt")
    assert got.get("manufacturer") == "Siemens"
    assert got.get("voltage") == "400/690"
    assert got.get("amps") == "23.0/13.3"
    assert got.get("hz") == "50"
    assert got.get("power") == "11"
    assert got.get("power_unit") == "kW"
    assert got.get("rpm") == "1460"
    assert got.get("phase") == "3"  # from "3~Mot."
    assert got.get("serial") == "N-Y21062402010024"
    assert got.get("model") == "1LE1503-1DB23-4AA4"  # found next to the serial
    assert got.get("insulation_class") == "F"  # "Th.Cl. 155(F)"


def test_iec_pump_captions_u_v_i_a_p2_min1() -> None:
    got = parse_file("iec_pump_labels.txt")
    assert got.get("manufacturer") == "Grundfos"
    assert got.get("model") == "CRE 10-3 A-FGJ-A-E-HQQE"
    assert got.get("serial") == "99389742"
    assert got.get("power") == "5.5"
    assert got.get("power_unit") == "kW"
    assert got.get("voltage") == "380-415"
    assert got.get("amps") == "10.4"
    assert got.get("rpm") == "2900"
    assert got.get("hz") == "50"
    assert got.get("enclosure") == "IP55"


def test_drive_output_ratings_are_not_input_ratings() -> None:
    got = parse_file("vfd_outputs.txt")
    assert got.get("manufacturer") == "Allen-Bradley"  # "A-B"
    assert got.get("model") == "25B-D010N104"
    assert got.get("serial") == "B5C0NP1E"
    assert got.get("voltage") == "380-480"  # not 0-460
    assert got.get("hz") == "50/60"  # not 0-500
    assert got.get("amps") == "13.8"  # not the output 10.5
    assert got.get("phase") == "3"
    assert got.get("year") == "2019"


def test_dropped_one_letter_labels_are_inferred_from_value_shapes() -> None:
    got = parse_file("dropped_labels.txt")
    assert got.get("manufacturer") == "Marathon"
    assert got.get("voltage") == "230/460"  # no "V" caption
    assert got.get("amps") == "6.2/3.1"  # no "A" caption; ratio mirrors the voltages
    assert got.get("rpm") == "1760"  # caption misread as "RPNE:"
    assert got.get("phase") == "3"  # lone "3" on the rating rows
    assert got.get("power") == "2"
    assert got.get("hz") == "60"
    labelled = got.fields["power"].confidence
    inferred = got.fields["voltage"].confidence
    assert inferred < labelled, "a value found by shape must score below a labelled one"


def test_lone_values_with_units_are_not_taken_for_ratings() -> None:
    lines = plate(
        """
        | ACME PUMP
        | 230/460
        | TANE | 60 GAL
        | 1780
        """
    )
    got = parse_nameplate(lines)
    assert got.get("voltage") == "230/460"
    assert got.get("rpm") == "1780"
    assert got.get("hz") is None  # "60 GAL" is a tank volume


@pytest.mark.parametrize(
    ("text", "voltage"),
    [
        ("V 400Δ/690Y", "400/690"),
        ("VOLTS 230Δ/400Y", "230/400"),
        ("U/V 400∆/690Y", "400/690"),
        ("V 4004/690Y", "400/690"),  # delta read as a 4
        ("V 400D/690Y", "400/690"),
        ("VOLTS 230YY/460Y", "230/460"),
        ("VOLTS 220-240Δ/380-415Y", "220-240/380-415"),
        ("INPUT V 200-240", "200-240"),
        ("VOLTAGE 575", "575"),
        ("V 380-489", "380-480"),  # one misread digit, snapped to the catalogue value
    ],
)
def test_voltage_dialects(text: str, voltage: str) -> None:
    got = parse_nameplate(plate(f"| {text}"))
    assert got.get("voltage") == voltage


@pytest.mark.parametrize(
    ("text", "power", "unit"),
    [
        ("HP 7.5", "7.5", "HP"),
        ("H.P.: 3/4", "3/4", "HP"),
        ("kW 0.75", "0.75", "kW"),
        ("KW: 22", "22", "kW"),
        ("P2 5.5", "5.5", "kW"),
        ("11 kW", "11", "kW"),
        ("HP30", "30", "HP"),
        ("H.P. 48", "40", "HP"),  # 8 for 0: not a catalogue size, one digit away from one
    ],
)
def test_power_and_unit(text: str, power: str, unit: str) -> None:
    got = parse_nameplate(plate(f"| {text}"))
    assert got.get("power") == power
    assert got.get("power_unit") == unit


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("RPM1760", "rpm", "1760"),
        ("R.P.M. 3450", "rpm", "3450"),
        ("r/min 1455", "rpm", "1455"),
        ("1475 min-1", "rpm", "1475"),
        ("400V", "voltage", "400"),
        ("50Hz", "hz", "50"),
        ("HERTZ: 50/60", "hz", "50/60"),
        ("PH: 1", "phase", "1"),
        ("SINGLE PHASE", "phase", "1"),
        ("THREE PHASE INDUCTION MOTOR", "phase", "3"),
        ("FLA 13.7", "amps", "13.7"),
        ("F.L. AMPS 86.4/43.2", "amps", "86.4/43.2"),
        ("I/A 23,3/13,4", "amps", "23.3/13.4"),  # European decimal commas
        ("SER. NO. T081052", "serial", "T081052"),
        ("S/N: 3G3977578187", "serial", "3G3977578187"),
        ("SERIAL NO.: 3594\u00d755903", "serial", "3594X55903"),  # multiplication-sign "X"
        ("CAT. NO. C286T54FB33D", "model", "C286T54FB33D"),
        ("TYPE 3GBP315648-DGK", "model", "3GBP315648-DGK"),
        ("MODEL NO.: 2475N7.5-V", "model", "2475N7.5-V"),
        ("FR. 286T", "frame", "286T"),
        ("FRAME SIZE C", "frame", "C"),
        ("MFG DATE WK49 2024", "year", "2024"),
        ("DATE: 2015-03", "year", "2015"),
        ("ENCL: XPFC", "enclosure", "XPFC"),
        ("S.F. 1.25", "service_factor", "1.25"),
        ("NEMA NOM EFF 95.4%", "efficiency", "95.4"),
        ("EFF: IE4 92.6%", "efficiency", "92.6"),
        ("INS.CL.: H", "insulation_class", "H"),
    ],
)
def test_single_captions(text: str, field: str, value: str) -> None:
    assert parse_nameplate(plate(f"| {text}")).get(field) == value


def test_stacked_label_above_value() -> None:
    lines = [
        TextLine.from_xywh("VOLTS", 100, 100, 60, 20),
        TextLine.from_xywh("AMPS", 300, 100, 50, 20),
        TextLine.from_xywh("460", 100, 130, 40, 22),
        TextLine.from_xywh("51.2", 300, 130, 45, 22),
    ]
    got = parse_nameplate(lines)
    assert got.get("voltage") == "460"
    assert got.get("amps") == "51.2"
    assert got.fields["voltage"].source == "label-below"


def test_rotated_photo_keeps_rows_apart() -> None:
    """A plate sheared by ~6 degrees: values must still pair with their own row's label."""
    lines = plate((PLATES / "nema_motor_table.txt").read_text(), angle_px_per_char=1.0)
    got = parse_nameplate(lines)
    assert got.get("voltage") == "208-230/460"
    assert got.get("rpm") == "1765"
    assert got.get("hz") == "60"
    assert got.get("power") == "15"


@pytest.mark.parametrize(
    ("line", "brand"),
    [
        ("Allen-Bradley AC DRIVE", "Allen-Bradley"),
        ("ALLEN BRADLEY", "Allen-Bradley"),
        ("A-B POWERFLEX 525", "Allen-Bradley"),
        ("MANUFACTURER: ROCKWELL AUTOMATION MILWAUKEE, WI", "Allen-Bradley"),
        ("US MOTORS SEVERE DUTY MOTOR", "Nidec"),
        ("BALDOR\u00b7RELIANCE 3 PHASE INDUCTION MOTOR", "Baldor"),
        ("GRUNDF0S", "Grundfos"),  # OCR zero for O
        ("INGERSOLL-RAND", "Ingersoll Rand"),
        ("WEG", "WEG"),
        ("MFG: ABB MOTORS AND GENERATORS", "ABB"),
        ("CUTLER-HAMMER", "Eaton"),
        ("LEROY-SOMER", "Leroy-Somer"),
    ],
)
def test_brand_aliases(line: str, brand: str) -> None:
    got = parse_nameplate(plate(f"| {line}\n| HP 5 | V 460"))
    assert got.get("manufacturer") == brand


def test_mfd_by_line_names_the_manufacturer() -> None:
    got = parse_nameplate(
        plate("| AC MOTOR\n| HP 2 | V 460\n| MFD. BY MARATHON ELECTRIC WAUSAU, WI")
    )
    assert got.get("manufacturer") == "Marathon"


def test_unknown_manufacturer_from_mfd_by_line() -> None:
    got = parse_nameplate(plate("| HP 2 | V 460\n| MFD BY ACME MOTOR CO. SPRINGFIELD, OH"))
    assert got.get("manufacturer") == "Acme Motor Co"
    assert got.fields["manufacturer"].confidence < 0.6


def test_short_brand_inside_a_code_is_not_a_brand() -> None:
    got = parse_nameplate(plate("| MODEL 3GBP ABB 315 | HP 5"))
    assert got.get("manufacturer") is None


@pytest.mark.parametrize(
    "lines",
    [
        [],
        [TextLine("", 0.0, ((0, 0), (0, 0), (0, 0), (0, 0)))],
        [TextLine("@@@ ### ~~~", 0.2, ((0, 0), (1, 0), (1, 1), (0, 1)))],
        [TextLine("V", 0.9, ((5, 5), (5, 5), (5, 5), (5, 5)))],  # zero-size box
        [TextLine("HP HP HP : : :", 0.5, ((0, 0), (300, 0), (300, 20), (0, 20)))],
        [
            TextLine(
                "\u4e2d\u6587 \u0394\u0394 \u00b0\u00b0", 0.5, ((0, 0), (90, 0), (90, 20), (0, 20))
            )
        ],
        [TextLine("9" * 500, 0.9, ((0, 0), (5000, 0), (5000, 20), (0, 20)))],
        [
            TextLine(f"A{i}", 0.5, ((i, i), (i + 9, i), (i + 9, i + 9), (i, i + 9)))
            for i in range(150)
        ],
    ],
)
def test_garbage_never_raises(lines: list[TextLine]) -> None:
    got = parse_nameplate(lines)
    assert set(got.values()) == set(FIELD_NAMES)
    assert all(0.0 <= c <= 1.0 for c in got.confidences().values())


def test_garbage_yields_no_ratings() -> None:
    got = parse_nameplate(plate("| LOREM IPSUM DOLOR\n| SIT AMET CONSECTETUR"))
    assert {k: v for k, v in got.values().items() if v is not None} == {}


def test_confidence_reflects_ocr_confidence() -> None:
    sure = parse_nameplate(plate("| HP 10 | VOLTS 460", confidence=0.99))
    unsure = parse_nameplate(plate("| HP 10 | VOLTS 460", confidence=0.55))
    assert sure.fields["voltage"].confidence > unsure.fields["voltage"].confidence
    assert 0.0 < unsure.fields["voltage"].confidence < 0.6


def test_reading_order_text() -> None:
    got = parse_file("vfd_outputs.txt")
    first, second = got.text.splitlines()[:2]
    assert first == "A-B PowerFlex 525 AC DRIVE"
    assert second == "CAT NO 25B-D010N104 SER B5C0NP1E"
