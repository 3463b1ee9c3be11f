"""Layout analysis: split OCR lines into tokens and chain them into visual rows.

The detector returns one box per *text run*, and a nameplate row is often several runs
("HZ:" ... "60" in a table cell, then "RPM: 1780" in the next column).  Labels and values
must be paired across runs, so tokens are arranged in rows by linking every box to its nearest
neighbour on the right.  The test is *local* (measured in the left box's own frame, relative
to its text height), which keeps working on rotated and perspective-distorted photos where a
global horizontal band would mix neighbouring rows.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field

from .models import TextLine

#: How far (in text heights) to the right a box may be and still be on the same row.
MAX_ROW_GAP = 30.0
#: How far (fraction of text height) a box centre may sit above/below the row.
ROW_TOLERANCE = 0.6


@dataclass(eq=False, slots=True)
class Token:
    """A whitespace-separated piece of one OCR line with an estimated position."""

    text: str
    confidence: float
    line: TextLine
    line_index: int
    start: float  # fraction (0..1) along the line's baseline where the token starts
    end: float
    gap_before: float = 0.0  # distance to the previous token in its row, in text heights
    row: int = -1
    pos: int = -1  # index inside its row
    claimed_by: str | None = field(default=None)

    @property
    def height(self) -> float:
        return self.line.height

    def point(self, frac: float) -> tuple[float, float]:
        """Image coordinates of the point at ``frac`` along the line's centre line."""
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self.line.box
        left = ((x0 + x3) / 2.0, (y0 + y3) / 2.0)
        right = ((x1 + x2) / 2.0, (y1 + y2) / 2.0)
        return (left[0] + (right[0] - left[0]) * frac, left[1] + (right[1] - left[1]) * frac)

    @property
    def center(self) -> tuple[float, float]:
        return self.point((self.start + self.end) / 2.0)


_COLON_SPLIT = re.compile(r"^([^\d:]*[A-Za-z][^\d:]*:)(.+)$")


def split_line(text: str) -> list[tuple[str, int, int]]:
    """Split a line into tokens with character offsets.

    Whitespace separates tokens; a colon after letters also does (``A:117/58.5`` is a
    label and a value that OCR glued together).
    """
    out: list[tuple[str, int, int]] = []
    for match in re.finditer(r"\S+", text):
        word, start = match.group(0), match.start()
        colon = _COLON_SPLIT.match(word)
        if colon and colon.group(2).strip(":"):
            head = colon.group(1)
            out.append((head, start, start + len(head)))
            out.append((colon.group(2), start + len(head), start + len(word)))
        else:
            out.append((word, start, start + len(word)))
    return out


# Look-alike characters the recogniser emits for Latin letters and digits.
_LOOKALIKES = str.maketrans(
    {
        # multiplication sign, Cyrillic and Greek capitals that look like Latin ones
        "\u00d7": "X",
        **dict.fromkeys("\u0410\u0391", "A"),
        **dict.fromkeys("\u0412\u0392", "B"),
        **dict.fromkeys("\u0415\u0395", "E"),
        **dict.fromkeys("\u041a\u039a", "K"),
        **dict.fromkeys("\u041c\u039c", "M"),
        **dict.fromkeys("\u041d\u0397", "H"),
        **dict.fromkeys("\u041e\u039f", "O"),
        **dict.fromkeys("\u0420\u03a1", "P"),
        "\u0421": "C",
        **dict.fromkeys("\u0422\u03a4", "T"),
        **dict.fromkeys("\u0425\u03a7", "X"),
        **dict.fromkeys("\u0423\u03a5", "Y"),
        "\u0396": "Z",
        "\u0399": "I",
        "\u039d": "N",
        # dashes and full-width punctuation
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212", "-"),
        "\uff1a": ":",
        "\uff0c": ",",
        "\uff0e": ".",
        "\uff0f": "/",
        "\u2103": "\u00b0C",  # degree Celsius sign
    }
)


def normalize_text(text: str) -> str:
    """Map look-alike characters to ASCII (``3594\u00d755903`` -> ``3594X55903``).

    The Greek capital delta is kept: it is the delta-connection mark of IEC voltages.
    """
    return text.translate(_LOOKALIKES)


def tokenize(lines: list[TextLine]) -> list[list[Token]]:
    """Tokens of each line, positioned proportionally to character offsets."""
    result: list[list[Token]] = []
    for index, line in enumerate(lines):
        text = normalize_text(line.text)
        n = max(1, len(text))
        tokens = [
            Token(word, line.confidence, line, index, start / n, end / n)
            for word, start, end in split_line(text)
        ]
        for prev, tok in itertools.pairwise(tokens):
            tok.gap_before = max(0.0, (tok.start - prev.end) * line.width / line.height)
        result.append(tokens)
    return result


