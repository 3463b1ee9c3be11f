"""What is stored of an uploaded file: its sniffed type, the original as kept and, for images,
the screen rendition and the thumbnail. Synchronous and without I/O (callers run it in a
thread); refusals are the contract's errors: 415 for a type attachments do not take, 413 for
an image with too many pixels."""

from dataclasses import dataclass

from rivet_contracts import ErrorCode, ServiceError
from rivet_contracts.attachments import AttachmentKind, Rendition

from .. import media
from . import rules


@dataclass(frozen=True)
class Part:
    rendition: Rendition
    data: bytes
    content_type: str


@dataclass(frozen=True)
class Prepared:
    content_type: str
    extension: str
    kind: AttachmentKind
    width: int | None
    height: int | None
    parts: tuple[Part, ...]
    """The original first, then the renditions of an image."""

    @property
    def original(self) -> bytes:
        return self.parts[0].data

    @property
    def stored(self) -> int:
        """Bytes the attachment takes in the store (counted against the quota)."""
        return sum(len(part.data) for part in self.parts)

    def part(self, rendition: Rendition) -> Part | None:
        return next((p for p in self.parts if p.rendition is rendition), None)


def prepare(data: bytes, filename: str | None, *, max_pixels: int) -> Prepared:
    try:
        sniffed = media.sniff(data, filename)
    except media.Unsupported as exc:
        raise ServiceError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, exc.reason) from None
    kind = AttachmentKind(str(sniffed.kind))
    if kind is not AttachmentKind.IMAGE:
        return Prepared(
            sniffed.content_type,
            sniffed.extension,
            kind,
            None,
            None,
            (Part(Rendition.ORIGINAL, data, sniffed.content_type),),
        )
    try:
        made = media.render(data, max_pixels=max_pixels)
    except media.TooLarge as exc:
        raise ServiceError(ErrorCode.PAYLOAD_TOO_LARGE, exc.reason) from None
    except media.Unsupported as exc:
        raise ServiceError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, exc.reason) from None
    except Exception as exc:  # a damaged image the decoder gave up on
        raise ServiceError(ErrorCode.VALIDATION, f"the image cannot be read: {exc}") from None
    original = made.original_clean if made.original_clean is not None else data
    content_type = rules.image_type(original, sniffed.content_type)
    return Prepared(
        content_type,
        sniffed.extension,
        kind,
        made.width,
        made.height,
        (
            Part(Rendition.ORIGINAL, original, content_type),
            Part(Rendition.SCREEN, made.screen, rules.image_type(made.screen, "image/jpeg")),
            Part(
                Rendition.THUMBNAIL, made.thumbnail, rules.image_type(made.thumbnail, "image/jpeg")
            ),
        ),
    )
