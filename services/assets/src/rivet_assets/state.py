"""What the assets handlers share for the life of the process."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rivet_contracts import ErrorCode, ServiceError
from rivet_runtime.uploads import UploadStore

from .settings import AssetsSettings

if TYPE_CHECKING:
    from .imports.worker import ImportWorker


@dataclass
class AssetsState:
    settings: AssetsSettings
    uploads: UploadStore | None = None
    importer: "ImportWorker | None" = field(default=None)

    async def upload(self, key: str) -> bytes:
        if self.uploads is None:
            raise ServiceError(ErrorCode.UNAVAILABLE, "the upload store is not ready")
        return await self.uploads.get(key)

    async def delete_upload(self, key: str) -> None:
        if self.uploads is not None:
            await self.uploads.delete(key)

    def wake_importer(self) -> None:
        if self.importer is not None:
            self.importer.wake()
