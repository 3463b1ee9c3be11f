"""A 12-megapixel photo attached to a work order through the gateway, as a user attaches one.

    uv run --frozen --no-sync python bench/attachments/upload_bench.py [--sequential 15]
        [--concurrent 4 --rounds 3] [--photo PATH] [--json out.json]

The system is started as ``make run`` starts it, with only what an attachment goes through:
a private ``nats-server`` (JetStream, file store, ``sync_interval: always``), the machine's
PostgreSQL (``DATABASE_URL``, else 127.0.0.1:5432) in a fresh database
``rivet_attachments_bench`` (dropped afterwards), every stream of the catalogue declared as its
publishers would (the others' publishers are not run), and the console scripts ``rivet-auth``,
``rivet-assets``, ``rivet-workorders``, ``rivet-attachments`` and ``rivet-gateway``. Limits are
raised by their settings, as an operator would for this: ``ATTACHMENT_MAX_BYTES`` 32 MiB (gateway
and service) and ``ATTACHMENT_ORG_QUOTA_BYTES`` 64 GiB, so neither refuses the photos.

The photo is made at run time from a nameplate photo of the OCR set (``bench/data/nameplates``):
cropped to 4:3, upscaled to 4000 x 3000, with sensor-like noise (Gaussian, sigma 6) so that it
compresses like a phone photo (about 4 MB at JPEG quality 92, not the few hundred kilobytes of
a smooth upscale), with EXIF orientation 6, camera make/model and GPS, as a phone saves it.

An organization is registered, its admin logs in, creates an asset and a work order; then
every upload is ``POST /api/work-orders/{number}/attachments`` (multipart ``file`` and
``caption``, an ``Idempotency-Key``) with an access token, then ``GET
/api/attachments/{id}/content?rendition=thumbnail`` until it answers 200 with the bytes.

- **sequential**: ``--sequential`` uploads one after another;
- **concurrent**: ``--concurrent`` clients at once, ``--rounds`` times.

Measured per upload: *upload -> answer* (the request sent until the 201 is read: the gateway
reads the body, stores it in the upload store, the service reads it, sniffs, renders the screen
copy and thumbnail in a thread, stores the objects and commits) and *upload -> thumbnail* (the
same start until the thumbnail's bytes are read); and the attachments service's own mean time
per add (``rivet_rpc_duration_seconds`` of ``rpc.attachments.add`` on its ``/metrics``: reading
the upload, sniffing, rendering, storing, committing), the rest being the gateway's part and the
transfers. Median and p99 (with this few samples the p99
is the slowest but at most one), over the uploads answered 201. An upload answered otherwise
(a 504 when the service takes longer than the add's own timeout in the contract catalogue,
30 s, or than ``RPC_TIMEOUT`` when that is longer) is counted by status, and the order's files
are counted through the gateway once they stop changing: ``added_without_a_201`` is the adds
that committed although their user got no 201. ``--env VAR=VALUE,...`` sets more settings for
every process (``RPC_TIMEOUT=1`` shows that adds are still waited for). Memory:
the resident size (``VmRSS``) of the attachments
service and the gateway sampled every 20 ms during each phase (peak, and before the phase), and
their ``VmHWM`` (peak since the process started) at the end. The load average before and after.
Nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
from PIL import ExifTags, Image, ImageChops, ImageOps

from rivet_contracts import Rpc
from rivet_contracts.streams import ALL_STREAMS
from rivet_devstack.keys import generate
from rivet_devstack.processes import ServiceProcess
from rivet_devstack.servers import (
    EmbeddedNats,
    drop_database,
    ensure_database,
    free_port,
    with_database,
)
from rivet_devstack.services import GATEWAY_LOAD_LIMITS, environment
from rivet_runtime.settings import ServiceSettings
from rivet_runtime.streams import ensure_streams

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEFAULT_PHOTO = ROOT / "bench" / "data" / "nameplates" / "np_006_clean.jpg"
DATABASE = "rivet_attachments_bench"
SERVICES = ("auth", "assets", "workorders", "attachments", "gateway")
MEASURED = ("attachments", "gateway")
LIMITS = {
    "ATTACHMENT_MAX_BYTES": str(32 * 1024 * 1024),
    "ATTACHMENT_ORG_QUOTA_BYTES": str(64 * 1024**3),
}
PASSWORD = "bench attachments battery"  # noqa: S105 - a throwaway account of the run


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- the photo --------------------------------------------------------------------------------


def make_photo(source: Path, sigma: float = 6.0) -> bytes:
    with Image.open(source) as plate:
        photo = ImageOps.fit(plate.convert("RGB"), (4000, 3000), Image.Resampling.LANCZOS)
    noise = Image.effect_noise((4000, 3000), sigma).convert("RGB")  # centred on 128
    photo = ImageChops.add(photo, noise, scale=1.0, offset=-128)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "RivetPhone"
    exif[ExifTags.Base.Model] = "Bench 12MP"
    exif[ExifTags.Base.Orientation] = 6
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (13.0, 24.0, 36.0)
    out = io.BytesIO()
    photo.save(out, format="JPEG", quality=92, exif=exif)
    return out.getvalue()


# --- the system -------------------------------------------------------------------------------


@dataclass
class Stack:
    root: Path
    admin_url: str = ""
    database_url: str = ""
    nats: EmbeddedNats | None = None
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)
    """More settings for every process (``--env``)."""

    @property
    def gateway(self) -> str:
        return self.processes["gateway"].url

    def pid(self, name: str) -> int:
        proc = self.processes[name].proc
        assert proc is not None
        return proc.pid

    def start(self) -> None:
        self.nats = EmbeddedNats(self.root / "nats").start()
        asyncio.run(declare_streams(self.nats.url))
        url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        self.admin_url = with_database(url, "postgres")
        asyncio.run(drop_database(self.admin_url, DATABASE))
        asyncio.run(ensure_database(self.admin_url, DATABASE))
        self.database_url = with_database(self.admin_url, DATABASE)
        keys = self.root / "keys"
        keys.mkdir()
        private, public = generate()
        (keys / "private.pem").write_text(private)
        (keys / "public.pem").write_text(public)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "DATABASE_"))}
        base |= {
            "NATS_URL": self.nats.url,
            "DATABASE_URL": self.database_url,
            "JWT_PRIVATE_KEY_FILE": str(keys / "private.pem"),
            "JWT_PUBLIC_KEY_FILE": str(keys / "public.pem"),
            "HTTP_HOST": "127.0.0.1",
            "METRICS_PORT": "http",
            "LOG_JSON": "false",
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST": "8192",
            **environment(GATEWAY_LOAD_LIMITS),
            **LIMITS,
            **self.extra,
        }
        logs = self.root / "logs"
        logs.mkdir()
        for name in SERVICES:
            port = free_port()
            self.processes[name] = ServiceProcess(
                name,
                [str(BIN / f"rivet-{name}")],
                port,
                base | {"HTTP_PORT": str(port)},
                logs / f"{name}.log",
            )
        for process in self.processes.values():
            process.start()
        for process in self.processes.values():
            wait_ready(process, 120)
        say(f"up: {', '.join(self.processes)}; gateway {self.gateway}")

    def close(self) -> None:
        for process in reversed(list(self.processes.values())):
            with contextlib.suppress(Exception):
                process.stop()
        if self.nats is not None:
            with contextlib.suppress(Exception):
                self.nats.stop()
        if self.admin_url:
            with contextlib.suppress(Exception):
                asyncio.run(drop_database(self.admin_url, DATABASE))

    def tail_logs(self, lines: int = 30) -> None:
        for process in self.processes.values():
            with contextlib.suppress(OSError):
                tail = process.log.read_text(errors="replace").splitlines()[-lines:]
                print(f"----- {process.name} (last {len(tail)} lines) -----")
                print("\n".join(tail))


async def declare_streams(nats_url: str) -> None:
    """Every stream of the catalogue, as their publishers would declare them: the services
    started here wait at start for the streams they consume (the auth service for
    ``INTEGRATIONS``, the assets service for ``NAMEPLATES``), whose publishers are not run."""
    nc = await nats.connect(nats_url)
    try:
        settings = ServiceSettings(nats_url=nats_url, nats_namespace="")
        await ensure_streams(nc.jetstream(), ALL_STREAMS, settings)
    finally:
        await nc.close()


def wait_ready(process: ServiceProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited; see {process.log}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{process.url}/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise TimeoutError(f"{process.name} not ready after {timeout}s; see {process.log}")


@contextlib.contextmanager
def running(extra: dict[str, str]) -> Iterator[Stack]:
    stack = Stack(Path(tempfile.mkdtemp(prefix="rivet-attachments-bench-")), extra=extra)
    failed = True
    try:
        stack.start()
        yield stack
        failed = False
    finally:
        if failed:
            stack.tail_logs()
        stack.close()
        shutil.rmtree(stack.root, ignore_errors=True)


# --- memory -----------------------------------------------------------------------------------


def status_kb(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    return 0


class RssSampler:
    """The resident size of some processes every ``every`` seconds, in a thread: the peak."""

    def __init__(self, pids: dict[str, int], every: float = 0.02) -> None:
        self.pids, self.every = pids, every
        self.before = {name: status_kb(pid, "VmRSS") for name, pid in pids.items()}
        self.peak = dict(self.before)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                with contextlib.suppress(OSError, ValueError):
                    self.peak[name] = max(self.peak[name], status_kb(pid, "VmRSS"))
            self._stop.wait(self.every)


# --- the user ---------------------------------------------------------------------------------


@dataclass
class User:
    client: httpx.AsyncClient
    token: str = ""
    order: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def setup(self) -> None:
        run = uuid.uuid4().hex[:6]
        email = f"bench-{run}@example.com"
        body = {
            "email": email,
            "password": PASSWORD,
            "full_name": "Bench Technician",
            "organization_name": f"Attachments bench {run}",
        }
        (await self.client.post("/api/auth/register", json=body)).raise_for_status()
        login = await self.client.post(
            "/api/auth/login", data={"username": email, "password": PASSWORD}
        )
        login.raise_for_status()
        self.token = login.json()["access_token"]
        asset = await self.client.post(
            "/api/equipment",
            json={
                "manufacturer": "Grundfos",
                "model": "CR 32-2",
                "serial": f"BENCH-{run}",
                "name": "Cooling water pump",
                "location": "Plant 1 / Line 2",
                "criticality": "high",
            },
            headers=self.headers,
        )
        asset.raise_for_status()
        order = await self.client.post(
            "/api/work-orders",
            json={
                "equipment_id": asset.json()["equipment"]["id"],
                "title": "Leak at the pump's mechanical seal",
                "priority": "high",
                "work_type": "corrective",
            },
            headers=self.headers,
        )
        order.raise_for_status()
        self.order = order.json()["number"]

    async def upload(self, photo: bytes, number: int) -> Upload:
        """One upload: its answer, and once it is 201 the thumbnail fetched."""
        started = time.perf_counter()
        answer = await self.client.post(
            f"/api/work-orders/{self.order}/attachments",
            files={"file": (f"IMG_{number:04d}.jpg", photo, "image/jpeg")},
            data={"caption": f"Seal, photo {number}"},
            headers=self.headers | {"Idempotency-Key": uuid.uuid4().hex},
        )
        done = Upload(answer.status_code, time.perf_counter() - started)
        if answer.status_code != 201:
            say(f"upload {number} answered {answer.status_code}: {answer.text[:200]}")
            return done
        attachment = answer.json()["id"]
        while True:
            thumb = await self.client.get(
                f"/api/attachments/{attachment}/content",
                params={"rendition": "thumbnail"},
                headers=self.headers,
            )
            if thumb.status_code == 200 and thumb.content:
                done.thumbnail = time.perf_counter() - started
                return done
            if thumb.status_code != 404:
                raise RuntimeError(f"thumbnail answered {thumb.status_code}: {thumb.text[:300]}")
            await asyncio.sleep(0.01)

    async def files(self) -> int:
        """How many files the order has (its list through the gateway, every page)."""
        count, after = 0, None
        while True:
            params: dict[str, Any] = {"limit": 200, **({"after": after} if after else {})}
            page = await self.client.get(
                f"/api/work-orders/{self.order}/attachments", params=params, headers=self.headers
            )
            page.raise_for_status()
            count += len(page.json()["items"])
            after = page.json()["next_after"]
            if not after:
                return count

    async def settled_files(self, quiet: float = 3.0, limit: float = 60.0) -> int:
        """The order's files once the count has not changed for ``quiet`` seconds (an add the
        gateway stopped waiting for may still commit)."""
        deadline = time.monotonic() + limit
        last, since = await self.files(), time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - since < quiet:
            await asyncio.sleep(0.5)
            now = await self.files()
            if now != last:
                last, since = now, time.monotonic()
        return last


@dataclass
class Upload:
    status: int
    answer: float
    """Seconds from sending the request to its answer."""
    thumbnail: float | None = None
    """Seconds from sending the request to the thumbnail's bytes (201 only)."""


