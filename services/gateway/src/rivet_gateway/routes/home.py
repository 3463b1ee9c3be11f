"""``GET /``: what this service is and where its documents are."""

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

router = APIRouter(tags=["service"])


class Home(BaseModel):
    service: str
    version: str
    docs: str = Field(description="Swagger UI.")
    redoc: str
    openapi: str
    health: str = Field(description="Liveness: 200 while the process runs.")
    ready: str = Field(description="Readiness: 200 while it reaches NATS, else 503.")


@router.get("/", response_model=Home)
async def home(request: Request) -> Home:
    """The service's name and version, with links to its docs and health checks."""
    return Home(
        service="Rivet API",
        version=request.app.version,
        docs="/docs",
        redoc="/redoc",
        openapi="/openapi.json",
        health="/health",
        ready="/ready",
    )
