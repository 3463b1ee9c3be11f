"""What the OCR handlers share for the life of the process."""

from dataclasses import dataclass, field

from rivet_contracts import ErrorCode, ServiceError
from rivet_runtime.uploads import UploadStore

from .reader import Reader
from .settings import OcrSettings


@dataclass
class OcrState:
    settings: OcrSettings
    reader: Reader
    upload_store: UploadStore | None = None
    photo_store: UploadStore | None = None
    ready: bool = field(default=False)

    def uploads(self) -> UploadStore:
        if self.upload_store is None:
            raise ServiceError(ErrorCode.UNAVAILABLE, "the upload store is not ready")
        return self.upload_store

    def photos(self) -> UploadStore:
        if self.photo_store is None:
            raise ServiceError(ErrorCode.UNAVAILABLE, "the photo store is not ready")
        return self.photo_store
