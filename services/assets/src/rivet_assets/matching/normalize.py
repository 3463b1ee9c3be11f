"""Normal forms used to compare what people and OCR write."""

import re
from functools import lru_cache

from rivet_contracts import brands

_NOT_ALNUM = re.compile(r"[^0-9A-Z]+")


def code(value: str | None) -> str | None:
    """Serials and model codes: upper case, letters and digits only (``g-120 c`` -> ``G120C``).

    Punctuation and spacing differ between plates, spreadsheets and OCR; the characters do not.
    """
    if value is None:
        return None
    normal = _NOT_ALNUM.sub("", value.upper())
    return normal or None


def manufacturer(value: str) -> tuple[str, str]:
    """(display name, comparison key). Known brands become their canonical name; unknown ones
    keep the caller's spelling, compared case- and punctuation-insensitively."""
    name = brands.canonical(value) or " ".join(value.split())
    return name, brands.normalize(name).lower()


@lru_cache(maxsize=65536)
def words(value: str | None) -> str:
    """Free text (locations, names) for token comparisons."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", (value or "").lower()).split())
