"""Query planning: which probes, keys, models and locations a query stands for."""

import re
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from . import brands
from .keys import (
    BRAND,
    PLACE,
    PREFIX_MIN,
    PREFIX_SIMILARITY,
    TYPE,
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
MAX_CODE_PROBES = 16
MAX_SERIAL_PROBES = 6
MIN_LETTER_SERIAL = 6
"""A word without a digit is tried as a serial from this length on, when it names no brand,
type or place ("ABFKYETAZJ")."""
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
    serial_candidates: list[tuple[str, int, int]]
    """Probes that may be a serial, best first, with the query words they span."""
    numbers: list[str]
    code_keys: list[str] = field(default_factory=list)

    @property
    def prefix(self) -> str | None:
        """The last word, read as the start of a longer one (search as you type)."""
        last = self.words[-1]
        return last if len(last) >= PREFIX_MIN else None

    def serial_probes(self, used: set[int], model: Set[int] = frozenset()) -> list[str]:
        """The serial probes that use none of the words a brand, type or place explained; those
        without the words of a model code first ("SIEMENS 3RV2045 8QYO5 XXD0 7440483": the
        serial is XXD0 7440483, not 3RV2045 8QYO5)."""
        out = [
            (not model.isdisjoint(range(i, j)), x)
            for x, i, j in self.serial_candidates
            if used.isdisjoint(range(i, j))
        ]
        ordered = [x for _, x in sorted(out, key=lambda m: m[0])]  # stable: candidates' order
        return list(dict.fromkeys(ordered))[:MAX_SERIAL_PROBES]


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
    serial_candidates = _serial_candidates(query, words)
    numbers = []
    for text in dict.fromkeys([*(s for _, _, s in segs), compact]):
        if m := _NUMBER.match(text):
            numbers.append(f"EQ-{m.group(1)}-{m.group(2)}")
    p = Plan(words, segs, compact, code_probes, serial_candidates, numbers)
    p.code_keys = sorted(set().union(*(query_keys(x) for x in code_probes)))
    return p


def _serial_candidates(query: str, words: Sequence[str]) -> list[tuple[str, int, int]]:
    """What may be a serial, with the words it spans: a chunk between spaces written with
    slashes ("VY7/3904346"), a code-like word of 5+ characters, 2 or 3 adjacent words glued
    ("EA1 7282 298"), a query of one code-like word, a long word without a digit."""
    chunks: list[tuple[str, int, int]] = []
    at = 0
    for chunk in query.split():
        n = len(split_words(chunk))
        if n > 1:
            chunks.append((norm(chunk), at, at + n))
        at += n
    singles = [(w, i, i + 1) for i, w in enumerate(words) if len(w) >= 5]
    glued = [(x, i, j) for i, j, x in runs(words, 3) if j - i > 1 and len(x) >= 6]
    alone = [(words[0], 0, 1)] if len(words) == 1 else []
    return [
        (x, i, j)
        for x, i, j in [*alone, *chunks, *singles, *glued]
        if len(x) <= MAX_CODE_LEN and (is_code(x) or (j - i == 1 and len(x) >= MIN_LETTER_SERIAL))
    ]


@dataclass(frozen=True)
class Facets:
    """Facets that must hold together: a brand (any of ``brands``), an equipment type (any of
    ``types``) and, for each group of ``places``, one of its location segments (normal forms;
    a group holds the places tied for one query run, "mcc" -> MCC 1 or MCC 2)."""

    brands: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    places: tuple[tuple[str, ...], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.brands or self.types or self.places)

    def groups(self) -> list[list[str]]:
        """Facet tokens (``equipment.facets``), one list per condition; an asset has at least
        one token of every list."""
        out = [[BRAND + x for x in self.brands]] if self.brands else []
        out += [[TYPE + x for x in self.types]] if self.types else []
        return out + [[PLACE + x for x in g] for g in self.places]


@dataclass
class Choice:
    """Models to fetch rows of (best first), the places named (location segments in normal
    form, one group per query run), the brands named (``manufacturer_key``, also the catalogue's
    exact names) and the facet sets to fetch assets of: usually one; two or three when one run
    names a brand, a type or a place equally well ("lin" -> Linde, or Line 1 ... Line 12)."""

    models: list[tuple[str, str]]
    places: list[tuple[str, ...]]
    brands: set[str]
    facet_sets: list[Facets] = field(default_factory=list)
    used: set[int] = field(default_factory=set)
    """Query words a brand, type or place explained."""
    relaxed_sets: list[Facets] = field(default_factory=list)
    model_words: set[int] = field(default_factory=set)
    """Query words that a model code matches closely (``MODEL_WORDS``)."""
    """The facet sets without what only the start of the last word named ("baldor electric
    co..."), for when the full ones find too few."""

    @property
    def facets(self) -> bool:
        return any(self.facet_sets)


MODEL_WORDS = 0.9
"""Similarity from which a run is taken for a model code's (its words are tried as a serial
last)."""
MAX_ALTERNATIVES = 24
"""More terms than this tied for one run name nothing ("l" would name every "Line ...")."""
MAX_FACET_SETS = 3
FACET_KINDS = ("b", "t", "l")


def choose(p: Plan, terms: Sequence[Mapping[Any, Any]]) -> Choice:
    """Match the query's runs against the dictionary.

    Brands (with the catalogue's aliases), equipment types and location segments are chosen
    greedily, most query characters explained first, then the closer match; a run names only the
    terms it matches best (ties are alternatives), and its words are not used again: "eaton" is
    Eaton and not Vacon two edits away, "pump room" is the place and not the type Pump, "line 10"
    is the place Line 10 and not models starting with 10. Model terms (already near a code
    probe, or starting with the last word) count only on runs that no facet explained."""
    seg_text = list(dict.fromkeys(s for _, _, s in p.runs if len(s) >= 2))
    named_brands: set[str] = set()
    for s in seg_text:
        named_brands.update(brands.canonical_keys(s))
    if not terms:
        return Choice([], [], named_brands)
    n = len(p.words)
    span = {x: (i, j) for i, j, x in reversed(p.runs)}
    span.setdefault(p.compact, (0, n))
    probes = seg_text + ([p.compact] if p.compact not in seg_text else [])
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
    exact = _per_term(sim_names, owner, len(terms))
    prefix_row = probes.index(p.words[-1]) if p.prefix is not None else -1
    if prefix_row >= 0 and span[probes[prefix_row]] == (n - 1, n):
        starts = np.array([x.startswith(p.words[-1]) and x != p.words[-1] for x in names])
        sim_names[prefix_row] = np.where(
            starts, np.maximum(sim_names[prefix_row], PREFIX_SIMILARITY), sim_names[prefix_row]
        )
    else:
        prefix_row = -1
    sim = _per_term(sim_names, owner, len(terms))
    kinds = np.array([t["kind"] for t in terms])
    groups, used, soft = _facet_groups(probes, span, sim, exact, kinds)
    # model terms: only on runs that no facet explained (and the last word as a prefix only
    # when it is not a brand, type or place itself)
    free = np.array([not used.issuperset(range(*span[x])) for x in probes])
    model_sim = np.where(free[:, None], sim if prefix_row < 0 or free[prefix_row] else exact, 0.0)
    best_model = model_sim.max(axis=0)
    is_model = kinds == "m"
    model_words: set[int] = set()
    for pi in np.nonzero(np.where(is_model[None, :], model_sim, 0.0).max(axis=1) >= MODEL_WORDS)[0]:
        model_words.update(range(*span[probes[pi]]))
    models: dict[tuple[str, str], float] = {}
    for ti, t in enumerate(terms):
        if t["kind"] == "m" and best_model[ti] > 0:
            key = (t["norm"], t["brand"])
            models[key] = max(models.get(key, 0.0), float(best_model[ti]))
    facet_sets = _facet_sets(groups, terms)
    firm = [g for k, g in enumerate(groups) if k not in soft]
    relaxed = _facet_sets(firm, terms) if soft and firm else []
    for f in facet_sets:
        named_brands.update(f.brands)
    ranked = sorted(
        models.items(),
        key=lambda kv: (-(kv[1] + (BRAND_BONUS if kv[0][1] in named_brands else 0.0)), kv[0][0]),
    )
    return Choice(
        [k for k, _ in ranked[:MAX_MODELS]],
        [tuple(terms[ti]["norm"] for ti in g) for g in groups if set(kinds[list(g)]) == {"l"}],
        named_brands,
        facet_sets,
        used,
        relaxed,
        model_words,
    )


def _per_term(sim_names: Any, owner: Sequence[int], count: int) -> Any:
    """Best similarity of each term over its forms (a brand's aliases)."""
    out = np.zeros((sim_names.shape[0], count))
    np.maximum.at(out.T, np.array(owner), sim_names.T)
    return out


def _facet_groups(
    probes: Sequence[str],
    span: Mapping[str, tuple[int, int]],
    sim: Any,
    exact: Any,
    kinds: Any,
) -> tuple[list[list[int]], set[int], set[int]]:
    """Brand, type and place terms for the query's runs: (groups of tied terms in query order,
    the query words they used, the groups named only as the start of a word).

    The runs are chosen by dynamic programming over the words: the most query characters
    explained in all (similarity x length), then the fewest runs. So "baldor electric kmcc 1"
    is Baldor Electric and MCC 1, not the alias "Baldor Electric Co" three edits from its first
    three words."""
    is_facet = np.isin(kinds, FACET_KINDS)
    if not is_facet.any():
        return [], set(), set()
    fsim = np.where(is_facet[None, :], sim, 0.0)
    best = fsim.max(axis=1)
    # a run that is nearer a model code than any brand, type or place is the model's ("pmc"
    # starts PMC52-..., and is only one edit from the type PLC)
    best_model = np.where((kinds == "m")[None, :], sim, 0.0).max(axis=1)
    best = np.where(best_model > best, 0.0, best)
    ending: dict[int, list[tuple[int, float, int, list[int]]]] = {}
    for pi, x in enumerate(probes):
        if best[pi] <= 0:
            continue
        tied = [int(c) for c in np.nonzero(fsim[pi] >= best[pi] - 1e-9)[0]]
        if len(tied) <= MAX_ALTERNATIVES:
            i, j = span[x]
            ending.setdefault(j, []).append((i, round(float(best[pi]) * len(x), 6), pi, tied))
    n = max((j for _, j in span.values()), default=0)
    total: list[tuple[float, int]] = [(0.0, 0)] * (n + 1)
    back: list[tuple[int, int, list[int]] | None] = [None] * (n + 1)
    for j in range(1, n + 1):
        total[j], back[j] = total[j - 1], None
        for i, gain, pi, tied in ending.get(j, []):
            candidate = (round(total[i][0] + gain, 6), total[i][1] - 1)
            if candidate > total[j]:
                total[j], back[j] = candidate, (i, pi, tied)
    chosen: list[tuple[int, list[int], bool]] = []
    used: set[int] = set()
    j = n
    while j > 0:
        step = back[j]
        if step is None:
            j -= 1
            continue
        i, pi, tied = step
        used.update(range(i, j))
        soft = bool(np.where(is_facet, exact[pi], 0.0).max() < best[pi] - 1e-9)
        chosen.append((i, tied, soft))
        if j - i > 1 and all(kinds[c] == "b" for c in tied):
            # a brand's name that ends in a type ("ABB Motors", "Grundfos Pumps"): both
            whole = np.where(is_facet[None, :], exact, 0.0)  # not the start of a word
            chosen += [(k, g, False) for k, g in _trailing_type(probes, span, whole, kinds, i, j)]
        j = i
    chosen.sort(key=lambda x: x[0])
    return [g for _, g, _ in chosen], used, {k for k, (_, _, soft) in enumerate(chosen) if soft}


TRAILING_TYPE_SIMILARITY = 0.8


def _trailing_type(
    probes: Sequence[str],
    span: Mapping[str, tuple[int, int]],
    fsim: Any,
    kinds: Any,
    i: int,
    j: int,
) -> list[tuple[int, list[int]]]:
    """The type that the last words of a brand's run (``i``..``j``) name on their own."""
    at = {span[x]: k for k, x in enumerate(probes) if x in span}
    for start in range(i + 1, j):
        k = at.get((start, j))
        if k is None:
            continue
        tsim = np.where(kinds == "t", fsim[k], 0.0)
        if tsim.max() >= TRAILING_TYPE_SIMILARITY:
            return [(start, [int(c) for c in np.nonzero(tsim >= tsim.max() - 1e-9)[0]])]
    return []


def _facet_sets(
    groups: Sequence[Sequence[int]], terms: Sequence[Mapping[Any, Any]]
) -> list[Facets]:
    """Facet sets from the chosen groups: brands and types named by several runs are
    alternatives (an asset has one of each), places must all hold; a group tied across kinds
    becomes alternative sets, one per kind."""
    sets: list[dict[str, list[Any]]] = [{"b": [], "t": [], "l": []}]
    for g in groups:
        by_kind: dict[str, list[str]] = {}
        for ti in g:
            t = terms[ti]
            value = t["brand"] if t["kind"] == "b" else t["norm"]
            by_kind.setdefault(t["kind"], []).append(value)
        if len(by_kind) > 1 and len(sets) * len(by_kind) > MAX_FACET_SETS:
            continue
        grown = []
        for base in sets:
            for kind, values in by_kind.items():
                new = {k: list(v) for k, v in base.items()}
                if kind == "l":
                    new["l"].append(tuple(dict.fromkeys(values)))
                else:
                    new[kind].extend(values)
                grown.append(new)
        sets = grown
    return [
        f
        for f in (
            Facets(tuple(dict.fromkeys(s["b"])), tuple(dict.fromkeys(s["t"])), tuple(s["l"]))
            for s in sets
        )
        if f
    ]


def place_tokens(places: Sequence[Sequence[str]]) -> tuple[list[str], list[str]]:
    """Facet tokens of the places named: any of them; and one per group when each group has
    one place (all must hold: "line 3 palletizer")."""
    any_of = [PLACE + x for g in places for x in g]
    single = len(places) > 1 and all(len(g) == 1 for g in places)
    return any_of, [PLACE + g[0] for g in places] if single else []
