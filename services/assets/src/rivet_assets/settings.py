"""Assets service settings (environment variables; see README)."""

from pydantic import Field

from rivet_runtime import ServiceSettings


class AssetsSettings(ServiceSettings):
    service_name: str = "assets"
    http_port: int = 8102

    match_auto_threshold: float = Field(
        default=95.0,
        ge=50,
        le=100,
        description="Model score at or above which create-or-match "
        "may merge into an existing asset (with agreeing location); see docs/assets.md.",
    )
    match_review_threshold: float = Field(
        default=80.0,
        ge=0,
        le=100,
        description="Score at or above which an asset is listed as a "
        "possible duplicate for the caller to choose.",
    )
    import_max_rows: int = Field(default=50_000, ge=1, description="Rows accepted per CSV file.")
    import_tidy_rows: int = Field(
        default=1000,
        ge=1,
        description="An import of this many rows or more vacuums and analyses the tables it "
        "filled before it reports done, so searches right after it run at full speed.",
    )
    import_chunk_rows: int = Field(
        default=1000,
        ge=1,
        le=5000,
        description="Rows an import decides and writes per transaction (its progress moves "
        "by this many); 1 imports row by row.",
    )
    import_max_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, description="Largest CSV file accepted (bytes)."
    )
