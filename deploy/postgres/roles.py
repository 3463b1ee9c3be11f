"""Rivet's PostgreSQL roles have one source, ``deploy/postgres/roles.sql``; this writes the copy
the production overlay needs.

kustomize reads no file outside the overlay's folder, so the CloudNativePG cluster's ConfigMap
is made from ``k8s/overlays/production/postgres/roles.sql``: the source under a header that
names it. ``tests/deploy/test_deploy_k8s.py`` fails when the copy is stale.

    uv run python deploy/postgres/roles.py            # print the overlay's copy
    uv run python deploy/postgres/roles.py --write    # update it
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "deploy" / "postgres" / "roles.sql"
OVERLAY_COPY = ROOT / "k8s" / "overlays" / "production" / "postgres" / "roles.sql"

HEADER = (
    "-- Generated from deploy/postgres/roles.sql by `uv run python deploy/postgres/roles.py "
    "--write`:\n-- edit that file, not this copy.\n\n"
)


def render_overlay_copy() -> str:
    """The overlay's roles.sql: the source, unchanged, under ``HEADER``."""
    return HEADER + SOURCE.read_text()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--write", action="store_true", help=f"update {OVERLAY_COPY.relative_to(ROOT)}"
    )
    args = parser.parse_args(argv)
    if args.write:
        OVERLAY_COPY.write_text(render_overlay_copy())
        print(f"wrote {OVERLAY_COPY.relative_to(ROOT)}")
        return 0
    sys.stdout.write(render_overlay_copy())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
