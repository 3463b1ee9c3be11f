"""Attachments service settings (environment variables)."""

from pydantic import Field

from rivet_runtime import ServiceSettings


class AttachmentsSettings(ServiceSettings):
    service_name: str = "attachments"
    http_port: int = 8108

    attachment_max_bytes: int = Field(
        default=25 * 1024 * 1024,
        ge=1,
        description="Largest file accepted, in bytes (larger: 413).",
    )
    attachment_org_quota_bytes: int = Field(
        default=5 * 1024**3,
        ge=0,
        description="Bytes an organization's attachments may take in all, originals and "
        "renditions (more: 413).",
    )
    attachment_max_pixels: int = Field(
        default=50_000_000,
        ge=1,
        description="Largest image accepted, in pixels (width x height): larger images, and "
        "files that claim more pixels than they hold (decompression bombs), are refused.",
    )
    attachment_sweep_every: float = Field(
        default=900.0,
        gt=0,
        description="Seconds between passes of the sweep that deletes stored files without "
        "an attachment (a pass looks at 10,000 files at most and the next goes on from there).",
    )
    attachment_orphan_age: float = Field(
        default=3600.0,
        ge=0,
        description="Seconds a stored file without an attachment is left alone by the sweep "
        "(an upload still being attached).",
    )
