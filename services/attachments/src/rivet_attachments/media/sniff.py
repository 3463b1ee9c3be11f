"""What a file is, from its bytes alone.

Only an allow-list is accepted: photos (JPEG, PNG, WebP, GIF, and HEIC/HEIF/AVIF where Pillow can
read them), PDF, plain UTF-8 text, and Office documents in their open formats (OOXML: docx, xlsx,
pptx; ODF: odt, ods, odp). Everything else is refused with a reason a user can act on: markup
(HTML, SVG, XML) and program source (a script renamed ``.jpg`` included), executables, other
archives, legacy Office files (which can carry macros and are told apart only by parsing them),
macro-enabled OOXML, video.

The file name is never trusted for the type. It is used only to refuse text that claims to be
something else (``photo.jpg`` holding a shell script) or that is named as a program
(``setup.sh``), to tell CSV from other text, and to word the messages.
"""

from __future__ import annotations

import binascii
import enum
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

import puremagic

__all__ = ["Kind", "Sniffed", "TooLarge", "Unsupported", "sniff"]


class Kind(enum.StrEnum):
    IMAGE = "image"
    PDF = "pdf"
    TEXT = "text"
    OFFICE = "office"


@dataclass(frozen=True, slots=True)
class Sniffed:
    content_type: str
    extension: str  # with its dot, e.g. ".jpg": the one to serve the file under
    kind: Kind


class Unsupported(ValueError):
    """The content is not a kind of file attachments accept (a 415 with ``reason``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TooLarge(ValueError):
    """The image has more pixels than allowed (a 413 with ``reason``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ISO base media file format brands (the `ftyp` box) that are still images
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}

_OOXML_MAIN_PARTS = (
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
)
_ODF_TYPES = {
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/vnd.oasis.opendocument.presentation": ".odp",
}

# names that say "binary document or image": text content under such a name is refused
_BINARY_EXTENSIONS = {
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".webp", ".heic", ".heif", ".avif",
    ".bmp", ".tif", ".tiff", ".pdf", ".doc", ".docx", ".docm", ".xls", ".xlsx", ".xlsm",
    ".ppt", ".pptx", ".pptm", ".odt", ".ods", ".odp", ".zip",
}  # fmt: skip
# names of programs and markup: refused even when the text inside looks harmless
_PROGRAM_EXTENSIONS = {
    ".sh", ".bash", ".zsh", ".ksh", ".csh", ".py", ".pyw", ".pl", ".rb", ".php", ".phtml",
    ".js", ".mjs", ".cjs", ".ts", ".vbs", ".vbe", ".wsf", ".ps1", ".psm1", ".bat", ".cmd",
    ".exe", ".com", ".scr", ".msi", ".jar", ".hta", ".lnk", ".reg", ".html", ".htm",
    ".xhtml", ".shtml", ".svg", ".svgz", ".xml", ".xsl", ".xslt", ".swf",
}  # fmt: skip

_TEXT_SUBTYPES = {".csv": ("text/csv", ".csv"), ".md": ("text/markdown", ".md")}

_MARKUP_START = re.compile(rb"^\s*<\s*[!?a-zA-Z]")
_MARKUP_ANYWHERE = re.compile(
    rb"<\s*/?\s*(script|html|head|body|svg|iframe|object|embed|frameset|meta|link|style|"
    rb"a\s|img\s|form|math)\b|javascript:|vbscript:",
    re.IGNORECASE,
)
_PROGRAM_LINE = re.compile(
    rb"^[ \t]*(#!|<\?php|<%|(?i:@echo\s+off)|import\s+[\w.]+(\s+as\s+\w+)?[ \t]*$|"
    rb"from\s+[\w.]+\s+import\s|def\s+\w+\s*\(|class\s+\w+\s*[(:]|"
    rb"(async\s+)?function\s*\*?\s*\w*\s*\(|(const|let|var)\s+[\w$]+\s*=|"
    rb"module\.exports|require\s*\(\s*['\"]|#include\s*[<\"]|Set-StrictMode|param\s*\()",
    re.MULTILINE,  # keywords are lower case: "Class F:" on a note is not a program
)
_SCAN_BYTES = 64 * 1024
# control characters other than tab, line feed, form feed and carriage return: binary
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def sniff(data: bytes, filename: str | None = None) -> Sniffed:
    """What ``data`` is, from its magic bytes; :class:`Unsupported` if it is not accepted."""
    if not data:
        raise Unsupported("the file is empty")
    name = _describe(filename)

    if data.startswith(b"\xff\xd8\xff"):
        return Sniffed("image/jpeg", ".jpg", Kind.IMAGE)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image/png", ".png", Kind.IMAGE)
    if data.startswith((b"GIF87a", b"GIF89a")):
        return Sniffed("image/gif", ".gif", Kind.IMAGE)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return Sniffed("image/webp", ".webp", Kind.IMAGE)
    if data[4:8] == b"ftyp":
        return _iso_media(data, name)
    if data.startswith(b"%PDF-"):
        return Sniffed("application/pdf", ".pdf", Kind.PDF)
    if data.startswith(b"PK\x03\x04"):
        return _zip_document(data, name)
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise Unsupported(
            f"{name} is a legacy Office file (.doc, .xls, .ppt); these can carry macros and are "
            "not accepted: save it as .docx, .xlsx, .pptx or PDF"
        )
    text = _as_text(data)
    if text is not None:
        return _text(text, filename, name)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Unsupported(f"{name} is text in UTF-16, which is not accepted: save it as UTF-8")
    raise Unsupported(f"{name} is {_what_is_it(data)}: not accepted; {_ACCEPTED}")


