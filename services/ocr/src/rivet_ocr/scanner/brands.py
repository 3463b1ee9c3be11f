"""Manufacturer names: canonical spelling and the ways plates (and OCR) write them.

The canonical name is what the asset register stores, so a plate that says "A-B", "Allen
Bradley" or "Rockwell Automation" files under one manufacturer.  Brand lines that were sold to
another group keep their own name (Baldor stays Baldor, Leeson stays Leeson) except where the
plate itself is a sub-brand label of the maker: US MOTORS plates are made and serviced by Nidec
Motor Corporation, so they file under Nidec.

The table, its normal form (``normalize``) and the exact alias lookup (``canonical``) live in
``rivet_contracts.brands``, shared with the assets service (extend the table there). This module
adds what only plates need: finding brands inside a line of text, as whole words, and for names
of five letters or more also with one OCR error (two from nine).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from rapidfuzz.distance import Levenshtein

from rivet_contracts.brands import BRANDS, canonical, normalize

__all__ = ["BRANDS", "BrandMatch", "canonical", "company_from_text", "find_brands", "normalize"]

_OCR_LETTERS: Final = str.maketrans(
    {"0": "O", "1": "I", "5": "S", "8": "B", "6": "G", "|": "I", "$": "S"}
)


_MAKER_WORDS: Final = frozenset({"MFR", "MFG", "MFD", "BY", "MANUFACTURER", "MAKER", "MAKE"})


@dataclass(frozen=True, slots=True)
class BrandMatch:
    name: str
    quality: float  # 1.0 exact, lower for an OCR-tolerant match
    word_index: int  # where in the line the alias starts
    alias: str


@dataclass(frozen=True, slots=True)
class _Alias:
    words: tuple[str, ...]
    compact: str
    brand: str


@lru_cache(maxsize=1)
def _aliases() -> tuple[_Alias, ...]:
    entries: list[_Alias] = []
    for brand, aliases in BRANDS.items():
        for alias in {normalize(brand), *map(normalize, aliases)}:
            words = tuple(alias.split())
            entries.append(_Alias(words, "".join(words), brand))
    # Longer aliases first, so "BALDOR RELIANCE" wins over "RELIANCE".
    entries.sort(key=lambda e: (-len(e.words), -len(e.compact)))
    return tuple(entries)


@lru_cache(maxsize=1)
def _by_words() -> dict[tuple[str, ...], _Alias]:
    return {a.words: a for a in reversed(_aliases())}


@lru_cache(maxsize=1)
def _by_compact() -> dict[str, _Alias]:
    return {a.compact: a for a in reversed(_aliases()) if len(a.compact) >= 5}


_MAX_ALIAS_WORDS = 4


@lru_cache(maxsize=2048)
def find_brands(text: str) -> tuple[BrandMatch, ...]:
    """All brand mentions in one line of text, best first.

    Short aliases (three letters or less: ABB, WEG, GE, "A B") only count as the first word
    of the line (where a logo puts them) or right after "MFR" / "MFD BY"; elsewhere they are
    too likely to be part of a code.  An OCR-tolerant match (one edit, two from nine
    letters) is only tried when the line has no exact mention.
    """
    words = normalize(text).split()
    found: list[BrandMatch] = []
    taken: set[int] = set()

    def allowed(alias: _Alias, start: int) -> bool:
        if taken.intersection(range(start, start + len(alias.words))):
            return False
        return len(alias.compact) > 3 or start == 0 or words[start - 1] in _MAKER_WORDS

    by_words, by_compact = _by_words(), _by_compact()
    for n in range(min(_MAX_ALIAS_WORDS, len(words)), 0, -1):
        for start in range(len(words) - n + 1):
            window = tuple(words[start : start + n])
            alias = by_words.get(window)
            quality = 1.0
            if alias is None:
                alias = by_compact.get("".join(window).translate(_OCR_LETTERS))
                quality = 0.95
            if alias is not None and allowed(alias, start):
                found.append(BrandMatch(alias.brand, quality, start, " ".join(alias.words)))
                taken.update(range(start, start + n))
    if not found:
        for n in range(min(_MAX_ALIAS_WORDS, len(words)), 0, -1):
            for start in range(len(words) - n + 1):
                joined = "".join(words[start : start + n]).translate(_OCR_LETTERS)
                if len(joined) < 4:
                    continue
                for alias in by_compact.values():
                    limit = 1 if len(alias.compact) < 9 else 2
                    dist = Levenshtein.distance(joined, alias.compact, score_cutoff=limit)
                    if dist <= limit and allowed(alias, start):
                        quality = 0.85 - 0.1 * (dist - 1)
                        found.append(BrandMatch(alias.brand, quality, start, alias.compact))
                        taken.update(range(start, start + n))
                        break
    # Run-together words ("ALLENBRADLEYDRIVE") on the compact line.
    if not found:
        compact_line = "".join(words)
        for alias in _aliases():
            if len(alias.compact) >= 8 and alias.compact in compact_line:
                found.append(BrandMatch(alias.brand, 0.9, 0, alias.compact))
                break
    found.sort(key=lambda m: (-m.quality, m.word_index))
    return tuple(found)


_COMPANY_SUFFIX: Final = re.compile(
    r"^(.*\b(?:CO|CORP|CORPORATION|INC|LTD|LLC|GMBH|AG|SA|S A|A S|AB|SPA|S P A|PLC|BV|"
    r"COMPANY|ELECTRIC|ELECTRICAL|MOTORS?|PUMPS?|INDUSTRIES|GROUP))\b"
)


def company_from_text(text: str) -> str | None:
    """Best-effort company name from an unknown "MFD BY" value.

    Keeps the words up to a company suffix (``ACME MOTOR CO. SPRINGFIELD, OH`` ->
    ``Acme Motor Co``); without a suffix, drops a trailing ``CITY, ST``.
    """
    cleaned = " ".join(text.replace(",", " , ").split())
    before_comma = cleaned.split(",")[0]
    match = _COMPANY_SUFFIX.match(normalize(before_comma))
    if match:
        name = match.group(1)
    else:
        head = cleaned.split(",")[0].split()
        if len(head) >= 3:
            head = head[:-1]  # "ACME PUMPS FRESNO, CA" -> drop the city
        name = normalize(" ".join(head))
    name = name.strip()
    if len(name) < 2 or not re.search(r"[A-Z]{2}", name):
        return None
    return " ".join(_SUFFIX_CASE.get(w, w if len(w) <= 3 else w.capitalize()) for w in name.split())


_SUFFIX_CASE: Final = {
    "CO": "Co",
    "INC": "Inc",
    "LTD": "Ltd",
    "CORP": "Corp",
    "GMBH": "GmbH",
    "SPA": "SpA",
    "COMPANY": "Company",
}
