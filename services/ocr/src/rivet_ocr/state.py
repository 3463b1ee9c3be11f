"""What the OCR handlers, consumers and jobs share for the life of the process."""

from dataclasses import dataclass

from nats.js import JetStreamContext

from rivet_runtime.service import Connected
from rivet_runtime.uploads import UploadStore

from .reader import Reader
from .settings import OcrSettings

PHOTOS_BUCKET = "PHOTOS"


@dataclass(frozen=True)
class OcrState:
    settings: OcrSettings
    reader: Reader
    uploads: UploadStore
    """Files clients uploaded (the gateway writes them; a scan takes its photo from there)."""
    photos: UploadStore
    """Nameplate photos as kept (re-encoded), for as long as their scans."""
    jetstream: JetStreamContext
    """For the backlog gauge (the OCR consumer's pending count)."""

    @classmethod
    async def connected(cls, settings: OcrSettings, resources: Connected) -> "OcrState":
        """Load the models (about a second, so the first scan is not slow) and open the
        photo bucket."""
        if resources.uploads is None:
            raise RuntimeError("the OCR service runs with the upload store")
        reader = Reader(settings)
        await reader.load()
        photos = await resources.store(
            PHOTOS_BUCKET, ttl=None, description="Nameplate photos (re-encoded)"
        )
        return cls(settings, reader, resources.uploads, photos, resources.js)
