"""Query planning: which probes, keys, models and locations a query stands for."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from . import brands
from .keys import (
    PREFIX_MIN,
    PREFIX_SIMILARITY,
    edit_budget,
    is_code,
    norm,
    query_keys,
    runs,
    split_words,
)

MAX_MODELS = 12
"""Model terms whose rows are fetched."""
MAX_CODE_LEN = 24
"""Longer probes are not codes."""
MAX_CODE_PROBES = 10
MAX_SERIAL_PROBES = 3
LOCATION_MIN_SIMILARITY = 0.75
BRAND_BONUS = 0.05
"""Added to a model term's similarity when the query names its brand."""

_NUMBER = re.compile(r"^(?:EQ)?(\d{4})(\d{6})$")


@dataclass
class Plan:
    """What to look up for a query."""

    words: list[str]
    runs: list[tuple[int, int, str]]
    compact: str
    code_probes: list[str]
    serial_probes: list[str]
    numbers: list[str]
    code_keys: list[str] = field(default_factory=list)
    serial_keys: list[str] = field(default_factory=list)

    @property
    def prefix(self) -> str | None:
        """The last word, read as the start of a longer one (search as you type)."""
        last = self.words[-1]
        return last if len(last) >= PREFIX_MIN else None


def plan(query: str) -> Plan | None:
    words = split_words(query)
    if not words:
        return None
    segs = runs(words)
    compact = "".join(words)
    # the whole query, each whitespace-separated chunk ("QUINT-PS/1AC/24DC/20"), then runs of
    # 1 to 4 words glued ("6es7 214-1ag40" -> 6ES72141AG40), shortest first
    chunks = [c for c in (norm(x) for x in query.split()) if c]
    by_length = [x for n in (1, 2, 3, 4) for i, j, x in runs(words, 4) if j - i == n]
    code_probes = list(
        dict.fromkeys(
            x for x in [compact, *chunks, *by_length] if is_code(x) and len(x) <= MAX_CODE_LEN
        )
    )[:MAX_CODE_PROBES]
    # whole query, or code-like words of 5+ characters (shorter ones only alone)
    serial_probes = [x for x in code_probes if x == compact or (len(x) >= 5 and x in words)]
    serial_probes = serial_probes[:MAX_SERIAL_PROBES]
    numbers = []
    for text in dict.fromkeys([*(s for _, _, s in segs), compact]):
        if m := _NUMBER.match(text):
            numbers.append(f"EQ-{m.group(1)}-{m.group(2)}")
    p = Plan(words, segs, compact, code_probes, serial_probes, numbers)
    p.code_keys = sorted(set().union(*(query_keys(x) for x in code_probes)))
    p.serial_keys = sorted(set().union(*(query_keys(x) for x in serial_probes)))
    return p