def _frame(
    line: TextLine, fallback: float | None = None
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Origin (right-edge midpoint) and unit direction of a line's baseline.

    The angle of a short box ("HP", "V:") is mostly noise, so such boxes use ``fallback``
    (the plate's dominant angle) when given.
    """
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = line.box
    left = ((x0 + x3) / 2.0, (y0 + y3) / 2.0)
    right = ((x1 + x2) / 2.0, (y1 + y2) / 2.0)
    dx, dy = right[0] - left[0], right[1] - left[1]
    length = math.hypot(dx, dy) or 1.0
    if fallback is not None and line.width < 4.0 * line.height:
        return right, (math.cos(fallback), math.sin(fallback))
    return right, (dx / length, dy / length)


def right_neighbour_offset(
    a: TextLine, b: TextLine, angle: float | None = None
) -> tuple[float, float] | None:
    """Offset of ``b``'s left edge from ``a``'s right edge, in ``a``'s frame, in text heights.

    Returns ``(along, across)`` or ``None`` when ``b`` is not plausibly on ``a``'s row.
    """
    origin, (ux, uy) = _frame(a, angle)
    (x0, y0), _, _, (x3, y3) = b.box
    bl = ((x0 + x3) / 2.0, (y0 + y3) / 2.0)
    vx, vy = bl[0] - origin[0], bl[1] - origin[1]
    h = max(a.height, 1.0)
    along = (vx * ux + vy * uy) / h
    across = (-vx * uy + vy * ux) / h
    limit = ROW_TOLERANCE * max(a.height, b.height) / h
    if along < -0.6 or along > MAX_ROW_GAP or abs(across) > limit:
        return None
    # Very different text sizes are a header next to a table, not one row.
    if max(a.height, b.height) > 1.8 * min(a.height, b.height):
        return None
    return along, across


def build_rows(lines: list[TextLine], tokens: list[list[Token]]) -> list[list[Token]]:
    """Chain lines left-to-right into rows and return the rows' tokens in reading order."""
    n = len(lines)
    angle = _dominant_angle(lines)
    best_right: list[tuple[float, int] | None] = [None] * n
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            off = right_neighbour_offset(lines[i], lines[j], angle)
            if off is None:
                continue
            score = off[0] + 2.0 * abs(off[1])
            current = best_right[i]
            if current is None or score < current[0]:
                best_right[i] = (score, j)
    # Each line keeps at most one left neighbour: the closest claimant.
    left_of: dict[int, tuple[float, int]] = {}
    for i, cand in enumerate(best_right):
        if cand is None:
            continue
        score, j = cand
        if j not in left_of or score < left_of[j][0]:
            left_of[j] = (score, i)
    right_of = {i: j for j, (_, i) in left_of.items()}

    chains: list[list[int]] = []
    seen: set[int] = set()
    for start in range(n):
        if start in left_of:
            continue
        chain = [start]
        seen.add(start)
        while chain[-1] in right_of and right_of[chain[-1]] not in seen:
            nxt = right_of[chain[-1]]
            chain.append(nxt)
            seen.add(nxt)
        chains.append(chain)
    for i in range(n):  # cycles (should not happen) become their own rows
        if i not in seen:
            chains.append([i])

    chains = _reading_order(chains, lines, math.cos(angle), math.sin(angle))

    rows: list[list[Token]] = []
    for chain in chains:
        row: list[Token] = []
        for k, idx in enumerate(chain):
            line_tokens = tokens[idx]
            if k > 0 and line_tokens:
                off = right_neighbour_offset(lines[chain[k - 1]], lines[idx], angle)
                line_tokens[0].gap_before = off[0] if off else MAX_ROW_GAP
            row.extend(line_tokens)
        if row:
            rows.append(row)
    for r, row in enumerate(rows):
        for p, tok in enumerate(row):
            tok.row, tok.pos = r, p
    return rows


def _reading_order(
    chains: list[list[int]], lines: list[TextLine], cos_a: float, sin_a: float
) -> list[list[int]]:
    """Stable reading order: chains sorted by the de-skewed y of their first line."""
    return sorted(
        chains,
        key=lambda c: (
            round((-sin_a * lines[c[0]].cx + cos_a * lines[c[0]].cy) / _row_pitch(lines)),
            cos_a * lines[c[0]].cx + sin_a * lines[c[0]].cy,
        ),
    )


def _row_pitch(lines: list[TextLine]) -> float:
    heights = sorted(line.height for line in lines)
    return max(1.0, heights[len(heights) // 2] * 0.8) if heights else 1.0


def _dominant_angle(lines: list[TextLine]) -> float:
    """Median baseline angle (radians) of lines that are clearly wider than tall."""
    angles = sorted(
        math.radians(line.angle_deg) for line in lines if line.width > 2.0 * line.height
    )
    if not angles:
        return 0.0
    return angles[len(angles) // 2]


def reading_text(rows: list[list[Token]]) -> str:
    """Rows joined by newlines, tokens by spaces: the text a person would read."""
    return "\n".join(" ".join(tok.text for tok in row) for row in rows)


def below(token: Token, candidates: list[Token], max_gap: float = 2.2) -> Token | None:
    """The first token of a line directly below ``token`` (stacked label/value layouts)."""
    tx, ty = token.center
    h = token.height
    (x0, y0), (x1, y1) = token.line.box[0], token.line.box[1]
    length = math.hypot(x1 - x0, y1 - y0) or 1.0
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    best: tuple[float, Token] | None = None
    for cand in candidates:
        cx, cy = cand.center
        vx, vy = cx - tx, cy - ty
        along = (vx * ux + vy * uy) / h
        down = (-vx * uy + vy * ux) / h
        if 0.7 < down < max_gap and abs(along) < 3.0:
            score = down + abs(along)
            if best is None or score < best[0]:
                best = (score, cand)
    return best[1] if best else None
