"""Value-shape parsers and the brand table."""

from __future__ import annotations

import pytest

from rivet_contracts import brands as shared
from rivet_ocr.scanner import brands
from rivet_ocr.scanner import values as v


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("230/460", "230/460"),
        ("208-230/460", "208-230/460"),
        ("400\u0394/690Y", "400/690"),
        ("400A/690Y", "400/690"),  # delta read as A
        ("2305/400Y", "230/400"),  # delta read as a digit
        ("460V", "460"),
        ("86.4/43.2", None),  # decimals: a current
        ("460/230", None),  # decreasing: a current, not a dual voltage
        ("0-480", None),  # an output range starts at 0
        ("hello", None),
    ],
)
def test_parse_voltage(raw: str, expected: str | None) -> None:
    assert v.parse_voltage(raw) == expected


def test_strict_voltage_needs_standard_or_multi_value() -> None:
    assert v.parse_voltage("460", strict=True) == "460"
    assert v.parse_voltage("437", strict=True) is None
    assert v.parse_voltage("100", strict=True) is None  # too ambiguous without a caption
    assert v.parse_voltage("380-415", strict=True) == "380-415"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("86.4/43.2", "86.4/43.2"),
        ("170-162/81.2", "170-162/81.2"),
        ("13.0", "13.0"),
        ("1O.5", "10.5"),  # letter O for zero
        ("23,3/13,4", "23.3/13.4"),
        ("43.2/86.4", None),  # currents do not increase with the voltage
    ],
)
def test_parse_amps(raw: str, expected: str | None) -> None:
    assert v.parse_amps(raw) == expected


def test_amps_repair_uses_the_voltage_ratio() -> None:
    assert v.repair_amps("06.6/43.3", "230/460") == "86.6/43.3"
    assert v.repair_amps("11.8/6.8", "400/690") is None  # nothing to repair
    assert v.repair_amps("17.0", "460") is None


@pytest.mark.parametrize(
    ("raw", "strict", "expected"),
    [
        ("1760", True, "1760"),
        ("1455", True, "1455"),
        ("2950", True, "2950"),
        ("1950", True, None),  # a year, not a running speed
        ("1950", False, "1950"),
        ("589", True, None),  # 12-pole speeds need a caption
    ],
)
def test_parse_rpm(raw: str, strict: bool, expected: str | None) -> None:
    assert v.parse_rpm(raw, strict=strict) == expected


def test_hz_and_phase() -> None:
    assert v.parse_hz("50/60") == "50/60"
    assert v.parse_hz("6O") == "60"
    assert v.parse_hz("58/60") == "50/60"  # snapped after a caption ...
    assert v.parse_hz("58", strict=True) is None  # ... never without one
    assert v.parse_phase("3") == "3"
    assert v.parse_phase("THREE") == "3"
    assert v.parse_phase("1~") == "1"
    assert v.parse_phase("2") is None


def test_power_catalogue() -> None:
    assert v.parse_power("3/4") == "3/4"
    assert v.parse_power("4/3") is None
    assert v.snap_power("48", "HP") == "40"
    assert v.snap_power("40", "HP") is None
    assert v.snap_power("5.5", "kW") is None
    assert v.power_plausibility("7.5", "HP") == 1.0
    assert v.power_plausibility("7.3", "HP") < 0.5


def test_codes_dates_classes() -> None:
    assert v.parse_code("C286T54FB33D") == "C286T54FB33D"
    assert v.parse_code("TEFC") is None  # no digit: a word
    assert v.parse_year("WK04 2024") == "2024"
    assert v.parse_year("10/2014") == "2014"
    assert v.parse_insulation("155(F)") == "F"
    assert v.parse_enclosure("IP20/NEMA 1") == "IP20"
    assert v.parse_efficiency("IE3 91.4%") == "91.4"


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("A-B", "Allen-Bradley"),
        ("allen bradley", "Allen-Bradley"),
        ("Rockwell Automation", "Allen-Bradley"),
        ("U.S. Motors", "Nidec"),
        ("Baldor-Reliance", "Baldor"),
        ("weg", "WEG"),
        ("Cutler-Hammer", "Eaton"),
        ("AB", "Allen-Bradley"),  # an alias written without its spaces ("A B")
        ("USMotors", "Nidec"),
        ("Unknown Pumps", None),
    ],
)
def test_canonical(alias: str, name: str | None) -> None:
    assert brands.canonical(alias) == name


def test_one_brand_vocabulary() -> None:
    """The scanner normalises and resolves brands with the contracts' functions, as the assets
    service does: what a plate yields files under the name the register uses."""
    assert brands.BRANDS is shared.BRANDS
    assert brands.canonical is shared.canonical
    assert brands.normalize is shared.normalize


def test_every_brand_resolves_to_itself() -> None:
    for name in brands.BRANDS:
        assert brands.canonical(name) == name


def test_find_brands_tolerates_one_ocr_error_in_long_names() -> None:
    assert brands.find_brands("MARATH0N ELECTRIC")[0].name == "Marathon"
    assert brands.find_brands("INGERSOL RAND")[0].name == "Ingersoll Rand"
    assert brands.find_brands("GRUNDFQS")[0].name == "Grundfos"
    assert brands.find_brands("SIEMEN")[0].name == "Siemens"
    assert brands.find_brands("MOTOR PUMP DRIVE") == ()


def test_short_aliases_only_at_line_start_or_after_maker_caption() -> None:
    assert brands.find_brands("ABB PREMIUM MOTOR")[0].name == "ABB"
    assert brands.find_brands("MFR: WEG")[0].name == "WEG"
    assert brands.find_brands("TYPE 3GBP ABB 12") == ()


def test_company_from_unknown_maker_line() -> None:
    assert brands.company_from_text("ACME MOTOR CO. SPRINGFIELD, OH") == "Acme Motor Co"
    assert brands.company_from_text("ZENITH PUMPS FRESNO, CA") == "Zenith Pumps"
    assert brands.company_from_text("12 34") is None