@dataclass
class Choice:
    """Models to fetch rows of (best first), and the facets the query names: location
    segments (in query order), brands (``manufacturer_key``), equipment types (normal form)."""

    models: list[tuple[str, str]]
    locations: list[str]
    brands: set[str]
    types: set[str] = field(default_factory=set)

    @property
    def facets(self) -> bool:
        return bool(self.locations or self.brands or self.types)


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def choose(p: Plan, terms: Sequence[Mapping[Any, Any]]) -> Choice:
    """Match the query's runs against the dictionary: model terms (already near a code probe),
    brands (with the catalogue's aliases) and location segments."""
    seg_text = list(dict.fromkeys(s for _, _, s in p.runs if len(s) >= 2))
    brand_keys: set[str] = set()
    for s in seg_text:
        brand_keys.update(brands.canonical_keys(s))
    if not terms:
        return Choice([], [], brand_keys)
    probes = seg_text + ([p.compact] if p.compact not in seg_text else [])
    # candidate strings: each term's normal form, plus the aliases of brand terms
    names: list[str] = []
    owner: list[int] = []
    for ti, t in enumerate(terms):
        forms = brands.aliases(t["display"]) if t["kind"] == "b" else (t["norm"],)
        for form in forms or (t["norm"],):
            names.append(form)
            owner.append(ti)
    dist = process.cdist(probes, names, scorer=OSA.distance, workers=1, dtype=np.int32)
    plen = np.array([len(x) for x in probes])[:, None]
    nlen = np.array([len(x) for x in names])[None, :]
    budget = edit_budget(np.minimum(plen, nlen))
    sim_names = np.where(dist <= budget, 1.0 - dist / np.maximum(plen, nlen), 0.0)
    if p.prefix is not None and p.prefix in probes:
        row = probes.index(p.prefix)
        starts = np.array([n.startswith(p.prefix) and n != p.prefix for n in names])
        sim_names[row] = np.where(
            starts, np.maximum(sim_names[row], PREFIX_SIMILARITY), sim_names[row]
        )
    # per term: best over its forms
    own = np.array(owner)
    sim_terms = np.zeros((len(probes), len(terms)))
    np.maximum.at(sim_terms.T, own, sim_names.T)
    kinds = np.array([t["kind"] for t in terms])
    keep_loc = np.zeros(len(terms), dtype=bool)
    loc_start: dict[int, int] = {}  # location term -> first query word of the run naming it
    is_loc = kinds == "l"
    if is_loc.any():
        # greedy, most characters explained first (then the closer match): a run names the
        # segment it matches best (at most two ties) and its words are not used again, so
        # "chiller room" beats "room" ~ "Roof", and "compressor room" is not taken by
        # "10 compresor room" when the query says "line 10"
        lsim = np.where(is_loc[None, :], sim_terms, 0.0)
        best_sim = lsim.max(axis=1)
        explained = np.round(best_sim * np.array([len(x) for x in probes]), 6)
        span = {x: (i, j) for i, j, x in reversed(p.runs)}
        used: set[int] = set()
        for pi in sorted(range(len(probes)), key=lambda k: (-explained[k], -best_sim[k])):
            ij = span.get(probes[pi])
            if ij is None:
                continue
            row = lsim[pi]
            b = row.max()
            if b < LOCATION_MIN_SIMILARITY or used.intersection(range(*ij)):
                continue
            best_cols = np.nonzero(row >= b - 1e-9)[0]
            if len(best_cols) > 2:
                continue
            keep_loc[best_cols] = True
            for col in best_cols:
                loc_start.setdefault(int(col), ij[0])
            used.update(range(*ij))
    sim = sim_terms.max(axis=0)
    models: dict[tuple[str, str], float] = {}
    locations: dict[str, int] = {}
    types: set[str] = set()
    for ti, t in enumerate(terms):
        if sim[ti] <= 0:
            continue
        kind = t["kind"]
        if kind == "m":
            key = (t["norm"], t["brand"])
            models[key] = max(models.get(key, 0.0), float(sim[ti]))
        elif kind == "b":
            brand_keys.add(t["brand"])
        elif kind == "l" and keep_loc[ti]:
            locations[t["display"]] = loc_start[ti]
        elif kind == "t":
            types.add(t["norm"])
    ranked = sorted(
        models.items(),
        key=lambda kv: (-(kv[1] + (BRAND_BONUS if kv[0][1] in brand_keys else 0.0)), kv[0][0]),
    )
    return Choice(
        [k for k, _ in ranked[:MAX_MODELS]],
        sorted(locations, key=locations.__getitem__),
        brand_keys,
        types,
    )


def location_patterns(locations: Sequence[str]) -> tuple[list[str], list[str]]:
    """ILIKE patterns: any of the segments; all of them in query order (two or more)."""
    any_of = [f"%{_like(d)}%" for d in locations]
    all_of = ["%" + "%".join(_like(d) for d in locations) + "%"] if len(locations) > 1 else []
    return any_of, all_of
