"""Print how the create-or-match thresholds decide the labelled pairs.

    uv run python services/assets/scripts/tune_matching.py

For each (auto, review) pair of thresholds: pairs decided as labelled, false merges (the
expensive error: two assets become one), and missed matches. The shipped defaults are marked.
A developer tool of the assets service (it runs the service's own matching rules on the pairs
of ``services/assets/tests/matching_pairs.py``), not a benchmark: nothing is timed.
"""

import sys
from itertools import product
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from matching_pairs import PAIRS

from rivet_assets.matching import normalize
from rivet_assets.matching.rules import Record, compare
from rivet_assets.settings import AssetsSettings


def record(values: dict[str, str | None]) -> Record:
    return Record(
        normalize.manufacturer(values["manufacturer"] or "")[1],
        normalize.code(values.get("model")),
        normalize.code(values.get("serial")),
        values.get("location"),
    )


def main() -> None:
    defaults = AssetsSettings()
    print(f"{len(PAIRS)} labelled pairs")
    print(f"{'auto':>5} {'review':>6} {'correct':>8} {'false merges':>13} {'missed':>7}")
    for auto, review in product((85, 90, 95, 98), (70, 75, 80, 85, 90)):
        correct = false_merge = missed = 0
        for old, new, label in PAIRS:
            v = compare(record(new), record(old), auto=auto, review=review)
            got = "same" if v.same else "review" if v.candidate else "new"
            correct += got == label
            false_merge += got == "same" and label != "same"
            missed += label != "new" and got == "new"
        mark = (
            " <- default"
            if (auto, review) == (defaults.match_auto_threshold, defaults.match_review_threshold)
            else ""
        )
        print(
            f"{auto:>5} {review:>6} {correct:>5}/{len(PAIRS)} {false_merge:>13} {missed:>7}{mark}"
        )


if __name__ == "__main__":
    main()
