"""The lifecycle rules: edits move an asset only between in and out of service."""

import pytest

from rivet_assets.equipment import lifecycle
from rivet_contracts import ErrorCode, ServiceError
from rivet_contracts.assets import EquipmentStatus
from rivet_contracts.identity import Role

IN, OUT, RETIRED = (
    EquipmentStatus.IN_SERVICE,
    EquipmentStatus.OUT_OF_SERVICE,
    EquipmentStatus.RETIRED,
)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("old", "new"), [(IN, OUT), (OUT, IN), (IN, IN), (RETIRED, RETIRED)])
def test_edits_between_in_and_out_of_service_are_anyones(
    old: EquipmentStatus, new: EquipmentStatus, role: Role
) -> None:
    lifecycle.check_edit(old, new, role)


@pytest.mark.parametrize(
    ("old", "new"), [(IN, RETIRED), (OUT, RETIRED), (RETIRED, IN), (RETIRED, OUT)]
)
@pytest.mark.parametrize(
    ("role", "code"),
    [
        (Role.VIEWER, ErrorCode.FORBIDDEN),
        (Role.TECHNICIAN, ErrorCode.FORBIDDEN),
        (Role.ADMIN, ErrorCode.VALIDATION),
    ],
)
def test_an_edit_never_retires_or_reinstates(
    old: EquipmentStatus, new: EquipmentStatus, role: Role, code: ErrorCode
) -> None:
    with pytest.raises(ServiceError) as refused:
        lifecycle.check_edit(old, new, role)
    assert refused.value.info.code == code
    if code == ErrorCode.VALIDATION:
        route = "retire" if new == RETIRED else "reinstate"
        assert f"/{route}" in refused.value.info.message


@pytest.mark.parametrize("role", list(Role))
def test_a_new_asset_starts_in_or_out_of_service(role: Role) -> None:
    lifecycle.check_new(IN, role, None)
    lifecycle.check_new(OUT, role, None)


@pytest.mark.parametrize(
    ("role", "reason", "code"),
    [
        (Role.TECHNICIAN, "retired in the imported register", ErrorCode.FORBIDDEN),
        (Role.VIEWER, None, ErrorCode.FORBIDDEN),
        (Role.ADMIN, None, ErrorCode.VALIDATION),
    ],
)
def test_only_an_admin_with_a_reason_registers_a_retired_asset(
    role: Role, reason: str | None, code: ErrorCode
) -> None:
    with pytest.raises(ServiceError) as refused:
        lifecycle.check_new(RETIRED, role, reason)
    assert refused.value.info.code == code
    lifecycle.check_new(RETIRED, Role.ADMIN, "retired in the imported register")


def test_retire_and_reinstate_need_the_other_state() -> None:
    lifecycle.check_retire(IN, "EQ-1")
    lifecycle.check_reinstate(RETIRED, "EQ-1")
    for check, status in ((lifecycle.check_retire, RETIRED), (lifecycle.check_reinstate, IN)):
        with pytest.raises(ServiceError) as refused:
            check(status, "EQ-1")
        assert refused.value.info.code == ErrorCode.CONFLICT
