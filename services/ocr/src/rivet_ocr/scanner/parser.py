"""Nameplate parser: OCR text lines with boxes -> structured fields with confidences.

The parser works in four passes, each one more of a guess than the previous one (and scored
lower accordingly):

1. **Labels.**  Every token sequence that spells a caption from :mod:`.labels` (``SER. NO.``,
   ``F.L. AMPS``, ``r/min`` ...) is a label hit.  Glued tokens (``HP30``, ``400V``) are split.
2. **Values by layout.**  Each label takes its value from the right on the same visual row
   (across detector boxes: table plates put the value in another box), from the left for
   unit captions (``11 kW``, ``400 V``), or from the box below (stacked layouts).  The
   field's value shape must fit, so a label whose value was not read takes nothing.
3. **Values by shape.**  Fields still missing are inferred from unclaimed tokens whose shape
   is unambiguous: ``230/460`` is a voltage, ``86.4/43.2`` a current (and its ratio matches
   the voltages'), ``1760`` a running speed, ``60`` or ``50/60`` a frequency.  This is what
   recovers values whose one-letter label ("V", "A") the detector dropped.
4. **Context.**  The manufacturer comes from the brand table (logo, header or "MFD BY"
   line), phase from a "3 PHASE" header or, failing that, from the voltage, and the power
   unit from the caption or the plate's dialect.

No pass looks at anything but the text and the geometry of the plate in hand.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass

from . import labels as lx
from . import values as v
from .inference import InferenceMixin
from .layout import Token, below, build_rows, reading_text, tokenize
from .models import FieldValue, ParsedNameplate, TextLine
from .scoring import (
    SOURCE_WEIGHT,
    UNIT_WORDS,
    VALUE_UNIT,
    Candidate,
    identifier,
    ocr_conf,
    plausibility,
    snap,
    strict_parse,
    taken,
)

#: Largest label-to-value gap on a row, in text heights (table cells can be wide).
MAX_VALUE_GAP = 22.0
#: Largest gap between the words of one caption, in text heights.
MAX_LABEL_GAP = 1.6


@dataclass(slots=True)
class _Hit:
    """A caption found in a row: tokens ``row[pos : pos + n]``."""

    row: int
    pos: int
    n: int
    label: lx.LabelDef
    quality: float
    key: str
    weak: bool  # ambiguous or fuzzy: may turn out to be a value of the previous label


def parse_nameplate(lines: list[TextLine]) -> ParsedNameplate:
    """Parse OCR lines of one nameplate photo.  Never raises on odd input; returns what it found.

    Fields: manufacturer, model, serial, voltage, amps, power (+ power_unit HP/kW), rpm,
    phase, hz, frame, year, enclosure, service_factor, efficiency, insulation_class.
    """
    usable = [ln for ln in lines if ln.text and ln.text.strip()]
    if not usable:
        return ParsedNameplate()
    return _Parser(usable).run()


class _Parser(InferenceMixin):
    def __init__(self, lines: list[TextLine]):
        self.lines = lines
        self.line_tokens = tokenize(lines)
        self.rows = build_rows(lines, self.line_tokens)
        self.hits: list[_Hit] = []
        self.hit_at: dict[int, _Hit] = {}  # id(first token) -> hit
        self.label_tokens: set[int] = set()
        self.found: dict[str, Candidate] = {}
        self.mfr_values: list[list[Token]] = []
        heights = [ln.height for ln in lines]
        self.median_height = statistics.median(heights) if heights else 1.0

    # ------------------------------------------------------------------------------- driver

    def run(self) -> ParsedNameplate:
        self._find_labels()
        self._resolve_labels()
        self._pair_garbled()
        self._infer_from_shapes()
        self._infer_codes()
        self._phase_from_context()
        self._infer_power()
        self._hz_in_rating_rows()
        self._infer_context()
        result = ParsedNameplate(text=reading_text(self.rows))
        for name, cand in self.found.items():
            result.fields[name] = FieldValue(cand.value, round(cand.confidence, 3), cand.source)
        return result

    def _offer(self, cand: Candidate) -> bool:
        current = self.found.get(cand.name)
        if current is not None and current.confidence >= cand.confidence:
            return False
        self.found[cand.name] = cand
        if cand.power_unit:
            self.found["power_unit"] = Candidate(
                "power_unit", cand.power_unit, cand.confidence, cand.source
            )
        return True

    # ------------------------------------------------------------------------- pass 1: labels

    def _find_labels(self) -> None:
        for r, row in enumerate(self.rows):
            i = 0
            while i < len(row):
                hit = self._match_label(r, i)
                if hit is not None:
                    self.hits.append(hit)
                    self.hit_at[id(row[i])] = hit
                    for tok in row[i : i + hit.n]:
                        self.label_tokens.add(id(tok))
                    i += hit.n
                    continue
                i += 1

    def _match_label(self, r: int, i: int) -> _Hit | None:
        row = self.rows[r]
        for n in range(min(lx.MAX_LABEL_TOKENS, len(row) - i), 0, -1):
            parts = row[i : i + n]
            if any(t.gap_before > MAX_LABEL_GAP for t in parts[1:]):
                continue
            if n > 1 and any(not re.search(r"[A-Za-z]", t.text) for t in parts):
                continue
            key = "".join(lx.compact(t.text) for t in parts)
            if len(key) == 1 and not parts[0].text.strip(" .:").isupper():
                continue  # a lone "a" or "v" is noise; captions are printed in capitals
            found = lx.lookup(key)
            if found is not None:
                label, quality = found
                weak = key in lx.AMBIGUOUS_KEYS or quality < 1.0
                return _Hit(r, i, n, label, quality, key, weak)
        # One OCR error in a long caption ("SFR NO", "OPE BRG"): only captions of fields.
        for n in (2, 1):
            parts = row[i : i + n]
            if len(parts) < n or any(t.gap_before > MAX_LABEL_GAP for t in parts[1:]):
                continue
            if any(re.search(r"\d", t.text) for t in parts):
                continue
            key = "".join(lx.compact(t.text) for t in parts)
            for label, quality in lx.fuzzy_lookup(key):
                return _Hit(r, i, n, label, quality, key, True)
        return None

    # ------------------------------------------------------------------------- pass 2: values

    def _resolve_labels(self) -> None:
        for hit in self.hits:
            row = self.rows[hit.row]
            if any(t.claimed_by for t in row[hit.pos : hit.pos + hit.n]):
                continue  # this "label" was the value of the previous caption
            for tok in row[hit.pos : hit.pos + hit.n]:
                tok.claimed_by = "label"
            self._resolve(hit)
        for r, row in enumerate(self.rows):
            for p, tok in enumerate(row):
                if not tok.claimed_by and id(tok) not in self.label_tokens:
                    self._glued(r, p, tok)

    def _is_real_label(self, tok: Token) -> bool:
        """A weak caption is real only if a valid value of its own follows it."""
        hit = self.hit_at.get(id(tok))
        if hit is None:
            return False
        if not hit.weak:
            return True
        return self._right_value(hit, probe=True) is not None

    def _right_value(self, hit: _Hit, probe: bool = False) -> tuple[str, list[Token]] | None:
        row = self.rows[hit.row]
        label = hit.label
        j = hit.pos + hit.n
        toks: list[Token] = []
        limit = max(label.max_tokens, 3)
        while j < len(row) and len(toks) < limit:
            tok = row[j]
            if tok.claimed_by:
                break
            gap_limit = MAX_VALUE_GAP if not toks else 1.2
            if tok.gap_before > gap_limit:
                break
            if id(tok) in self.label_tokens and (probe or self._is_real_label(tok)):
                break
            toks.append(tok)
            j += 1
            if tok.text.endswith(":"):
                break  # "...3UF8SERIALNO:": a caption glued to the end of the value
        if not toks:
            return None
        if label.max_tokens > 1:
            for k in range(min(label.max_tokens, len(toks)), 0, -1):
                value = label.parser(" ".join(t.text for t in toks[:k]))
                if value is not None:
                    return value, toks[:k]
            return None
        value = label.parser(toks[0].text)
        used = toks[:1]
        # A value split by OCR at a separator ("208-230/" "460") is joined back.
        joined = toks[0].text
        for nxt in toks[1:]:
            if nxt.gap_before > 0.8 or not (
                re.search(r"[-/.]$", joined) or re.match(r"[-/.]", nxt.text)
            ):
                break
            joined += nxt.text
            longer = label.parser(joined)
            if longer is None:
                break
            value, used = longer, [*used, nxt]
        if value is None:
            return None
        return value, used

    def _left_value(self, hit: _Hit) -> tuple[str, list[Token]] | None:
        row = self.rows[hit.row]
        first = row[hit.pos]
        if hit.pos == 0 or first.gap_before > 1.2:
            return None  # a unit follows its number closely: "400 V", "11 kW"
        tok = row[hit.pos - 1]
        if tok.claimed_by or id(tok) in self.label_tokens:
            return None
        value = hit.label.parser(tok.text)
        return (value, [tok]) if value is not None else None

    def _in_output_section(self, hit: _Hit) -> bool:
        """True after an ``OUTPUT`` caption on the same row (a drive's output ratings)."""
        for tok in self.rows[hit.row][: hit.pos]:
            key = lx.compact(tok.text)
            if key == "INPUT":
                return False
            if key == "OUTPUT":
                return True
        return False

    def _resolve(self, hit: _Hit) -> None:
        label = hit.label
        row = self.rows[hit.row]
        if label.field not in (None, "power") and self._in_output_section(hit):
            label = lx.LabelDef(None, label.parser, label.unit, label.max_tokens)
        right = self._right_value(hit)
        left = self._left_value(hit) if label.unit else None
        choice: tuple[str, list[Token]] | None = None
        source = "label"
        if right and left:
            r_gap = right[1][0].gap_before
            l_gap = row[hit.pos].gap_before
            r_score = plausibility(label, right[0]) - 0.05 * r_gap
            l_score = plausibility(label, left[0]) - 0.05 * l_gap
            choice, source = (left, "label-unit-after") if l_score > r_score else (right, "label")
        elif right:
            choice = right
        elif left:
            choice, source = left, "label-unit-after"
        elif (
            label.field not in (None, "manufacturer")
            and not self._has_right_token(hit)
            and not self._is_unit_of_previous(hit)
        ):
            choice = self._below_value(hit)
            source = "label-below"
        if choice is None:
            self._hold_unreadable_value(hit)
            return
        value, toks = choice
        if label.field is None:
            for tok in toks:
                tok.claimed_by = "other"
            self._claim_unit_word(toks[-1])
            return
        if label.field == "manufacturer":
            self.mfr_values.append(toks)
            for tok in toks:
                tok.claimed_by = "manufacturer"
            return
        conf = SOURCE_WEIGHT[source] * ocr_conf(toks) * (0.8 + 0.2 * hit.quality)
        conf *= 0.7 + 0.3 * plausibility(label, value)
        value, factor = snap(label.field, value, label.power_unit)
        self._offer(Candidate(label.field, value, conf * factor, source, toks, label.power_unit))
        for tok in toks:
            tok.claimed_by = label.field

    def _hold_unreadable_value(self, hit: _Hit) -> None:
        """``FRAME 2867``: a token right after a caption is that caption's (misread) value.

        It must not be offered to the shape inference of another field (2867 is not a speed).
        """
        if hit.weak:
            return
        row = self.rows[hit.row]
        j = hit.pos + hit.n
        if j >= len(row) or taken(self.label_tokens, row[j]) or row[j].gap_before > 4.0:
            return
        if v.numeric_text(row[j].text) is not None and not re.match(r"[A-Za-z]{2}", row[j].text):
            row[j].claimed_by = "unreadable"

    def _is_unit_of_previous(self, hit: _Hit) -> bool:
        """``P2 5.5 kW``: the caption is the unit of the value just read, not a new field."""
        row = self.rows[hit.row]
        if hit.pos == 0 or row[hit.pos].gap_before > 1.2:
            return False
        return row[hit.pos - 1].claimed_by == hit.label.field

    def _has_right_token(self, hit: _Hit) -> bool:
        row = self.rows[hit.row]
        j = hit.pos + hit.n
        if j >= len(row) or row[j].claimed_by or row[j].gap_before > MAX_VALUE_GAP:
            return False
        return not (id(row[j]) in self.label_tokens and self._is_real_label(row[j]))

    def _claim_unit_word(self, tok: Token) -> None:
        row = self.rows[tok.row]
        nxt = tok.pos + 1
        if nxt < len(row) and not row[nxt].claimed_by and row[nxt].gap_before < 1.5:
            word = lx.compact(row[nxt].text) or row[nxt].text.strip()
            if word in UNIT_WORDS or row[nxt].text.strip().lower() in {"m3/h", "°c", "%"}:
                row[nxt].claimed_by = "other"

    def _below_value(self, hit: _Hit) -> tuple[str, list[Token]] | None:
        first = self.rows[hit.row][hit.pos]
        candidates = [tok for row in self.rows for tok in row if not taken(self.label_tokens, tok)]
        tok = below(first, candidates)
        if tok is None:
            return None
        value = hit.label.parser(tok.text)
        return (value, [tok]) if value is not None else None

    def _glued(self, r: int, p: int, tok: Token) -> None:
        """``HP30`` / ``RPM1760`` (caption + value) and ``400V`` / ``50Hz`` (value + unit)."""
        text = tok.text.strip(" :;,")
        options: list[tuple[str, str]] = []
        m = re.match(r"^([A-Za-z][A-Za-z./]*?)[.:]?(\d.*)$", text)
        if m:
            options.append((m.group(1), m.group(2)))
        m = VALUE_UNIT.match(text)
        if m:
            options.append((m.group(2), m.group(1)))
        for caption, raw_value in options:
            found = lx.lookup(lx.compact(caption))
            if found is None or found[0].field is None or found[0].field == "manufacturer":
                continue
            label = found[0]
            assert label.field is not None
            short = len(lx.compact(caption)) == 1
            value = strict_parse(label, raw_value) if short else label.parser(raw_value)
            if value is None:
                continue
            value, factor = snap(label.field, value, label.power_unit)
            conf = SOURCE_WEIGHT["label-glued"] * tok.confidence * found[1] * factor
            if self._offer(
                Candidate(label.field, value, conf, "label-glued", [tok], label.power_unit)
            ):
                tok.claimed_by = label.field
            return

    def _pair_garbled(self) -> None:
        """A misread caption right before a value that fits it (``KIW 5.5``, ``TIPE ...``)."""
        for row in self.rows:
            for p, tok in enumerate(row[:-1]):
                nxt = row[p + 1]
                if (
                    taken(self.label_tokens, tok)
                    or taken(self.label_tokens, nxt)
                    or nxt.gap_before > MAX_VALUE_GAP
                ):
                    continue
                for label, quality in lx.garbled_lookup(lx.compact(tok.text)):
                    if label.field is None or label.field in self.found:
                        continue
                    value = strict_parse(label, nxt.text)
                    if value is None or (
                        label.field in ("model", "serial") and identifier(nxt.text) is None
                    ):
                        continue
                    value, factor = snap(label.field, value, label.power_unit)
                    conf = SOURCE_WEIGHT["label-garbled"] * quality * nxt.confidence * factor
                    self._offer(
                        Candidate(
                            label.field, value, conf, "label-garbled", [nxt], label.power_unit
                        )
                    )
                    tok.claimed_by, nxt.claimed_by = "label", label.field
                    break
