"""Coverage ranking of candidate assets (rapidfuzz + numpy, a few hundred rows at most).

Each asset has tokens (brand, its words and aliases, model and its parts, brand+model glued,
serial, equipment number, location segments and their words, type and its words, name words).
The query words are segmented into runs of 1 to 6 words by dynamic programming; each run is
matched to its best token (OSA similarity within the run's edit budget, weighted by the run's
length; the last word may also be the start of a token, at ``PREFIX_WEIGHT``: search as you
type). The score is the share of the query's characters so explained, 0-100. ``matched_on`` is
the field whose tokens explained the most. Equal scores: most recently changed first.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from uuid import UUID

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from . import brands
from .keys import PREFIX_MIN, PREFIX_SIMILARITY, edit_budget, norm, runs, split_words

SIBLING_PENALTY = 0.5
"""Points the k-th asset of one (brand, model) loses per earlier sibling on the page, so a
near-identical other model is not pushed off the page by a thousand copies of one."""


MAX_RUN = 6
"""Longest run of query words matched as one token ("atv 320 u15 n4c" is one model code)."""


@dataclass(frozen=True)
class Ranked:
    id: UUID
    score: float
    matched_on: str


@lru_cache(maxsize=4096)
def _brand_model_tokens(manufacturer: str, model: str, model_norm: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    brand = norm(manufacturer)
    if brand:
        out += [(a, "manufacturer") for a in brands.aliases(manufacturer)]
        out += [(w, "manufacturer") for w in brands.words(manufacturer) if w != brand]
    if model_norm:
        out.append((model_norm, "model"))
        parts = split_words(model.replace("-", " ").replace(".", " "))
        out += [(w, "model") for w in parts if len(w) > 1 and w != model_norm]
        if brand:
            out.append((brand + model_norm, "model"))
    return out


@lru_cache(maxsize=4096)
def _text_tokens(value: str, field: str, segments: bool) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for segment in value.split("/") if segments else [value]:
        if whole := norm(segment):
            out.append((whole, field))
            out += [(w, field) for w in split_words(segment) if len(w) > 1 and w != whole]
    return out


def _tokens(row: Mapping[Any, Any]) -> list[tuple[str, str]]:
    """(token, field) pairs of a candidate row."""
    out = list(
        _brand_model_tokens(row["manufacturer"] or "", row["model"] or "", row["model_norm"] or "")
    )
    if row["serial_norm"]:
        out.append((row["serial_norm"], "serial"))
    number = norm(row["number"])
    if number:
        out += [(number, "number"), (number[2:], "number"), (number[-6:], "number")]
    if row["location"]:
        out += _text_tokens(row["location"], "location", True)
    if row["equipment_type"]:
        out += _text_tokens(row["equipment_type"], "equipment_type", False)
    if row["name"]:
        out += _text_tokens(row["name"], "name", False)
    return out


_FIELD_ORDER = ("serial", "number", "model", "manufacturer", "location", "equipment_type", "name")


def rank(
    query: str,
    rows: Sequence[Mapping[Any, Any]],
    limit: int,
    listed: frozenset[UUID] = frozenset(),
) -> list[Ranked]:
    """The ``limit`` best rows for ``query``, best first (ties: most recently changed, then
    equipment number). Rows in ``listed`` came from a facet's list (a brand's, a place's
    assets, newest first; several lists are alternatives): they stay newest first among
    themselves, take no sibling penalty and count as no one's sibling, so a longer list (a
    later page) never reorders the rows of a shorter one."""
    words = split_words(query)
    if not rows or not words:
        return []
    longest = min(len(words), MAX_RUN)
    segs = runs(words, longest)
    seg_text = [s for _, _, s in segs]
    seg_index = {(i, j): k for k, (i, j, _) in enumerate(segs)}
    total = sum(len(w) for w in words)
    row_tokens = [_tokens(r) for r in rows]
    vocab: dict[str, int] = {}
    for toks in row_tokens:
        for tok, _ in toks:
            vocab.setdefault(tok, len(vocab))
    if not vocab:
        return []
    vlist = list(vocab)
    dist = process.cdist(seg_text, vlist, scorer=OSA.distance, workers=1, dtype=np.int32)
    seg_len = np.array([len(s) for s in seg_text], dtype=np.float64)[:, None]
    tok_len = np.array([len(t) for t in vlist], dtype=np.float64)[None, :]
    budget = edit_budget(seg_len)
    gain = np.where(dist <= budget, seg_len * (1.0 - dist / np.maximum(seg_len, tok_len)), 0.0)
    n = len(words)
    last = words[-1]
    if len(last) >= PREFIX_MIN:  # the last word as the start of a token
        k = seg_index[(n - 1, n)]
        starts = np.array([t.startswith(last) for t in vlist])
        gain[k] = np.where(starts, np.maximum(gain[k], len(last) * PREFIX_SIMILARITY), gain[k])
    scored: list[tuple[float, int, str]] = []
    for ri, toks in enumerate(row_tokens):
        cols = np.fromiter((vocab[t] for t, _ in toks), dtype=np.int64, count=len(toks))
        if not len(cols):
            scored.append((0.0, ri, "number"))
            continue
        sub = gain[:, cols]
        best_col = sub.argmax(axis=1)
        g = sub[np.arange(len(segs)), best_col]
        best = [0.0] * (n + 1)
        back: list[tuple[int, int]] = [(-1, -1)] * (n + 1)  # (start, segment) of the last run
        for j in range(1, n + 1):
            best[j], back[j] = best[j - 1], (j - 1, -1)
            for i in range(max(0, j - longest), j):
                k = seg_index[(i, j)]
                v = best[i] + g[k]
                if v > best[j]:
                    best[j], back[j] = v, (i, k)
        by_field: dict[str, float] = {}
        j = n
        while j > 0:
            i, k = back[j]
            if k >= 0 and g[k] > 0:
                field = toks[int(best_col[k])][1]
                by_field[field] = by_field.get(field, 0.0) + float(g[k])
            j = i
        matched = max(_FIELD_ORDER, key=lambda f: by_field.get(f, 0.0)) if by_field else "number"
        scored.append((best[n] / total * 100.0, ri, matched))
    scored.sort(key=lambda x: (-x[0], _newest_first(rows[x[1]])))
    seen: dict[tuple[str, str], int] = {}
    found: list[tuple[float, float, int, str]] = []
    for score, ri, matched in scored:
        row = rows[ri]
        if row["id"] in listed:
            continue
        group = (row["manufacturer_key"] or "", row["model_norm"] or "")
        earlier = seen.get(group, 0)
        seen[group] = earlier + 1
        found.append((score - SIBLING_PENALTY * earlier, score, ri, matched))
    found.sort(key=lambda x: (-x[0], _newest_first(rows[x[2]])))
    by_row = {ri: (score, matched) for score, ri, matched in scored}
    in_list = sorted(
        (
            (by_row[ri][0], by_row[ri][0], ri, by_row[ri][1])
            for ri, row in enumerate(rows)
            if row["id"] in listed
        ),
        key=lambda x: (rows[x[2]]["updated_at"], rows[x[2]]["id"]),
        reverse=True,
    )  # fmt: skip; the lists' own order (repository.facet_rows)
    return [
        Ranked(rows[ri]["id"], round(min(score, 100.0), 1), matched)
        for _, score, ri, matched in _merge(found, in_list, limit)
    ]


def _merge(
    found: list[tuple[float, float, int, str]],
    in_list: list[tuple[float, float, int, str]],
    limit: int,
) -> list[tuple[float, float, int, str]]:
    """The first ``limit`` of two sequences merged by score, each kept in its own order: the
    rows found by their codes (best first) and the rows of the facet lists (newest first). The
    first k merged rows depend only on the first k of each sequence, so a later page, which
    reads a longer list, keeps the earlier pages' rows where they were."""
    out: list[tuple[float, float, int, str]] = []
    i = j = 0
    while len(out) < limit and (i < len(found) or j < len(in_list)):
        if j >= len(in_list) or (i < len(found) and found[i][0] >= in_list[j][0]):
            out.append(found[i])
            i += 1
        else:
            out.append(in_list[j])
            j += 1
    return out


def _newest_first(row: Mapping[Any, Any]) -> tuple[float, str]:
    """Tie-break: the most recently changed asset first, then the equipment number."""
    changed = row["updated_at"]
    return (-changed.timestamp() if changed is not None else 0.0, row["number"])
