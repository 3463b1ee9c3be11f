"""Photo intake without servers: formats by magic bytes, bombs, orientation, metadata."""

import io
import resource
import time

import pytest
from PIL import Image

from rivet_contracts import ErrorCode, ServiceError
from rivet_ocr.intake.photos import clean, sniff

LIMITS = {"max_bytes": 15 * 1024 * 1024, "max_pixels": 40_000_000, "max_side": 2400}


def _encode(image: Image.Image, fmt: str, **kw: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **kw)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_accepted_formats_become_jpeg(fmt: str) -> None:
    photo = clean(_encode(Image.new("RGB", (320, 200), "gray"), fmt), **LIMITS)
    assert photo.original_format == fmt.lower()
    assert photo.jpeg.startswith(b"\xff\xd8\xff")
    assert (photo.width, photo.height) == (320, 200)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n...",
        b"GIF89a" + b"\x00" * 100,
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"just text",
        b"",
        b"BM" + b"\x00" * 60,
    ],
)
def test_other_formats_are_415(data: bytes) -> None:
    with pytest.raises(ServiceError) as caught:
        clean(data, **LIMITS)
    assert caught.value.code is ErrorCode.UNSUPPORTED_MEDIA_TYPE


def test_polyglot_is_judged_by_its_magic_bytes() -> None:
    # A PDF with a JPEG pasted after it is a PDF; a JPEG header followed by junk is a
    # broken JPEG: neither gets through.
    jpeg = _encode(Image.new("RGB", (10, 10)), "JPEG")
    with pytest.raises(ServiceError) as as_pdf:
        clean(b"%PDF-1.4\n" + jpeg, **LIMITS)
    assert as_pdf.value.code is ErrorCode.UNSUPPORTED_MEDIA_TYPE
    with pytest.raises(ServiceError) as broken:
        clean(jpeg[:20] + b"<script>alert(1)</script>" * 10, **LIMITS)
    assert broken.value.code is ErrorCode.VALIDATION


def test_decompression_bomb_is_refused_without_decoding() -> None:
    bomb = _encode(Image.new("1", (30000, 30000)), "PNG", optimize=True)
    assert len(bomb) < 200_000
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(ServiceError) as caught:
        clean(bomb, **LIMITS)
    assert caught.value.code is ErrorCode.VALIDATION
    assert time.perf_counter() - started < 1.0
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert grown_kb < 100_000  # 900 M pixels would need ~900 MB decoded


def test_oversized_file_is_413() -> None:
    with pytest.raises(ServiceError) as caught:
        clean(b"\xff\xd8\xff" + b"\x00" * 100, max_bytes=50, max_pixels=10**6, max_side=100)
    assert caught.value.code is ErrorCode.PAYLOAD_TOO_LARGE


def test_exif_orientation_applied_and_metadata_dropped() -> None:
    image = Image.new("RGB", (400, 100), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 0.0)}  # GPS position
    exif[0x010F] = "PhoneMaker"
    photo = clean(_encode(image, "JPEG", exif=exif.tobytes()), **LIMITS)
    assert (photo.width, photo.height) == (100, 400)
    stored = Image.open(io.BytesIO(photo.jpeg))
    assert not stored.getexif()
    assert b"PhoneMaker" not in photo.jpeg


def test_large_photos_are_scaled_down() -> None:
    photo = clean(_encode(Image.new("RGB", (6000, 3000)), "JPEG"), **LIMITS)
    assert (photo.width, photo.height) == (2400, 1200)


def test_sniff() -> None:
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert sniff(b"RIFF\x00\x00\x00\x00AVI ") is None