ADD_TIME = re.compile(r"^rivet_rpc_duration_seconds_(sum|count)\{([^}]*)\} (\S+)$", re.M)


def service_add_time(stack: Stack) -> tuple[float, float]:
    """(seconds, adds) the attachments service has spent handling ``rpc.attachments.add`` so
    far, from its ``/metrics`` (the handler's time: reading the upload, sniffing, rendering,
    storing the objects, the transaction; not the gateway's part)."""
    text = httpx.get(f"{stack.processes['attachments'].url}/metrics", timeout=10).text
    found = {
        kind: float(value)
        for kind, labels, value in ADD_TIME.findall(text)
        if f'subject="{Rpc.ATTACHMENTS_ADD}"' in labels and 'outcome="ok"' in labels
    }
    return found.get("sum", 0.0), found.get("count", 0.0)


def service_mean_ms(before: tuple[float, float], after: tuple[float, float]) -> float | None:
    adds = after[1] - before[1]
    return round(1000 * (after[0] - before[0]) / adds, 1) if adds else None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def figures(uploads: list[Upload]) -> dict[str, Any]:
    ok = [u for u in uploads if u.status == 201]
    answers = [u.answer for u in ok]
    thumbs = [u.thumbnail for u in ok if u.thumbnail is not None]
    found: dict[str, Any] = {
        "uploads": len(uploads),
        "answered_201": len(ok),
        "statuses": dict(Counter(str(u.status) for u in uploads)),
    }
    if answers:
        found |= {
            "answer_p50_ms": round(1000 * statistics.median(answers), 1),
            "answer_p99_ms": round(1000 * percentile(answers, 0.99), 1),
            "thumbnail_p50_ms": round(1000 * statistics.median(thumbs), 1),
            "thumbnail_p99_ms": round(1000 * percentile(thumbs, 0.99), 1),
        }
    refused = [u.answer for u in uploads if u.status != 201]
    if refused:
        found["other_answers_p50_ms"] = round(1000 * statistics.median(refused), 1)
    return found


