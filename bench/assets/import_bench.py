"""CSV equipment import at size: ``POST /api/equipment/import`` through ``rivet-gateway`` into
``rivet-assets`` (each its console script, a private NATS, a fresh database), each file into an
empty organization.

    uv run python bench/assets/import_bench.py [--rows 2000,50000] [--chunk N] [--json FILE]

The files are spreadsheets as plants export them (``services/assets/tests/import_rows.py``:
26 makes in several spellings, model catalogues, serial formats, blank cells, about 5 % of the
rows repeating an earlier asset with its serial rewritten or left out or its model mistyped,
about 1 % rows that cannot be imported, parents). Prints per file: rows/s from the upload to the
job's "done" (the tables' VACUUM ANALYZE after big files included), the outcome counts, the
seconds until the outbox has published every event, the service's CPU seconds, and the load
average. ``--chunk 1`` runs the one-row path (``IMPORT_CHUNK_ROWS=1``) for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from rivet_contracts import Identity, Role

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "lib"))
sys.path.insert(0, str(ROOT / "services" / "assets" / "tests"))
import gateway_front  # noqa: E402  (bench/lib/gateway_front.py)
import import_rows  # noqa: E402  (services/assets/tests/import_rows.py)
import one_service  # noqa: E402

OUTCOMES = ("created", "matched", "possible_duplicates", "rejected")


async def import_file(gw: gateway_front.Gateway, token: str, data: bytes) -> dict[str, Any]:
    """Upload, then poll the job until done; the job's figures and the seconds it took."""
    headers = gw.auth(token)
    async with httpx.AsyncClient(base_url=gw.url, timeout=120) as client:
        started = time.perf_counter()
        answer = await client.post(
            "/api/equipment/import", params={"wait": 0}, headers=headers,
            files={"file": ("register.csv", data, "text/csv")},
        )  # fmt: skip
        answer.raise_for_status()
        job = answer.json()
        progress: list[int] = []
        while job["status"] in ("queued", "running"):
            await asyncio.sleep(0.25)
            answer = await client.get(f"/api/equipment/import/{job['id']}",
                                      params={"rows_limit": 0}, headers=headers)  # fmt: skip
            answer.raise_for_status()
            job = answer.json()
            progress.append(job["processed_rows"])
        seconds = time.perf_counter() - started
        sample = await client.get(f"/api/equipment/import/{job['id']}",
                                  params={"rows_limit": 5000}, headers=headers)  # fmt: skip
        sample.raise_for_status()
    reasons = [r["reason"] for r in sample.json()["rows"] if r["outcome"] == "possible_duplicates"]
    return {
        "status": job["status"],
        "error": job["error"],
        "rows": job["total_rows"],
        **{k: job[k] for k in OUTCOMES},
        "seconds": round(seconds, 2),
        "rows_per_s": round(job["total_rows"] / seconds, 1),
        "progress_steps": len(set(progress)),
        "example_duplicate": reasons[0] if reasons else None,
    }


async def outbox_drained(url: str, limit: float = 300) -> float:
    """Seconds until the service's outbox is empty (every event published)."""
    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    try:
        while await conn.fetchval("SELECT count(*) FROM assets.outbox"):
            if time.perf_counter() - started > limit:
                break
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    return round(time.perf_counter() - started, 2)


async def recreate(dsn: str, name: str) -> None:
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def drop(dsn: str, name: str) -> None:
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default="2000,50000", help="file sizes, comma-separated")
    ap.add_argument("--chunk", type=int, default=0, help="IMPORT_CHUNK_ROWS (default: the "
                    "service's own; 1: the one-row path)")  # fmt: skip
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument(
        "--log",
        help="copy the service's log here at the end (with --debug: the "
        "import's timings per chunk)",
    )
    ap.add_argument("--debug", action="store_true", help="the service logs at DEBUG")
    a = ap.parse_args()

    name = f"rivet_bench_import_{uuid.uuid4().hex[:6]}"
    url = a.dsn.rsplit("/", 1)[0] + "/" + name
    asyncio.run(recreate(a.dsn, name))
    result: dict[str, Any] = {"cores": os.cpu_count(), "chunk": a.chunk or "default", "runs": []}
    env = {"IMPORT_CHUNK_ROWS": str(a.chunk)} if a.chunk else {}
    if a.debug:
        env["LOG_LEVEL"] = "DEBUG"
    try:
        print(f"schema: rivet-assets migrate ({one_service.migrate('assets', url):.1f}s)")
        with one_service.running("assets", url, env) as svc, gateway_front.running(svc) as gw:
            print(f"rivet-assets and rivet-gateway up; idle after {svc.settle():.1f}s", flush=True)
            for rows in (int(n) for n in a.rows.split(",")):
                data = import_rows.sheet(a.seed + rows, rows).encode()
                org = Identity(user_id=uuid.uuid4(), org_id=uuid.uuid4(), role=Role.ADMIN)
                load, cpu = os.getloadavg()[0], svc.cpu()
                figures = asyncio.run(import_file(gw, gw.token(org), data))
                figures["events_drained_after_s"] = asyncio.run(outbox_drained(url))
                figures["service_cpu_s"] = round(svc.cpu() - cpu, 1)
                figures["csv_bytes"] = len(data)
                figures["load_average"] = [round(load, 2), round(os.getloadavg()[0], 2)]
                print(json.dumps(figures), flush=True)
                result["runs"].append(figures)
                svc.settle()
            if a.log:
                shutil.copy(svc.process.log, a.log)
    finally:
        asyncio.run(drop(a.dsn, name))
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
