"""The dashboard's 30-day trend as inline SVG: no script, no external file, readable without
colour (each series also has its own dash pattern and a text table beside it)."""

from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT, PAD = 600, 200, 28
SERIES = (
    ("created", "Opened", "", "chart-created"),
    ("completed", "Completed", "6 3", "chart-completed"),
    ("backlog", "Backlog", "2 2", "chart-backlog"),
)


@dataclass(frozen=True)
class Line:
    key: str
    label: str
    dash: str
    css: str
    points: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    lines: list[Line]
    top: int
    first_day: str
    last_day: str
    baseline: float


def trend_chart(days: list[dict[str, Any]]) -> Chart | None:
    if not days:
        return None
    top = max(1, *(int(d[key]) for d in days for key, *_ in SERIES))
    span = max(1, len(days) - 1)
    lines = []
    for key, label, dash, css in SERIES:
        coords = []
        for i, day in enumerate(days):
            x = PAD + (WIDTH - 2 * PAD) * i / span
            y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * int(day[key]) / top
            coords.append(f"{x:.1f},{y:.1f}")
        lines.append(Line(key, label, dash, css, " ".join(coords)))
    return Chart(WIDTH, HEIGHT, lines, top, str(days[0]["day"]), str(days[-1]["day"]), HEIGHT - PAD)
