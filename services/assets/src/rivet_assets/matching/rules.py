"""The create-or-match rules, shared by every entry path (API, bot, nameplate, import).

1. Same organization and same normalized serial: the same asset (score 100).
2. Two different serials are never the same asset.
3. Otherwise an existing asset of the same canonical manufacturer is scored on the model
   (rapidfuzz ratio of normalized model codes, 0-100). Identical make and model can be two
   physical assets (two pumps side by side), so the model alone never merges: an automatic
   match needs a model score >= ``auto`` AND a location that agrees (token-set ratio >= 90)
   on both records. Anything else scoring >= ``review`` is listed as a possible duplicate for
   the caller to choose.
Thresholds were chosen on the labelled pairs in ``services/assets/tests/matching_pairs.py``
(see ``services/assets/scripts/tune_matching.py`` and docs/assets.md).
"""

from dataclasses import dataclass, field

from rapidfuzz import fuzz

from .normalize import words

LOCATION_AGREES = 90.0


@dataclass(frozen=True)
class Record:
    """The comparable part of an asset."""

    manufacturer_key: str
    model_norm: str | None
    serial_norm: str | None
    location: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Verdict:
    score: float
    """0-100."""
    same: bool
    """Safe to merge automatically."""
    candidate: bool
    """Worth showing the caller as a possible duplicate."""
    reasons: list[str] = field(default_factory=list)


def compare(new: Record, old: Record, *, auto: float, review: float) -> Verdict:
    if new.serial_norm and old.serial_norm:
        if new.serial_norm == old.serial_norm:
            return Verdict(100.0, True, True, ["serial"])
        return Verdict(0.0, False, False, ["different serials"])
    if new.manufacturer_key != old.manufacturer_key:
        return Verdict(0.0, False, False, ["different manufacturer"])
    reasons = ["manufacturer"]
    if new.model_norm and old.model_norm:
        model = float(fuzz.ratio(new.model_norm, old.model_norm))
        reasons.append(f"model {model:.0f}")
    else:
        model = 0.0
    location = _text_score(new.location, old.location)
    if location is not None:
        reasons.append(f"location {location:.0f}")
    name = _text_score(new.name, old.name)
    if name is not None and name >= LOCATION_AGREES:
        reasons.append(f"name {name:.0f}")
    score = model if location is None else 0.7 * model + 0.3 * location
    same = model >= auto and location is not None and location >= LOCATION_AGREES
    return Verdict(round(score, 1), same, same or model >= review, reasons)


def _text_score(a: str | None, b: str | None) -> float | None:
    left, right = words(a), words(b)
    if not left or not right:
        return None
    return float(fuzz.token_set_ratio(left, right))
