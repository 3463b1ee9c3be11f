"""Summarize a py-spy speedscope profile: where the samples go, by function and by package.

    uv run python bench/gateway/profile_summary.py PROFILE.speedscope.json [--top 25]

"inclusive" counts a sample for every function on its stack (once per function), "self" only
for the innermost frame. "by area" groups inclusive samples by the first frame under the event
loop that belongs to a known area (see ``AREAS``), giving a coarse split of one request.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

AREAS = (
    ("jwt verification", ("/jwt/", "tokens.py")),
    ("pydantic validation/serialization", ("/pydantic/", "pydantic_core")),
    ("sqlalchemy", ("/sqlalchemy/",)),
    ("asyncpg", ("/asyncpg/",)),
    ("nats client", ("/nats/",)),
    ("faststream", ("/faststream/",)),
    ("fastapi/starlette", ("/fastapi/", "/starlette/")),
    ("uvicorn/h11", ("/uvicorn/", "/h11/")),
    ("prometheus metrics", ("/prometheus_client/",)),
    ("logging", ("/logging/",)),
    ("asyncio", ("/asyncio/",)),
)


def area_of(file: str) -> str | None:
    for name, markers in AREAS:
        if any(m in file for m in markers):
            return name
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    doc: dict[str, Any] = json.loads(args.profile.read_text())
    frames = doc["shared"]["frames"]
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for profile in doc["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            total += weight
            names = [
                f"{frames[i]['name']} ({Path(frames[i].get('file', '')).name}"
                f":{frames[i].get('line', '')})"
                for i in stack
            ]
            for name in set(names):
                inclusive[name] += weight
            if names:
                own[names[-1]] += weight
            # innermost known area wins (e.g. pydantic called from sqlalchemy is pydantic)
            hit = None
            for i in reversed(stack):
                hit = area_of(frames[i].get("file", ""))
                if hit:
                    break
            areas[hit or "application code"] += weight
    print(f"{args.profile.name}: {total} samples")
    print("\nby area (innermost known library on the stack):")
    for name, n in areas.most_common():
        print(f"  {100 * n / total:5.1f}%  {name}")
    print(f"\ntop {args.top} inclusive:")
    for name, n in inclusive.most_common(args.top):
        print(f"  {100 * n / total:5.1f}%  {name}")
    print(f"\ntop {args.top} self:")
    for name, n in own.most_common(args.top):
        print(f"  {100 * n / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
