"""Command line of every service: ``serve`` (default) or ``migrate``."""

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

import uvicorn

from .logging import configure_logging
from .service import ServiceRuntime


def run_service(
    build: Callable[[], ServiceRuntime[Any]], app: Callable[..., Any] | None = None
) -> None:
    """Entry point: ``rivet-<service> [serve|migrate]``.

    ``build`` makes the runtime from the environment; ``app`` (optional) makes the ASGI app that
    serves it - by default the runtime's own /health, /ready and /metrics.
    """
    parser = argparse.ArgumentParser()
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "migrate"])
    args = parser.parse_args()
    runtime = build()
    settings = runtime.settings
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    if args.command == "migrate":
        asyncio.run(runtime.run_migrations())
        return
    asgi = app(runtime) if app is not None else runtime.ops_app()
    uvicorn.run(
        asgi,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(settings.shutdown_grace),
    )
