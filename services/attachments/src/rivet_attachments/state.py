"""What the attachments service's handlers and jobs share for the life of the process."""

from dataclasses import dataclass

from rivet_contracts.attachments import BUCKET
from rivet_contracts.ocr import PHOTO_BUCKET
from rivet_runtime.service import Connected
from rivet_runtime.uploads import UploadStore

from .settings import AttachmentsSettings


@dataclass(frozen=True)
class AttachmentsState:
    settings: AttachmentsSettings
    uploads: UploadStore
    """Files clients uploaded (the gateway writes them; an attachment takes its file from
    there)."""
    files: UploadStore
    """The attachments' originals and renditions, kept until the attachment is removed."""
    photos: UploadStore
    """The OCR service's nameplate photos, read only: a scanned photo is attached to the asset
    its scan created or matched (never written or created here)."""

    @classmethod
    async def connected(
        cls, settings: AttachmentsSettings, resources: Connected
    ) -> "AttachmentsState":
        if resources.uploads is None:
            raise RuntimeError("the attachments service runs with the upload store")
        files = await resources.store(
            BUCKET, ttl=None, description="Attachments: originals, screen renditions, thumbnails"
        )
        photos = UploadStore(resources.js, settings, bucket=PHOTO_BUCKET, ttl=None)
        return cls(settings, resources.uploads, files, photos)
