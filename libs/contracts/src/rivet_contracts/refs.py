"""How callers name a numbered thing: by its id (a UUID) or by its human number.

Assets are numbered ``EQ-<year>-<6 digits>`` (``EQ-2026-000123``), work orders
``WO-<year>-<6 digits>``. Every request that takes a reference (``EquipmentRef``,
``WorkOrderRef``) accepts either form, the number in any case; ``parse_ref`` is the one reading
of it.
"""

from typing import Final
from uuid import UUID

EQUIPMENT_PREFIX: Final = "EQ-"
"""Equipment numbers: ``EQ-2026-000123``."""
WORK_ORDER_PREFIX: Final = "WO-"
"""Work order numbers: ``WO-2026-000123``."""


def format_number(prefix: str, year: int, sequence: int) -> str:
    """The number of the ``sequence``-th thing of ``year``: ``EQ-2026-000123``."""
    return f"{prefix}{year}-{sequence:06d}"


def parse_ref(ref: str, prefix: str) -> UUID | str:
    """A reference as an id or a number: a ``UUID``, or, when ``ref`` starts with ``prefix`` in
    any case, the number in upper case (``eq-2026-000123`` -> ``"EQ-2026-000123"``).

    Raises ``ValueError`` when ``ref`` is neither (callers answer with their own message).
    """
    if ref.upper().startswith(prefix):
        return ref.upper()
    return UUID(ref)
