"""OCR service settings (environment variables; see README)."""

from pydantic import Field

from rivet_runtime import ServiceSettings


class OcrSettings(ServiceSettings):
    service_name: str = "ocr"
    http_port: int = 8104

    ocr_engine: str = Field(
        default="rapidocr",
        description="`rapidocr` (PP-OCRv6 small, bundled, offline) or `paddleocr` (only where "
        "its models are installed; never downloads).",
    )
    ocr_model_dir: str | None = Field(
        default=None, description="Model folder for the `paddleocr` engine."
    )
    ocr_threads: int = Field(default=2, ge=1, le=32, description="onnxruntime threads per scan.")
    ocr_concurrency: int = Field(
        default=1, ge=1, le=16, description="Scans one worker process runs at a time."
    )
    review_confidence: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="Manufacturer, model and serial read below this confidence (or missing) "
        "make a scan wait for a person to confirm it.",
    )
    photo_max_bytes: int = Field(
        default=15 * 1024 * 1024, ge=1024, description="Largest photo accepted (413 above)."
    )
    photo_max_pixels: int = Field(
        default=40_000_000, ge=1_000_000, description="Larger images are refused as bombs (422)."
    )
    photo_max_side: int = Field(
        default=2400, ge=640, description="Stored copies are scaled down to this longest side."
    )
