"""Normal forms and pigeonhole keys of codes (serials, model codes).

A stored code of length ``L >= MIN_SEG_LEN`` is cut into three segments and indexed under
``"L.i.segment"``. A string within ``TAU = 2`` edits of it leaves at least one segment intact,
shifted by at most the edit budget, so the query side lists, for each stored length ``L`` in
``[n - 2, n + 2]``, each segment at each allowed shift (PassJoin-style windows), plus variants
with the two characters at a segment boundary swapped (a transposition there damages two
segments). Codes shorter than ``MIN_SEG_LEN`` are indexed under their delete-2 neighbourhood
(``"d.<text>"``, SymSpell). Keys are looked up exactly in a B-tree and candidates verified with
an edit distance.

``code_keys`` must stay identical to the SQL function ``search_code_keys`` that migration 0002
uses for the backfill (a test compares them).
"""

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from ..matching import normalize

MIN_SEG_LEN = 6
"""Codes shorter than this are indexed by their delete-2 neighbourhood."""
TAU = 2
"""Edit budget the keys guarantee (Levenshtein, plus a transposition at a segment boundary)."""

PREFIX_MIN = 2
"""The last word of a query is also read as the start of a longer word from this length on
(search as you type: "grun" -> Grundfos)."""
PREFIX_SIMILARITY = 0.8
"""What a prefix match counts as, against a full match's 1.0 (and a typo's less)."""

_WORD_SPLIT = re.compile(r"[\s/,;|]+")


def norm(value: str | None) -> str:
    """Upper case, letters and digits only; ``""`` for nothing (see ``normalize.code``)."""
    return normalize.code(value) or ""


def split_words(query: str) -> list[str]:
    """Query words: split on spaces and path or list separators. Dashes and dots stay inside a
    word (they are part of codes) and are then dropped by the normal form."""
    return [w for w in (norm(x) for x in _WORD_SPLIT.split(query)) if w]


def facet_tokens(brand_key: str | None, kind: str | None, location: str | None) -> list[str]:
    """An asset's facets as the tokens of ``equipment.facets`` (the stored column that
    ``assets.search_facets`` computes, migration 0006): ``B:`` its ``manufacturer_key``,
    ``T:`` its type and ``L:`` each location segment, in normal form."""
    places = [PLACE + norm(x) for x in (location or "").split("/")]
    return [BRAND + (brand_key or ""), TYPE + norm(kind), *places]


BRAND, TYPE, PLACE = "B:", "T:", "L:"
"""Prefixes of the facet tokens."""


def runs(words: Sequence[str], longest: int = 3) -> list[tuple[int, int, str]]:
    """Every run of 1..``longest`` adjacent words, glued: ``(start, end_exclusive, text)``."""
    out = []
    for i in range(len(words)):
        for j in range(i + 1, min(len(words), i + longest) + 1):
            out.append((i, j, "".join(words[i:j])))
    return out


def _deletes2(text: str) -> set[str]:
    one = {text[:i] + text[i + 1 :] for i in range(len(text))}
    return {text} | one | {x[:i] + x[i + 1 :] for x in one for i in range(len(x))}


def code_keys(code: str) -> list[str]:
    """Keys under which a stored (normalized) code is indexed, sorted."""
    n = len(code)
    if n == 0:
        return []
    if n < MIN_SEG_LEN:
        return sorted(f"d.{x}" for x in _deletes2(code) if x)
    a = n // 3
    return [f"{n}.0.{code[:a]}", f"{n}.1.{code[a : 2 * a]}", f"{n}.2.{code[2 * a :]}"]


@lru_cache(maxsize=8192)
def query_keys(probe: str, tau: int = TAU) -> frozenset[str]:
    """Every key that a stored code within ``tau`` edits of ``probe`` can have (cached:
    location words and brands recur from query to query)."""
    n = len(probe)
    keys: set[str] = set()
    if n < MIN_SEG_LEN + tau:  # stored codes shorter than MIN_SEG_LEN
        keys.update(f"d.{x}" for x in _deletes2(probe) if x)
    for length in range(max(1, n - tau), n + tau + 1):
        if length < MIN_SEG_LEN:
            continue
        d = n - length
        a = length // 3
        starts = (0, a, 2 * a)
        lens = (a, a, length - 2 * a)
        for shift in range(max(-tau, d - tau), min(tau, d + tau) + 1):
            variants: list[tuple[str, tuple[int, ...]]] = [(probe, (0, 1, 2))]
            for boundary, pair in ((a, (0, 1)), (2 * a, (1, 2))):
                x = boundary + shift
                if 1 <= x < n:
                    swapped = probe[: x - 1] + probe[x] + probe[x - 1] + probe[x + 1 :]
                    variants.append((swapped, pair))
            for text, segs in variants:
                for i in segs:
                    pos = starts[i] + shift
                    if pos >= 0 and pos + lens[i] <= n:
                        keys.add(f"{length}.{i}.{text[pos : pos + lens[i]]}")
    return frozenset(keys)


def allowed_edits(length: int) -> int:
    """Typos tolerated in a word or code of ``length`` characters."""
    if length <= 2:
        return 0
    if length <= 4:
        return 1
    if length <= 9:
        return 2
    return 3


def edit_budget(lengths: Any) -> Any:
    """``allowed_edits`` over a numpy array of lengths."""
    n = np.asarray(lengths)
    return np.where(n <= 2, 0, np.where(n <= 4, 1, np.where(n <= 9, 2, 3)))


def is_code(text: str) -> bool:
    """Looks like a model code or serial: three characters or more with a digit."""
    return len(text) >= 3 and any(c.isdigit() for c in text)
