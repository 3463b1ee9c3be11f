"""What inline buttons carry back (Telegram allows 64 bytes of ``callback_data``).

Buttons name things by their short human numbers (``WO-2026-000123``, ``EQ-2026-000045``) and
scans by their id in hex, never by anything the user could not see anyway: the handler still
acts as the user who pressed, so a forwarded or forged button grants nothing.
"""

from aiogram.filters.callback_data import CallbackData


class WoCb(CallbackData, prefix="wo"):
    """A work order button: ``view``, a status change checked against ``version``,
    ``override`` (an admin completing it with required checklist items open) or ``files``
    (send its attachments)."""

    action: str
    number: str
    version: int = 0


class WoListCb(CallbackData, prefix="wl"):
    scope: str
    offset: int = 0


class EqListCb(CallbackData, prefix="el"):
    offset: int = 0


class EqCb(CallbackData, prefix="eq"):
    """``view`` an asset, start ``new_wo`` (a work order on it) or ``read`` one of its meters."""

    action: str
    number: str


class ReadCb(CallbackData, prefix="rd"):
    """A meter (its id in hex) chosen for a reading: ``value`` is the reading typed with
    ``/reading`` (recorded at once), empty when the bot is to ask for it."""

    meter: str
    value: str = ""


class CheckCb(CallbackData, prefix="ck"):
    """A checklist item of a work order, by its position (1 = the first): ``done`` (a
    ``check`` item), ``pass`` or ``fail`` (a ``pass_fail`` item), ``value`` (ask for the
    reading of a ``number`` item)."""

    action: str
    number: str
    item: int


class ScanCb(CallbackData, prefix="sc"):
    """A decision on a nameplate scan: ``ok``, ``fix``, ``new``, ``merge`` (``pick`` = index of
    the candidate) or ``check`` (look again)."""

    action: str
    scan: str
    pick: int = -1


class CreateCb(CallbackData, prefix="cr"):
    """A step of ``/wo create``: ``eq`` (choose an asset), ``prio`` (priority), ``stop``."""

    action: str
    value: str = ""


class StartCb(CallbackData, prefix="st"):
    """Onboarding: ``link`` (how to link an account) or ``workspace`` (create one)."""

    action: str


class FileCb(CallbackData, prefix="fl"):
    """A photo or file kept for the chat (``file``, its id in ``pending_files``): ``pick`` (list
    open orders to put it on), ``to`` (attach it to ``number``) or ``drop``; ``scan`` (no file):
    the next photo is a nameplate scan."""

    action: str
    file: int = 0
    number: str = ""
