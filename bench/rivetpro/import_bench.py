"""The Rivet Pro import at size: ``rivet-dev import rivet-pro`` against ``rivet-auth``,
``rivet-assets`` and ``rivet-workorders`` run as ``make run`` runs them (each its own process,
a private ``nats-server``), from a Rivet Pro database built from its migrations' schema with
generated rows (``tests/rivetpro/rivet_pro_data.py``).

    uv run python bench/rivetpro/import_bench.py [--assets 2000] [--orders 3000] [--concurrency 8]

Prints the importer's summary (rows/s of equipment and work orders, the time per request
subject) and the load average; a second run of the importer shows the cost of a re-run that
changes nothing. Both databases are dropped at the end.
"""

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "rivetpro"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

import one_service
from rivet_pro_data import build

from rivet_devstack.keys import generate
from rivet_devstack.processes import ServiceProcess
from rivet_devstack.servers import (
    EmbeddedNats,
    drop_database,
    ensure_database,
    free_port,
    resolve,
    with_database,
)

SERVICES = ("auth", "assets", "workorders")
PASSWORD = "bench import 2026 horse"  # noqa: S105 - the bench organization's admin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="rivet-bench-import-"))
    servers = resolve(root / "servers")
    suffix = uuid.uuid4().hex[:6]
    rivet_db, pro_db = f"rivet_bench_import_{suffix}", f"rivet_bench_pro_{suffix}"
    rivet_url = with_database(servers.postgres_url, rivet_db)
    pro_url = with_database(servers.postgres_url, pro_db)
    nats_server = EmbeddedNats(root / "nats").start()
    processes: list[ServiceProcess] = []
    try:
        asyncio.run(ensure_database(servers.postgres_url, rivet_db))
        asyncio.run(ensure_database(servers.postgres_url, pro_db))
        email = f"bench-admin-{suffix}@example.com"
        started = time.monotonic()
        asyncio.run(build(pro_url, assets=args.assets, orders=args.orders, admin_email=email))
        print(f"Rivet Pro database: {time.monotonic() - started:.1f}s to build")
        asyncio.run(one_service.declare_streams(nats_server.url))
        private_key, _ = generate()
        for name in SERVICES:
            port = free_port()
            env = one_service.service_env(
                rivet_url, nats_server.url, {"HTTP_PORT": str(port), "JWT_PRIVATE_KEY": private_key}
            )
            subprocess.run([one_service.command(name), "migrate"], env=env, check=True, timeout=600)
            process = ServiceProcess(
                name, [one_service.command(name)], port, env, root / f"{name}.log"
            )
            process.start()
            processes.append(process)
        for process in processes:
            one_service.wait_ready(process, 180)
        command = [
            one_service.command("dev"), "import", "rivet-pro", "--from", pro_url,
            "--admin-email", email, "--create-org", "Bench plant",
            "--concurrency", str(args.concurrency), "--nats", nats_server.url,
        ]  # fmt: skip
        env = os.environ | {"RIVET_ADMIN_PASSWORD": PASSWORD, "NATS_NAMESPACE": ""}
        for run in ("first run", "second run (changes nothing)"):
            print(f"--- {run}, load average {os.getloadavg()[0]:.1f}")
            report = root / f"report-{run.split()[0]}.jsonl"
            subprocess.run([*command, "--report", str(report)], env=env, check=False)
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        for process in processes:
            process.stop()
        nats_server.stop()
        asyncio.run(drop_database(servers.postgres_url, rivet_db))
        asyncio.run(drop_database(servers.postgres_url, pro_db))
        servers.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
