"""What the assets handlers and jobs share for the life of the process."""

from dataclasses import dataclass

from rivet_runtime.service import Connected
from rivet_runtime.uploads import UploadStore

from .settings import AssetsSettings


@dataclass(frozen=True)
class AssetsState:
    settings: AssetsSettings
    uploads: UploadStore
    """Files clients uploaded (the gateway writes them; imports read and delete them)."""

    @classmethod
    def connected(cls, settings: AssetsSettings, resources: Connected) -> "AssetsState":
        if resources.uploads is None:
            raise RuntimeError("the assets service runs with the upload store")
        return cls(settings, resources.uploads)
