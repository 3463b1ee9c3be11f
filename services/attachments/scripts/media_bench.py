"""Time and memory of the attachments media rules on a 12-megapixel phone-style photo.

    uv run python services/attachments/scripts/media_bench.py [--runs 20] [--photo PATH]

The photo is made at run time from a real nameplate photo of the OCR evaluation set
(``bench/data/nameplates``): cropped to 4:3, upscaled to 4000 x 3000, saved as JPEG quality 92
with EXIF orientation 6 (a phone held upright), camera make/model and a GPS position, as a phone
would. So every run does the whole job: sniff, header check, JPEG decoded at 1/2 scale, rotation,
screen (1600 px) and thumbnail (256 px) renditions, and the original's EXIF rewritten without GPS.

Figures: median and p99 wall time of sniff + render over ``--runs`` runs (after two warm-up
runs), then memory, each in a fresh child process so that making the photo does not count: the
peak of Python allocations (tracemalloc: bytes objects, the input and outputs; Pillow's pixel
buffers are C allocations it does not see) and the growth of the process's peak RSS (ru_maxrss
and /proc VmHWM, which do see them), after a first small render has imported Pillow's plugins.
For reference the same is measured for a plain full-size decode of the photo, which is what
render avoids.

A developer tool of the service (it imports the service's code, so it is not a benchmark under
``bench/``); the cost of an attachment through the running system is
``bench/attachments/upload_bench.py``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from PIL import ExifTags, Image, ImageOps

from rivet_attachments.media import render, sniff

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_PHOTO = ROOT / "bench" / "data" / "nameplates" / "np_006_clean.jpg"
MAX_PIXELS = 50_000_000


def make_photo(source: Path) -> bytes:
    with Image.open(source) as plate:
        photo = ImageOps.fit(plate.convert("RGB"), (4000, 3000), Image.Resampling.LANCZOS)
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


def once(data: bytes) -> dict[str, object]:
    sniffed = sniff(data, "IMG_0001.jpg")
    out = render(data, max_pixels=MAX_PIXELS)
    return {
        "type": sniffed.content_type,
        "size": [out.width, out.height],
        "thumbnail": len(out.thumbnail),
        "screen": len(out.screen),
        "original_clean": len(out.original_clean or b""),
    }


def child(path: str, what: str, source: Path) -> None:
    """Measured in a process of its own: prints a JSON line."""
    if what == "make":
        Path(path).write_bytes(make_photo(source))
        print("{}")
        return
    data = Path(path).read_bytes()
    # one small photo first: Pillow imports its plugins on first use, a one-off not counted
    warm = io.BytesIO()
    Image.new("RGB", (64, 48)).save(warm, format="JPEG")
    once(warm.getvalue())
    before, hwm_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, _vm_hwm_kb()
    tracemalloc.start()
    if what == "render":
        once(data)
    else:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after, hwm_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, _vm_hwm_kb()
    print(
        json.dumps(
            {
                "tracemalloc_peak": peak,
                "rss_delta_kb": after - before,
                "hwm_delta_kb": hwm_after - hwm_before,
            }
        )
    )


def _vm_hwm_kb() -> int:
    """The peak resident size of this process image (Linux), which exec starts afresh."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def measure_memory(path: Path, what: str, source: Path = DEFAULT_PHOTO) -> dict[str, int]:
    run = subprocess.run(  # noqa: S603 - this script, with arguments of its own
        [sys.executable, __file__, "--child", what, "--out", str(path), "--photo", str(source)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, int] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO, help="source photo")
    parser.add_argument("--child", choices=["make", "render", "decode"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.out, args.child, args.photo)
        return

    # Linux carries a parent's peak RSS over into its children (ru_maxrss survives fork and
    # exec): the children run first, while this process is small, and make the photo themselves.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "photo.jpg"
        measure_memory(path, "make", args.photo)
        rendered = measure_memory(path, "render")
        decoded = measure_memory(path, "decode")
        data = path.read_bytes()

    for _ in range(2):
        facts = once(data)
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        once(data)
        times.append(time.perf_counter() - start)
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = [
        ("input", f"{args.photo.name} -> 4000x3000 JPEG q92, {len(data) / 1e6:.2f} MB, EXIF+GPS"),
        ("upright size", "x".join(map(str, facts["size"]))),  # type: ignore[call-overload]
        ("runs", str(args.runs)),
        ("sniff+render median", f"{statistics.median(times) * 1000:.0f} ms"),
        ("sniff+render p99", f"{p99 * 1000:.0f} ms"),
        ("sniff+render min / max", f"{times[0] * 1000:.0f} / {times[-1] * 1000:.0f} ms"),
        ("tracemalloc peak (Python objects)", f"{rendered['tracemalloc_peak'] / 1e6:.1f} MB"),
        ("ru_maxrss growth (incl. pixels)", f"{rendered['rss_delta_kb'] / 1e3:.1f} MB"),
        ("VmHWM growth (incl. pixels)", f"{rendered['hwm_delta_kb'] / 1e3:.1f} MB"),
        ("reference: full decode ru_maxrss growth", f"{decoded['rss_delta_kb'] / 1e3:.1f} MB"),
        ("reference: full decode VmHWM growth", f"{decoded['hwm_delta_kb'] / 1e3:.1f} MB"),
        ("thumbnail / screen / clean original", "{} / {} / {} bytes".format(
            facts["thumbnail"], facts["screen"], facts["original_clean"])),
        ("load average (1/5/15 min)", load),
    ]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}} | value")
    print(f"{'-' * width}-+-{'-' * 40}")
    for name, value in rows:
        print(f"{name:<{width}} | {value}")


if __name__ == "__main__":
    main()
