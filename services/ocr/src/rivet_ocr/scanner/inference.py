"""Parser passes 3 and 4: values inferred from their shape, and from the plate's context.

These run after every caption has taken its value (:mod:`.parser`), on what is left: tokens
no caption claimed ("orphans").  Each inference is scored below a labelled reading, so a
value the plate states always wins over one the parser guessed.
"""

from __future__ import annotations

import re

from . import brands
from . import labels as lx
from . import values as v
from .layout import Token
from .models import TextLine
from .scoring import (
    SOURCE_WEIGHT,
    UNIT_WORDS,
    Candidate,
    amps_score,
    identifier,
    ocr_conf,
    snap,
    taken,
)


class InferenceMixin:
    """Shape and context inference over the parser's state (see :class:`.parser._Parser`)."""

    lines: list[TextLine]
    rows: list[list[Token]]
    found: dict[str, Candidate]
    label_tokens: set[int]
    mfr_values: list[list[Token]]
    median_height: float

    def _offer(self, cand: Candidate) -> bool:
        raise NotImplementedError

    # ------------------------------------------------------------------------- pass 3: shapes

    def _orphans(self) -> list[tuple[Token, str]]:
        """Unclaimed, non-caption tokens (and digit runs inside garbled ones)."""
        out: list[tuple[Token, str]] = []
        for row in self.rows:
            for p, tok in enumerate(row):
                if tok.claimed_by or id(tok) in self.label_tokens:
                    continue
                nxt = row[p + 1] if p + 1 < len(row) else None
                if nxt is not None and nxt.gap_before < 1.5:
                    unit = lx.compact(nxt.text)
                    if unit in UNIT_WORDS or nxt.text.strip() in {"%", "°C", "m3/h"}:
                        continue  # "60 GAL", "177 kg": a quantity, not a rating
                text = tok.text.strip()
                if re.search(r"(%|°|kg|KG|mm|GAL|PSI|kA|KA)$", text):
                    continue
                out.append((tok, text))
                # "P%1175", "RPNE:1780": a garbled caption glued before a clean number.
                glued = re.fullmatch(r"[^\d]*[A-Za-z%:;][^\d]*(\d[\d./\-]*\d)", text)
                if glued:
                    out.append((tok, glued.group(1)))
        return out

    def _infer_from_shapes(self) -> None:
        missing = {"voltage", "amps", "rpm", "hz"} - self.found.keys()
        if not missing:
            return
        volts = self.found.get("voltage")
        options: list[tuple[float, str, str, Token]] = []
        for tok, text in self._orphans():
            if "voltage" in missing and (val := v.parse_voltage(text, strict=True)):
                multi = bool(re.search(r"[-/]", val))
                marks = bool(re.search(r"[\u0394\u2206\u25b3]|\dY\b", text))
                score = 0.75 if marks else 0.7 if multi else 0.4
                val, factor = snap("voltage", val, None)
                options.append((score * factor, "voltage", val, tok))
            if "amps" in missing and (val := v.parse_amps(text, strict=True)):
                if v.parse_voltage(text, strict=True) is None:
                    options.append(
                        (amps_score(val, volts.value if volts else None), "amps", val, tok)
                    )
            elif "amps" in missing and volts and (val := v.repair_amps(text, volts.value)):
                options.append((0.6, "amps", val, tok))
            if "rpm" in missing and (val := v.parse_rpm(text, strict=True)):
                options.append((0.65, "rpm", val, tok))
            if "hz" in missing and (val := v.parse_hz(text, strict=True)):
                options.append((0.6 if "/" in val else 0.5, "hz", val, tok))
        options.sort(key=lambda o: -o[0])
        used: set[int] = set()
        for score, name, val, tok in options:
            if name in self.found or id(tok) in used:
                continue
            if name == "amps" and "voltage" in self.found and volts is None:
                # the voltage was just inferred: re-score against it
                score = amps_score(val, self.found["voltage"].value)
            conf = score * tok.confidence
            self._offer(Candidate(name, val, conf, "shape", [tok]))
            used.add(id(tok))
            tok.claimed_by = name

    def _infer_codes(self) -> None:
        """Serial (or model) next to the other one when its caption was not read.

        Only used when one of the pair was found by its caption: model and serial numbers
        sit side by side or one under the other, so the nearest unclaimed identifier-shaped
        token is taken, with a low confidence.
        """
        have = [f for f in ("model", "serial") if f in self.found and self.found[f].tokens]
        want = [f for f in ("model", "serial") if f not in self.found]
        if len(have) != 1 or len(want) != 1:
            return
        anchor = self.found[have[0]].tokens[0]
        best: tuple[float, str, Token] | None = None
        for row in self.rows:
            for tok in row:
                if taken(self.label_tokens, tok):
                    continue
                code = identifier(tok.text)
                if code is None:
                    continue
                dist = abs(tok.row - anchor.row) * 3.0 + abs(tok.pos - anchor.pos) * 0.1
                if abs(tok.row - anchor.row) > 2:
                    continue
                if best is None or dist < best[0]:
                    best = (dist, code, tok)
        if best is not None:
            _, code, tok = best
            conf = SOURCE_WEIGHT["shape"] * 0.7 * tok.confidence
            self._offer(Candidate(want[0], code, conf, "shape", [tok]))
            tok.claimed_by = want[0]

    def _infer_power(self) -> None:
        """An unlabelled catalogue rating on the row of the voltage or the current."""
        if "power" in self.found:
            return
        rows = {t.row for f in ("voltage", "amps") if f in self.found for t in self.found[f].tokens}
        if not rows:
            return
        unit = self._dialect_power_unit()
        best: tuple[float, str, Token] | None = None
        for tok, text in self._orphans():
            if tok.row not in rows or text != tok.text.strip():
                continue
            value = v.parse_power(text)
            if value is None or v.power_plausibility(value, unit) < 1.0:
                continue
            score = SOURCE_WEIGHT["shape"] * 0.6 * tok.confidence
            if best is None or (score, -tok.pos) > (best[0], -best[2].pos):
                best = (score, value, tok)
        if best is not None:
            score, value, tok = best
            self._offer(Candidate("power", value, score, "shape", [tok]))
            tok.claimed_by = "power"

    # ------------------------------------------------------------------------ pass 4: context

    def _infer_context(self) -> None:
        self._manufacturer()
        self._power_unit()

    def _manufacturer(self) -> None:
        mfr_lines = {id(t.line) for toks in self.mfr_values for t in toks}
        best: tuple[float, str] | None = None
        for line in self.lines:
            for match in brands.find_brands(line.text):
                big = line.height >= 1.3 * self.median_height
                weight = 1.0 if big or id(line) in mfr_lines else 0.85
                score = SOURCE_WEIGHT["brand"] * match.quality * weight * line.confidence
                if best is None or score > best[0]:
                    best = (score, match.name)
        if best is not None:
            self._offer(Candidate("manufacturer", best[1], best[0], "brand"))
            return
        for toks in self.mfr_values:
            name = brands.company_from_text(" ".join(t.text for t in toks))
            if name:
                conf = SOURCE_WEIGHT["company"] * ocr_conf(toks)
                self._offer(Candidate("manufacturer", name, conf, "company"))
                return

    def _rating_rows(self) -> set[int]:
        """Rows holding an electrical rating already found (the plate's rating block)."""
        return {
            t.row
            for f in ("voltage", "amps", "hz", "rpm", "power")
            if f in self.found
            for t in self.found[f].tokens
        }

    def _hz_in_rating_rows(self) -> None:
        """``58`` next to the speed: a frequency with one misread digit (rating rows only)."""
        if "hz" in self.found:
            return
        for row in sorted(self._rating_rows()):
            for tok in self.rows[row]:
                text = tok.text.strip(" :.")
                if taken(self.label_tokens, tok) or not re.fullmatch(r"\d{2}", text):
                    continue
                value = v.parse_hz(text)
                if value is not None:
                    conf = SOURCE_WEIGHT["shape"] * 0.5 * tok.confidence
                    self._offer(Candidate("hz", value, conf, "shape", [tok]))
                    tok.claimed_by = "hz"
                    return

    def _phase_from_context(self) -> None:
        if "phase" in self.found:
            return
        text = " ".join(ln.text.upper() for ln in self.lines)
        if re.search(r"\b(THREE|3)[ -]?(PHASE|PH)\b|\b3\s?~", text):
            self._offer(Candidate("phase", "3", SOURCE_WEIGHT["header"], "header"))
            return
        if re.search(r"\b(SINGLE|ONE|1)[ -]?(PHASE|PH)\b|\b1\s?~", text):
            self._offer(Candidate("phase", "1", SOURCE_WEIGHT["header"], "header"))
            return
        # A lone "3" in the rating block: its "PH" caption was not read.  (A lone "1" is
        # not taken: single-phase plates say so in words, and "1" is the commonest noise.)
        rating_rows = self._rating_rows()
        near = sorted(rating_rows | {r + 1 for r in rating_rows} | {r - 1 for r in rating_rows})
        for row in (r for r in near if 0 <= r < len(self.rows)):
            for tok in self.rows[row]:
                if (
                    not taken(self.label_tokens, tok)
                    and tok.text.strip(" :.") == "3"
                    and tok.confidence >= 0.5
                ):
                    conf = SOURCE_WEIGHT["shape"] * 0.6 * tok.confidence
                    self._offer(Candidate("phase", "3", conf, "shape", [tok]))
                    tok.claimed_by = "phase"
                    return
        volts = self.found.get("voltage")
        amps = self.found.get("amps")
        if volts is not None:
            numbers = [float(x) for x in re.split(r"[-/]", volts.value) if x]
            # Single-phase motors stop at 230-277 V; 380 V and up (and 208-230/460-style
            # multi-voltage windings) are three-phase.
            if numbers and max(numbers) >= 380:
                conf = SOURCE_WEIGHT["derived"] * volts.confidence
                self._offer(Candidate("phase", "3", conf, "derived"))
                return
        if amps is not None:
            currents = [float(x) for x in re.split(r"[-/]", amps.value) if x]
            # Delta/star currents differ by sqrt(3): only a three-phase winding does that.
            ratio = currents[0] / currents[1] if len(currents) == 2 and currents[1] > 0 else 0.0
            if abs(ratio - 1.732) < 0.06:
                conf = SOURCE_WEIGHT["derived"] * amps.confidence
                self._offer(Candidate("phase", "3", conf, "derived"))

    def _dialect_power_unit(self) -> str:
        """kW on IEC plates (50 Hz, 400/690 V, r/min), HP otherwise."""
        hz = self.found.get("hz")
        volts = self.found.get("voltage")
        text = " ".join(ln.text.upper() for ln in self.lines)
        iec = (
            (hz is not None and hz.value == "50")
            or (volts is not None and any(x in volts.value for x in ("400", "690", "415", "380")))
            or bool(re.search(r"R/MIN|MIN-1|KW\b|\bIEC\b|IE[1-4]\b", text))
        )
        return "kW" if iec else "HP"

    def _power_unit(self) -> None:
        power = self.found.get("power")
        if power is None or "power_unit" in self.found:
            return
        unit = self._dialect_power_unit()
        conf = 0.5 * power.confidence
        self.found["power_unit"] = Candidate("power_unit", unit, conf, "derived")