async def phase(
    stack: Stack, user: User, rounds: list[list[int]], photo: bytes, pids: dict[str, int]
) -> dict[str, Any]:
    """Uploads in rounds (the numbers of a round sent at once), measured."""
    files_before, spent = await user.files(), service_add_time(stack)
    uploads: list[Upload] = []
    with RssSampler(pids) as rss:
        started = time.perf_counter()
        for numbers in rounds:
            uploads += await asyncio.gather(*(user.upload(photo, n) for n in numbers))
        elapsed = time.perf_counter() - started
    files_after = await user.settled_files()
    ok = sum(u.status == 201 for u in uploads)
    return figures(uploads) | {
        "photos_per_s": round(ok / elapsed, 2),
        "files_added": files_after - files_before,
        "added_without_a_201": files_after - files_before - ok,
        "service_add_mean_ms": service_mean_ms(spent, service_add_time(stack)),
        "rss_before_mb": {n: round(kb / 1024, 1) for n, kb in rss.before.items()},
        "rss_peak_mb": {n: round(kb / 1024, 1) for n, kb in rss.peak.items()},
    }


async def measure(stack: Stack, photo: bytes, args: argparse.Namespace) -> dict[str, Any]:
    pids = {name: stack.pid(name) for name in MEASURED}
    timeout = httpx.Timeout(120)
    limits = httpx.Limits(max_connections=args.concurrent + 2)
    async with httpx.AsyncClient(base_url=stack.gateway, timeout=timeout, limits=limits) as client:
        user = User(client)
        await user.setup()
        await user.upload(photo, 0)  # warm-up: imports, first connections, the buckets
        sequential = [[n] for n in range(1, args.sequential + 1)]
        result: dict[str, Any] = {"sequential": await phase(stack, user, sequential, photo, pids)}
        say(f"sequential: {result['sequential']}")
        concurrent = [
            [1000 * (r + 1) + n for n in range(args.concurrent)] for r in range(args.rounds)
        ]
        result["concurrent"] = await phase(stack, user, concurrent, photo, pids) | {
            "clients": args.concurrent,
            "rounds": args.rounds,
        }
        say(f"concurrent: {result['concurrent']}")
        result["vm_hwm_mb"] = {
            name: round(status_kb(pid, "VmHWM") / 1024, 1) for name, pid in pids.items()
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequential", type=int, default=15, help="uploads one at a time")
    parser.add_argument("--concurrent", type=int, default=4, help="clients uploading at once")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of concurrent uploads")
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO, help="source photo")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument(
        "--env",
        default="",
        help="more settings for every process, VAR=VALUE,... (e.g. RPC_TIMEOUT=1)",
    )
    args = parser.parse_args()

    photo = make_photo(args.photo)
    say(f"photo: 4000x3000 JPEG, {len(photo) / 1e6:.2f} MB, from {args.photo.name}")
    load_start = os.getloadavg()
    extra = dict(item.split("=", 1) for item in args.env.split(",") if "=" in item)
    with running(extra) as stack:
        result = asyncio.run(measure(stack, photo, args))
    result |= {
        "photo": {"pixels": "4000x3000", "bytes": len(photo), "source": args.photo.name},
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "cores": os.cpu_count(),
        "settings": LIMITS | extra,
    }
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
