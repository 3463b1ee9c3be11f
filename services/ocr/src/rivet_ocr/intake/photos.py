"""Checking and re-encoding uploaded photos.

- Formats are recognised by their magic bytes, not by name or declared type: JPEG, PNG and WebP
  only (415 otherwise).
- Decompression bombs are refused (422) from the header alone: the pixel count is checked
  before any pixel is decoded, so a 50-kB PNG that claims 60,000 x 60,000 pixels never
  allocates its 10 GB.
- EXIF orientation is applied (phones store portrait photos sideways), every metadata block
  (GPS position, camera serials) is dropped, and the stored copy is a fresh JPEG no larger
  than ``max_side`` on its longest side.
"""

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from rivet_contracts import ErrorCode, ServiceError

JPEG = b"\xff\xd8\xff"
PNG = b"\x89PNG\r\n\x1a\n"


def sniff(data: bytes) -> str | None:
    """``jpeg``, ``png`` or ``webp`` by magic bytes; None for anything else."""
    if data.startswith(JPEG):
        return "jpeg"
    if data.startswith(PNG):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


@dataclass(frozen=True)
class CleanPhoto:
    jpeg: bytes
    width: int
    height: int
    original_format: str


def clean(data: bytes, *, max_bytes: int, max_pixels: int, max_side: int) -> CleanPhoto:
    """Validate ``data`` and return a re-encoded, metadata-free, upright JPEG."""
    if len(data) > max_bytes:
        raise ServiceError(ErrorCode.PAYLOAD_TOO_LARGE, f"photos up to {max_bytes} bytes")
    kind = sniff(data)
    if kind is None:
        raise ServiceError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE, "send a JPEG, PNG or WebP photo of the nameplate"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[kind.upper()])
            width, height = image.size
            if width * height > max_pixels:
                raise ServiceError(
                    ErrorCode.VALIDATION,
                    f"image of {width}x{height} pixels is too large (at most {max_pixels} pixels)",
                )
            image.load()
    except ServiceError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ServiceError(
            ErrorCode.VALIDATION, "image is too large (decompression bomb)"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ServiceError(ErrorCode.VALIDATION, f"the photo cannot be read: {exc}") from None
    upright = ImageOps.exif_transpose(image) or image
    rgb = upright.convert("RGB")
    rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    rgb.save(out, format="JPEG", quality=90, optimize=True)  # no exif= : metadata is dropped
    return CleanPhoto(out.getvalue(), rgb.width, rgb.height, kind)