_ACCEPTED = (
    "accepted are photos (JPEG, PNG, WebP, GIF, HEIC), PDF, plain text and Office documents "
    "(docx, xlsx, pptx, odt, ods, odp)"
)


def _describe(filename: str | None) -> str:
    if not filename:
        return "the file"
    shown = "".join(c for c in PurePath(filename).name if unicodedata.category(c)[0] != "C")
    return f"'{shown[:80]}'" if shown else "the file"


def _iso_media(data: bytes, name: str) -> Sniffed:
    brands = {data[8:12]}
    box_size = int.from_bytes(data[0:4], "big")
    compatible = data[16 : min(box_size, 256)]
    brands.update(compatible[i : i + 4] for i in range(0, len(compatible) - 3, 4))
    if brands & _AVIF_BRANDS:
        content_type, extension, label = "image/avif", ".avif", "AVIF"
    elif brands & _HEIF_BRANDS:
        content_type, extension, label = "image/heic", ".heic", "HEIC/HEIF"
    else:
        raise Unsupported(
            f"{name} is a video or other media file, which is not accepted; {_ACCEPTED}"
        )
    if not _pillow_reads(data):
        raise Unsupported(
            f"{name} is a {label} photo, which this server cannot read: set the camera to "
            "'Most compatible' (JPEG) or export the photo as JPEG"
        )
    return Sniffed(content_type, extension, Kind.IMAGE)


def _pillow_reads(data: bytes) -> bool:
    from PIL import Image, UnidentifiedImageError  # only for the rare ISO-media photos

    try:
        with Image.open(io.BytesIO(data)):
            return True
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return False


def _zip_document(data: bytes, name: str) -> Sniffed:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise Unsupported(f"{name} is a damaged or incomplete ZIP file ({error})") from None
    with archive:
        infos = archive.infolist()
        names = {info.filename for info in infos}
        if "[Content_Types].xml" in names:
            if any(n.lower().endswith("vbaproject.bin") for n in names):
                raise Unsupported(
                    f"{name} is a macro-enabled Office document, which is not accepted: "
                    "save it without macros (.docx, .xlsx, .pptx)"
                )
            for part, content_type, extension in _OOXML_MAIN_PARTS:
                if part in names:
                    return Sniffed(content_type, extension, Kind.OFFICE)
            raise Unsupported(f"{name} is an Office Open XML package of a kind not accepted")
        if infos and infos[0].filename == "mimetype" and infos[0].file_size <= 100:
            try:
                declared = archive.read(infos[0]).decode("ascii").strip()
            except (zipfile.BadZipFile, UnicodeDecodeError, OSError, binascii.Error) as error:
                raise Unsupported(f"{name} is a damaged OpenDocument file ({error})") from None
            odf_extension = _ODF_TYPES.get(declared)
            if odf_extension is not None:
                return Sniffed(declared, odf_extension, Kind.OFFICE)
            raise Unsupported(
                f"{name} is an OpenDocument file of a kind not accepted ({declared[:80]})"
            )
    raise Unsupported(
        f"{name} is a ZIP archive; archives are not accepted, attach the files themselves"
    )


def _as_text(data: bytes) -> str | None:
    body = data.removeprefix(b"\xef\xbb\xbf")
    if b"\x00" in body:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if _CONTROL.search(text):
        return None
    return text


def _text(text: str, filename: str | None, name: str) -> Sniffed:
    head = text[:_SCAN_BYTES].encode("utf-8")
    suffix = PurePath(filename).suffix.lower() if filename else ""
    if _MARKUP_START.match(head) or _MARKUP_ANYWHERE.search(head):
        raise Unsupported(
            f"{name} contains markup (HTML, SVG or XML), which is not accepted: it can run "
            "scripts in a browser; attach it as PDF or a photo instead"
        )
    if _PROGRAM_LINE.search(head):
        raise Unsupported(
            f"{name} looks like a script or program source, which is not accepted; "
            "attach it as PDF or plain notes instead"
        )
    if suffix in _BINARY_EXTENSIONS:
        raise Unsupported(
            f"{name} is named as a {suffix} file but holds text, not what its name says; "
            "it is not accepted"
        )
    if suffix in _PROGRAM_EXTENSIONS:
        raise Unsupported(
            f"{name} is named as a program or markup ({suffix}), which is not accepted"
        )
    content_type, extension = _TEXT_SUBTYPES.get(suffix, ("text/plain", ".txt"))
    return Sniffed(f"{content_type}; charset=utf-8", extension, Kind.TEXT)


_UNKNOWN = "of a type that could not be recognised from its content"


def _what_is_it(data: bytes) -> str:
    """A name for refused content, for the message (puremagic's table of signatures)."""
    try:
        matches = puremagic.magic_string(data[:_SCAN_BYTES])
    except (puremagic.PureError, ValueError):
        return _UNKNOWN
    if not matches:
        return _UNKNOWN
    best = matches[0]  # ordered by confidence, the most specific signature first among equals
    return f"recognised as {best.name or best.extension or best.mime_type}"
