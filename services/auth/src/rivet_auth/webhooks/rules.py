"""Who is mailed about a disabled endpoint. Pure."""

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

PLACEHOLDER_DOMAIN = ".invalid"
"""Accounts born in Telegram have an address under ``.invalid`` until they prove a real one."""

Admin = TypeVar("Admin", bound=Mapping[Any, Any])


def recipients(admins: Iterable[Admin]) -> list[Admin]:
    """Admins with an address mail can reach: verified, or given at sign-up or invitation
    (a known address); never a chat account's placeholder."""
    return [a for a in admins if not str(a["email"]).endswith(PLACEHOLDER_DOMAIN)]
